/**
 * Prompt commands run in-process, without a terminal: a context for
 * `runCommand` and the message a line is refused with.
 *
 * @module
 */

import { assertRejects } from "../../assert.ts";
import { UsageError } from "../../../lib/app/usage_error.ts";
import type { Session } from "../../../lib/app/session.ts";
import {
  type CommandContext,
  runCommand,
} from "../../../lib/cli/prompt/commands.ts";

/** A context over `session` that appends what it prints to `printed`. */
export function commandContext(
  session: Partial<Session> = {},
  printed: string[] = [],
): CommandContext {
  return {
    session: session as Session,
    print: (text) => printed.push(text),
    note: () => {},
    background: () => {},
    drawBars: () => {},
    ui: () => Promise.resolve(""),
  };
}

/** The message `line` is refused with: it must reject with a UsageError. */
export async function refusalOf(
  line: string,
  context: CommandContext = commandContext(),
): Promise<string> {
  return (await assertRejects(() => runCommand(line, context), UsageError))
    .message;
}
