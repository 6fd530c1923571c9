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
import { shareWithNotes } from "./share_notes.ts";

/** `PUT /api/upload?name=NAME&private=0|1`: receives the file, then shares it. */
export async function upload(
  request: Request,
  context: ApiContext,
): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const name = query.get("name") ?? "";
  if (name === "") throw new UsageError("A dropped file needs a name.");
  if (!request.body) throw new UsageError(`${name} arrived empty.`);
  if (context.dropDir === undefined) {
    throw new UsageError(
      "There is no data folder to keep dropped files in: set P2P_HOME, or type the file's path instead.",
    );
  }
  const total = Number(request.headers.get("content-length") ?? 0) || 0;
  const receiving = context.activity.startUpload(name, total);
  context.changed();
  let path: string;
  try {
    path = await receiveFile(request.body, context.dropDir, name, {
      onProgress: (done) => {
        receiving.done = done;
        context.changed();
      },
    });
  } finally {
    context.activity.endUpload(receiving);
    context.changed();
  }
  const number = await startTracked(
    context,
    () => shareDropped(context, path, query.get("private") === "1"),
  );
  return json({ number }, 202);
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
