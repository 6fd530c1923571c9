/**
 * The page's API (docs/WEB_UI.md): each call checked, turned into a call on
 * the {@linkcode Session}, and answered in JSON. Shares and gets run in the
 * background: the call answers with the transfer's number, and the page
 * follows it through the event stream.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { isDenied } from "../util/denied.ts";
import { parseGetTarget } from "../app/lookup.ts";
import { expandHome } from "../app/data_dir.ts";
import { UsageError } from "../app/usage_error.ts";
import { USAGE_ERRORS, userSentence } from "../app/user_errors.ts";
import { OutDirError, prepareOutDir } from "../app/out_dir.ts";
import type { FileList } from "../protocol/messages.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import type { Finished } from "./activity.ts";
import {
  type ApiContext,
  isTransferNumber,
  json,
  numberIn,
  readJson,
  TooLargeError,
} from "./_api_io.ts";
import { forPage, sentenceFor, startTracked } from "./_tracked.ts";
import { upload } from "./_upload.ts";
import { shareWithNotes } from "./share_notes.ts";
import { fileRows } from "./state.ts";

export { type ApiContext, MAX_JSON_BYTES } from "./_api_io.ts";

type Handler = (request: Request, context: ApiContext) => Promise<Response>;

/** The answer to a search for nothing, in the page's words (`peer search` has its own). */
const EMPTY_SEARCH =
  "Give some text to search for, or use List all to see every file.";

const ROUTES: Readonly<Record<string, Handler>> = {
  "GET /api/state": (_, context) => Promise.resolve(json(context.state())),
  "GET /api/list": async (_, { session }) => filesAnswer(await session.list()),
  "GET /api/search": async (request, { session }) => {
    const text = new URL(request.url).searchParams.get("q") ?? "";
    // Empty text would match every file: that is List all, on the page.
    if (text.trim() === "") throw new UsageError(EMPTY_SEARCH);
    return filesAnswer(await session.search(text));
  },
  "POST /api/share": share,
  "PUT /api/upload": upload,
  "POST /api/get": get,
  "POST /api/resume": resume,
  "POST /api/cancel": cancel,
  "POST /api/clear": clear,
  "POST /api/unshare": async (request, { session, activity, changed }) => {
    const { id } = await readJson(request);
    if (typeof id !== "string" || id === "") {
      throw new UsageError("Say which file to stop sharing.");
    }
    const file = await session.unshare(id);
    // A copy dropped on the page this run goes with its share.
    const copy = activity.takeDropped(file.id);
    if (copy !== undefined) await Deno.remove(copy).catch(() => {});
    changed();
    return json({});
  },
};

/** Answers one API call (the guard has passed it); never throws. */
export async function handleApi(
  request: Request,
  context: ApiContext,
): Promise<Response> {
  const path = new URL(request.url).pathname;
  const handler = ROUTES[`${request.method} ${path}`];
  if (!handler) {
    const known = Object.keys(ROUTES).some((r) => r.endsWith(` ${path}`));
    return known
      ? json({ error: "That method is not allowed here." }, 405)
      : json({ error: "No such call." }, 404);
  }
  try {
    return await handler(request, context);
  } catch (error) {
    return errorAnswer(error);
  }
}

async function share(request: Request, context: ApiContext): Promise<Response> {
  const body = await readJson(request);
  if (typeof body.path !== "string" || body.path.trim() === "") {
    throw new UsageError("Type the path of a file or folder to share.");
  }
  const path = resolve(expandHome(body.path.trim()));
  await Deno.stat(path).catch((error) => {
    // Deno keeps some paths (/proc, /sys) to programs with every permission.
    if (isDenied(error)) {
      throw new UsageError(
        `Cannot share ${path}: this program is not allowed to read it.`,
      );
    }
    throw new UsageError(`There is no file or folder at ${path}.`);
  });
  const number = await startTracked(
    context,
    () =>
      shareWithNotes(
        context.session,
        path,
        body.private === true,
        context.note,
      ),
  );
  return json({ number }, 202);
}

/**
 * Cancels a running transfer, or a file being sent from the page, by its
 * number. One that already ended (the page showed it a moment before) is
 * told in the page's words, not the prompt's ("type status"); one already
 * cancelled is no mistake: `200`.
 */
async function cancel(
  request: Request,
  context: ApiContext,
): Promise<Response> {
  const number = numberIn(await readJson(request));
  if (context.activity.cancelUpload(number)) {
    context.changed();
    return json({});
  }
  try {
    context.session.cancel(`#${number}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const ended = context.activity.finished().find((f) => f.number === number);
    if (ended?.outcome !== "cancelled") {
      throw new UsageError(notRunning(number, ended));
    }
  }
  context.changed();
  return json({});
}

/**
 * Takes ended transfers off the page's list (Clear, Clear finished); a
 * running one is refused, and nothing is cleared: cancel it first.
 */
async function clear(request: Request, context: ApiContext): Promise<Response> {
  const { numbers } = await readJson(request);
  if (!Array.isArray(numbers) || !numbers.every(isTransferNumber)) {
    throw new UsageError("Say which finished transfers to clear, by number.");
  }
  const running = context.session.transfers().find((t) =>
    numbers.includes(t.number)
  );
  if (running) {
    throw new UsageError(
      `#${running.number} ${running.name} is still running: cancel it first, or clear it once it ends.`,
    );
  }
  context.activity.clear(numbers);
  context.changed();
  return json({});
}

