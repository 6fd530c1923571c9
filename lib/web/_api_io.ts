/**
 * What every handler of the page's API works with: its context, the JSON
 * body of a call read up to a limit, and answers in JSON.
 *
 * @module
 */

import type { Session } from "../app/session.ts";
import { UsageError } from "../app/usage_error.ts";
import type { Activity } from "./activity.ts";
import type { WebState } from "./state.ts";
import { concatBytes } from "../util/concat_bytes.ts";

/** Largest JSON body an API call may carry. */
export const MAX_JSON_BYTES = 64 * 1024;

/** What the API works on. */
export interface ApiContext {
  /** The session the page drives. */
  session: Session;
  /** Ended transfers and files being received. */
  activity: Activity;
  /** Where files dropped on the page are stored; undefined when there is no data folder. */
  dropDir?: string;
  /** The state the page is sent now. */
  state(): WebState;
  /** Tells the pages that the state changed. */
  changed(): void;
  /** Tells the pages something, in one sentence; `error` marks a failure. */
  note(text: string, error?: boolean): void;
}

/** The body of an API call as a JSON object, read up to {@linkcode MAX_JSON_BYTES}. */
export async function readJson(
  request: Request,
): Promise<Record<string, unknown>> {
  if (!request.body) return {};
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > MAX_JSON_BYTES) throw new TooLargeError();
    chunks.push(chunk);
  }
  const text = new TextDecoder().decode(concatBytes(chunks));
  let value: unknown;
  try {
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new UsageError("The request was not understood (it is not JSON).");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError("The request was not understood.");
  }
  return value as Record<string, unknown>;
}

/** The transfer number an API call names (`{"number": N}`). */
export function numberIn(body: Record<string, unknown>): number {
  const { number } = body;
  if (!isTransferNumber(number)) {
    throw new UsageError("Say which transfer, by its number.");
  }
  return number;
}

/** Whether `value` can be a transfer's number. */
export function isTransferNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

/** A JSON body over {@linkcode MAX_JSON_BYTES}: answered 413. */
export class TooLargeError extends Error {}

/** `value` as a JSON answer, never cached. */
export function json(value: unknown, status = 200): Response {
  return Response.json(value, {
    status,
    headers: { "Cache-Control": "no-store" },
  });
}
