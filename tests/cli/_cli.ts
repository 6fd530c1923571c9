/**
 * What the command-line tests share: checking that an error is one line
 * with no stack trace, and a port nothing listens on.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";

const STACK_LINE = /^\s+at /m;

/** Asserts stderr is exactly one line and carries no stack trace. */
export function assertOneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, `stderr: ${stderr}`);
  assert(!STACK_LINE.test(stderr), `stack trace on stderr: ${stderr}`);
  return lines[0];
}

/** A port on 127.0.0.1 that nothing listens on (just released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