/** Why transfer `number` cannot be cancelled: it `ended` so, or never ran. */
function notRunning(number: number, ended?: Finished): string {
  const what = ended ? `#${number} ${ended.name}` : "";
  switch (ended?.outcome) {
    case "saved":
      return `${what} is already saved: there is nothing to cancel.`;
    case "shared":
      return `${what} is already shared: use Stop sharing to stop sharing it.`;
    case "failed":
      return `${what} already failed: there is nothing to cancel.`;
    default:
      return `No transfer #${number} is running: there is nothing to cancel.`;
  }
}

async function get(request: Request, context: ApiContext): Promise<Response> {
  const body = await readJson(request);
  if (typeof body.ref !== "string" || body.ref.trim() === "") {
    throw new UsageError("Paste a share link or a file ID to get.");
  }
  if (body.outDir !== undefined && typeof body.outDir !== "string") {
    throw new UsageError("The folder to save into is not a path.");
  }
  return json(
    { number: await startGet(context, body.ref.trim(), body.outDir) },
    202,
  );
}

async function resume(
  request: Request,
  context: ApiContext,
): Promise<Response> {
  const number = numberIn(await readJson(request));
  const asked = context.activity.resumable(number);
  if (!asked) {
    throw new UsageError(
      `Transfer #${number} cannot be resumed: get it again.`,
    );
  }
  // The new get replaces the old one's item: no second Resume of it (a
  // second click meanwhile finds nothing to resume).
  const putBack = context.activity.resumed(number);
  let resumed: number;
  try {
    resumed = await startGet(context, asked.ref, asked.outDir);
  } catch (error) {
    putBack();
    throw error;
  } finally {
    context.changed();
  }
  return json({ number: resumed }, 202);
}

/** Starts a get of `ref` (an ID or link) into `outDir`; resolves with its number. */
async function startGet(
  context: ApiContext,
  ref: string,
  outDir: string | undefined,
): Promise<number> {
  const target = parseGetTarget(ref);
  const wanted = target.kind === "id"
    ? context.session.resolveId(target.id)
    : target.link;
  const folder = outDir?.trim() ? fullPath(outDir.trim()) : undefined;
  const created = await checkOutDir(folder ?? resolve(context.session.outDir));
  const number = await startTracked(
    context,
    () => context.session.get(wanted, { outDir: folder, made: created }),
  );
  context.activity.rememberGet(number, { ref, outDir: folder });
  return number;
}

/**
 * `typed` (a Save to folder) as a full path, `~/` meaning home; a relative
 * one is refused: it would be taken from wherever `peer ui` was started.
 */
function fullPath(typed: string): string {
  const expanded = expandHome(typed);
  if (!isAbsolute(expanded)) throw new UsageError(RELATIVE_SAVE_TO);
  return resolve(expanded);
}

/** The answer to a relative Save to. */
export const RELATIVE_SAVE_TO =
  "Give a full path, like /home/you/Downloads, or ~/Downloads.";

/**
 * Makes sure `folder` is a folder to save into (creating it when missing)
 * before a get starts, so that a file or a forbidden place in its way is
 * one plain sentence (400) and no transfer, rather than a failed get with
 * the system's words and a Resume that has nothing to resume. Resolves
 * to the folders it created, deepest first.
 */
async function checkOutDir(folder: string): Promise<string[]> {
  try {
    return await prepareOutDir(folder);
  } catch (error) {
    if (!(error instanceof OutDirError)) throw error;
    // What was typed cannot be used: the user's to change, so a 400.
    throw new UsageError(error.message);
  }
}

/**
 * The answer to a list or search: the rows, and `more` (only when over 0)
 * when the trackers said they left files out (`FileList` in
 * lib/protocol/message_types.ts).
 */
function filesAnswer(files: FileList): Response {
  const more = files.more ? { more: files.more } : {};
  return json({ files: fileRows(files), ...more });
}

function errorAnswer(error: unknown): Response {
  if (error instanceof TooLargeError) {
    return json({ error: "The request is too large." }, 413);
  }
  const sentence = userSentence(error);
  if (sentence === undefined) {
    return json({ error: terminalSafe(sentenceFor(error)) }, 500);
  }
  const usage = error instanceof Error && USAGE_ERRORS.has(error.name);
  // Names and paths in the sentence are shown escaped, as everywhere.
  return json({ error: terminalSafe(forPage(sentence)) }, usage ? 400 : 502);
}
