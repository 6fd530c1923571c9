/**
 * Turning any error that reaches the top of a command into what the user
 * sees: one sentence and an exit code. Errors whose message was written for
 * the user pass through; commander's parse errors are reworded; anything
 * else is labelled unexpected (the entry file adds the stack with
 * `--verbose`).
 *
 * @module
 */

import { CommanderError } from "commander";
import { USAGE_EXIT_CODE } from "./args.ts";
import { terminalSafe } from "./format.ts";

/** Exit code for a command that ran but failed. */
export const FAILURE_EXIT_CODE = 1;
/** Exit code for a command stopped by Ctrl-C or SIGTERM before it finished. */
export const STOPPED_EXIT_CODE = 130;

/** A command the user stopped before it finished; the message says what was left. */
export class StoppedError extends Error {
  /** Creates an error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "StoppedError";
  }
}

/** What to tell the user about an error, and how to exit. */
export interface Explanation {
  /** One sentence for stderr, or undefined when there is nothing to say. */
  message?: string;
  /** Process exit code. */
  exitCode: number;
  /** Whether the error was unexpected (a bug or an unusual system error). */
  unexpected: boolean;
}

/** Errors whose message is already a sentence for the user. */
const USER_ERRORS: ReadonlySet<string> = new Set([
  "UsageError",
  "DownloadError",
  "TrackerError",
  "TrackerUnreachableError",
  "ShareError",
  "StoppedError",
]);
const COMMANDER_QUIET = new Set([
  "commander.helpDisplayed",
  "commander.help",
  "commander.version",
]);

/**
 * Explains `error` for the user of the command `program` (e.g. `peer share`),
 * whose name appears in the hint to run `--help`.
 */
export function explainError(error: unknown, program: string): Explanation {
  if (error instanceof CommanderError) return explainCommander(error, program);
  if (error instanceof Error && USER_ERRORS.has(error.name)) {
    const exitCode = error.name === "UsageError"
      ? USAGE_EXIT_CODE
      : error.name === "StoppedError"
      ? STOPPED_EXIT_CODE
      : FAILURE_EXIT_CODE;
    return {
      message: terminalSafe(error.message),
      exitCode,
      unexpected: false,
    };
  }
  if (error instanceof Deno.errors.AddrInUse) {
    return {
      message:
        "The port is already in use: choose another with --port (0 picks a free one).",
      exitCode: FAILURE_EXIT_CODE,
      unexpected: false,
    };
  }
  if (
    error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable
  ) {
    return {
      message: `Permission denied: ${terminalSafe(error.message)}`,
      exitCode: FAILURE_EXIT_CODE,
      unexpected: false,
    };
  }
  const text = error instanceof Error ? error.message : String(error);
  return {
    message: `Unexpected error: ${
      terminalSafe(text)
    } (run with --verbose for details).`,
    exitCode: FAILURE_EXIT_CODE,
    unexpected: true,
  };
}

function explainCommander(error: CommanderError, program: string): Explanation {
  if (COMMANDER_QUIET.has(error.code)) {
    return { exitCode: error.exitCode, unexpected: false };
  }
  // Commander puts "(Did you mean --out?)" on a line of its own.
  const text = error.message.replace(/^error:\s*/i, "").trim().replace(
    /\s*\n\s*/g,
    " ",
  );
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  const ended = /[.?!)]$/.test(sentence) ? sentence : `${sentence}.`;
  return {
    message: `${terminalSafe(ended)} Run "${program} --help" for usage.`,
    exitCode: USAGE_EXIT_CODE,
    unexpected: false,
  };
}
