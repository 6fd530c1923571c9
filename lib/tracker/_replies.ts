/**
 * The tracker server's replies: what an error, a refusal for going over
 * the rate, and a list that must fit one frame look like, and sending one.
 *
 * @module
 */

import type { Connection } from "../net/connection.ts";
import { MAX_JSON_BYTES } from "../protocol/limits.ts";
import type {
  ErrorCode,
  FileList,
  FileSummary,
  Message,
} from "../protocol/messages.ts";
import type { RegistryError } from "./registry_types.ts";

/**
 * Bytes of a `files` answer besides its entries (its type, the brackets
 * and the `more` count), with room to spare.
 */
const FILES_FRAME_OVERHEAD = 64;
const encoder = new TextEncoder();

/**
 * The longest head of `files` whose answer fits in one frame's JSON part:
 * 500 summaries with long names would not.
 */
export function fitFrame(files: FileSummary[]): FileSummary[] {
  let bytes = FILES_FRAME_OVERHEAD;
  for (let i = 0; i < files.length; i++) {
    bytes += encoder.encode(JSON.stringify(files[i])).length + 1;
    if (bytes > MAX_JSON_BYTES) return files.slice(0, i);
  }
  return files;
}

/**
 * The `files` answer to a `list` or `search` that matched `files`: the
 * head of them that fits one frame ({@linkcode fitFrame}) and, if any were
 * left out, `more`, how many: those cut to fit and those past the
 * registry's cap (`files.more`).
 */
export function filesReply(files: FileList): Message {
  const shown = fitFrame(files);
  const more = files.length - shown.length + (files.more ?? 0);
  return more > 0
    ? { type: "files", files: shown, more }
    : { type: "files", files: shown };
}

/** `busy`: `host` is over its rate. */
export function busyReply(host: string): Message {
  return errorReply(
    "busy",
    `Too many requests from ${host}; slow down and try again.`,
  );
}

/** An `error` reply with `code` and (at most 1,000 characters of) `text`. */
export function errorReply(code: ErrorCode, text: string): Message {
  return { type: "error", code, message: text.slice(0, 1000) };
}

/**
 * The `error` reply to a refusal of the registry's: an `ambiguous` one
 * names the files the prefix matches, as many as fit one frame (`more`
 * counts the rest).
 */
export function registryReply(error: RegistryError): Message {
  const reply = errorReply(error.code, error.message);
  const all = error.candidates;
  if (reply.type !== "error" || !all) return reply;
  const candidates = fitFrame(all);
  const more = all.length - candidates.length + (all.more ?? 0);
  return more > 0 ? { ...reply, candidates, more } : { ...reply, candidates };
}

/**
 * Sends `reply`; false (and the connection closed) if it failed or the
 * client did not take it within the connection's write deadline.
 */
export async function sendOrClose(
  connection: Connection,
  reply: Message,
): Promise<boolean> {
  const ok = await connection.send(reply).then(() => true, () => false);
  if (!ok) connection.close();
  return ok;
}

/** Errors that mean the client sent something malformed, not that the socket failed. */
export function isBadInput(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError ||
    error instanceof SyntaxError;
}

/** What `error` says. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
