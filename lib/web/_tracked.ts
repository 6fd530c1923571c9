/**
 * Shares and gets started from the page run in the background: the call
 * answers with the transfer's number, and a later failure is recorded and
 * told to the pages, in the page's words.
 *
 * @module
 */

import type { Session } from "../app/session.ts";
import type { Transfer } from "../app/transfers.ts";
import { userSentence } from "../app/user_errors.ts";
import { DownloadError } from "../download/download.ts";
import type { ApiContext } from "./_api_io.ts";
import { resumableAfter } from "./activity.ts";
import { forPage, type PageWordsOptions } from "./_page_words.ts";

export { forPage } from "./_page_words.ts";

/**
 * Runs `work` (a share or get) in the background and resolves with the
 * number of the transfer it started. The session starts a transfer before
 * its first await, so the transfer is known when `work` returns; work that
 * fails before starting one rejects here instead. A later failure is
 * recorded and told to the pages.
 */
export async function startTracked(
  context: ApiContext,
  work: () => Promise<unknown>,
): Promise<number> {
  let transfer: Transfer | undefined;
  const stop = context.session.listen((event) => {
    if (event.type === "hashing" || event.type === "getting") {
      transfer ??= event.transfer;
    }
  });
  let running: Promise<unknown>;
  try {
    running = work();
  } finally {
    stop();
  }
  const started = transfer;
  if (!started) {
    await running;
    throw new Error("Nothing was started.");
  }
  running.then(
    () => context.changed(),
    (error) => {
      // Its item offers Resume when it saved some bytes: the advice says so.
      const message = sentenceFor(error, { resume: resumableAfter(started) });
      const name = knownName(context.session, started, error);
      context.activity.failed({ ...started, name }, message);
      context.note(`#${started.number} ${name}: ${message}`, true);
      context.changed();
    },
  );
  context.changed();
  return started.number;
}

/**
 * The name of `transfer`, which failed with `error`: a get started by ID
 * is named by its short ID until the file's name comes, so that name is
 * taken from the download's error (its `fileName`), else from the files
 * the session knows.
 */
export function knownName(
  session: Pick<Session, "known">,
  transfer: Pick<Transfer, "kind" | "id" | "name">,
  error: unknown,
): string {
  const { id, name } = transfer;
  if (transfer.kind !== "get" || !id?.startsWith(name)) return name;
  const named = error instanceof DownloadError ? error.fileName : undefined;
  return named ?? session.known().find((file) => file.id === id)?.name ??
    name;
}

/**
 * What to tell the user about `error`, in one sentence, in the page's
 * words (`options` say what the page offers beside it).
 */
export function sentenceFor(
  error: unknown,
  options: PageWordsOptions = {},
): string {
  return forPage(
    userSentence(error) ??
      `Unexpected error: ${error instanceof Error ? error.message : error}`,
    options,
  );
}
