/**
 * A file dropped on the page: received into the drop folder, then shared
 * from there, the copy kept only while it is what the peer serves.
 *
 * @module
 */

import { resolve } from "node:path";
import { UsageError } from "../app/usage_error.ts";
import { receiveFile } from "../storage/received_file.ts";
import { type ApiContext, json } from "./_api_io.ts";
import { startTracked } from "./_tracked.ts";
import type { UploadStart } from "./activity.ts";
import { shareWithNotes } from "./share_notes.ts";

/** The sending page's tag for an upload (`tag=`), sent back in the state. */
const UPLOAD_TAG = /^[\w-]{1,64}$/;

/**
 * `PUT /api/upload?name=NAME&private=0|1&tag=TAG`: receives the file,
 * then shares it (`202 {"number"}`, the share's transfer); one cancelled
 * while it arrives is answered `200 {"cancelled": true}`.
 */
export async function upload(
  request: Request,
  context: ApiContext,
): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const name = query.get("name") ?? "";
  if (name === "") throw new UsageError("A dropped file needs a name.");
  if (!request.body) throw new UsageError(`${name} arrived empty.`);
  const { dropDir } = context;
  if (dropDir === undefined) {
    throw new UsageError(
      "There is no data folder to keep dropped files in: set P2P_HOME, or type the file's path instead.",
    );
  }
  const tag = query.get("tag") ?? undefined;
  if (tag !== undefined && !UPLOAD_TAG.test(tag)) {
    throw new UsageError("The upload's tag is not one this page makes.");
  }
  const total = Number(request.headers.get("content-length") ?? 0) || 0;
  const path = await receive(context, request.body, {
    dropDir,
    name,
    total,
    tag,
  });
  if (path === undefined) return json({ cancelled: true });
  const number = await startTracked(
    context,
    () => shareDropped(context, path, query.get("private") === "1"),
  );
  return json({ number }, 202);
}

/**
 * Receives `body` into `dropDir` as `name`, as work of its own that
 * Cancel stops: then nothing of it is kept (the hidden file it was written
 * to is removed, or the file, if the last bytes had just come) and this
 * resolves with undefined; else with where it is.
 */
async function receive(
  context: ApiContext,
  body: ReadableStream<Uint8Array>,
  file: UploadStart & { dropDir: string },
): Promise<string | undefined> {
  const { dropDir, name } = file;
  const { activity, session } = context;
  const receiving = activity.startUpload(session.reserveNumber(), file);
  const { signal } = receiving;
  context.changed();
  try {
    const onProgress = (done: number) => {
      receiving.done = done;
      context.changed();
    };
    const stopped = untilAborted(body, signal);
    const path = await receiveFile(stopped, dropDir, name, { onProgress });
    if (!signal.aborted) return path;
    await Deno.remove(path).catch(() => {});
    return undefined;
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  } finally {
    activity.endUpload(receiving);
    context.changed();
  }
}

/**
 * `body`, erroring with the signal's reason as soon as it aborts (a read
 * waiting on a slow sender too); the request's body is then cancelled, so
 * no more of it is read.
 */
function untilAborted(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      signal.addEventListener("abort", () => {
        controller.error(signal.reason);
        reader.cancel(signal.reason).catch(() => {});
      }, { once: true });
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      // Aborted meanwhile: the stream is errored already.
      if (signal.aborted) return;
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * Shares `path`, a copy just received into the drop folder. The copy is
 * kept only while it is what the peer serves: a share of content already
 * shared (dropped twice, or shared from its own path) serves the first
 * copy, so the new one is deleted and the note says so; one that fails or
 * is cancelled is deleted too. A kept copy is deleted by Stop sharing.
 */
async function shareDropped(
  context: ApiContext,
  path: string,
  isPrivate: boolean,
): Promise<unknown> {
  const { session, activity } = context;
  const dropped = () => Deno.remove(path).catch(() => {});
  let meta;
  try {
    meta = await shareWithNotes(session, path, isPrivate, context.note);
  } catch (error) {
    // Not shared: nothing serves it.
    await dropped();
    throw error;
  }
  if (!meta) {
    await dropped();
    return meta;
  }
  const served = session.localCopy(meta.id)?.path;
  if (served !== undefined && resolve(served) === resolve(path)) {
    activity.keepDropped(meta.id, path);
  } else {
    await dropped();
    context.note(
      `${meta.name} is already shared${
        served ? ` from ${served}` : ""
      }: the dropped copy was not kept.`,
    );
  }
  return meta;
}
