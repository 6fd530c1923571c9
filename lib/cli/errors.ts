/**
 * Turning any error that reaches the top of a command into what the user
 * sees: one sentence and an exit code. Errors whose message was written for
 * the user pass through; commander's parse errors and the system's errors
 * (an address to listen on that is not this machine's, a port in use) are
 * reworded; anything else is labelled unexpected (the entry file adds the
 * stack with `--verbose`).
 *
 * @module
 */

import { CommanderError } from "commander";
import { isDenied } from "../util/denied.ts";
import { parseHost, USAGE_EXIT_CODE } from "./args.ts";
import { notTogether } from "./program.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { ListenError } from "../net/listener.ts";
import type { Address } from "../net/connection.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../secure/secret_stream.ts";
import {
  handshakeFailure,
  USAGE_ERRORS,
  USER_ERRORS,
} from "../app/user_errors.ts";

/** Exit code for a command that ran but failed. */
export const FAILURE_EXIT_CODE = 1;
/** Exit code for a command stopped by Ctrl-C before it finished (SIGTERM: 143). */
export const STOPPED_EXIT_CODE = 130;

/** A command the user stopped before it finished; the message says what was left. */
export class StoppedError extends Error {
  /** The exit code: 130 for Ctrl-C, 143 for SIGTERM. */
  readonly exitCode: number;
  /** Creates an error with a message for the user. */
  constructor(message: string, exitCode = STOPPED_EXIT_CODE) {
    super(message);
    this.name = "StoppedError";
    this.exitCode = exitCode;
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
  if (error instanceof ListenError) return explainListen(error);
  if (error instanceof Error && USAGE_ERRORS.has(error.name)) {
    return usage(error.message);
  }
  if (error instanceof Error && USER_ERRORS.has(error.name)) {
    const exitCode = error instanceof StoppedError
      ? error.exitCode
      : FAILURE_EXIT_CODE;
    return {
      message: terminalSafe(error.message),
      exitCode,
      unexpected: false,
    };
  }
  if (
    error instanceof HandshakeRefusedError || error instanceof PlainPeerError
  ) {
    return failure(handshakeFailure(error));
  }
  if (error instanceof Deno.errors.AddrInUse) {
    return {
      message:
        "The port is already in use: choose another with --port (0 picks a free one).",
      exitCode: FAILURE_EXIT_CODE,
      unexpected: false,
    };
  }
  if (isDenied(error)) {
    return {
      message: `Permission denied: ${terminalSafe(error.message)}`,
      exitCode: FAILURE_EXIT_CODE,
      unexpected: false,
    };
  }
  return unexpected(error instanceof Error ? error.message : String(error));
}

function unexpected(text: string): Explanation {
  return {
    message: `Unexpected error: ${
      terminalSafe(text)
    } (run with --verbose for details).`,
    exitCode: FAILURE_EXIT_CODE,
    unexpected: true,
  };
}

/**
 * Serving the web page on `--ui-host`:`--ui-port` failed: explained as a
 * {@linkcode ListenError}, naming those flags rather than the peer's.
 */
export class PageListenError extends ListenError {
  /** Creates an error about `address`, caused by the system's `cause`. */
  constructor(address: Address, cause: unknown) {
    super(address, cause);
    this.name = "PageListenError";
  }
}

/**
 * `error`, met serving the page on `address`, as a {@linkcode PageListenError}
 * when it is a failure to listen there that can be put in words; else as it is.
 */
export function pageListenFailure(address: Address, error: unknown): unknown {
  const known = error instanceof Deno.errors.AddrInUse ||
    error instanceof Deno.errors.AddrNotAvailable ||
    error instanceof URIError || isLookupFailure(error);
  return known ? new PageListenError(address, error) : error;
}

/**
 * Explains a failure to listen on `--host`:`--port` (or the page's
 * `--ui-host`:`--ui-port`): an address that is not this machine's, a port
 * in use, a host that is not an address at all.
 */
function explainListen(error: ListenError): Explanation {
  const { host, port } = error.address;
  const cause = error.cause;
  const page = error instanceof PageListenError;
  const cannot = page ? "Cannot serve the page on" : "Cannot listen on";
  const portFlag = page ? "--ui-port" : "--port";
  const useHost = page
    ? "use --ui-host 127.0.0.1 (this machine only), 0.0.0.0 (all addresses) or one of this machine's addresses"
    : "use --host 0.0.0.0 (all addresses) or one of this machine's addresses";
  if (cause instanceof Deno.errors.AddrInUse) {
    return failure(
      `${cannot} port ${port}: it is in use; choose another with ${portFlag} (0 picks a free one).`,
    );
  }
  if (cause instanceof Deno.errors.AddrNotAvailable) {
    return failure(
      `${cannot} ${
        terminalSafe(host)
      }: it is not an address of this machine; ${useHost}.`,
    );
  }
  if (cause instanceof URIError || isLookupFailure(cause)) {
    try {
      parseHost(host);
    } catch (notAHost) {
      return usage((notAHost as Error).message);
    }
    return failure(
      `${cannot} "${
        terminalSafe(host)
      }": it is neither an IP address nor a host name this machine can look up; ${useHost}.`,
    );
  }
  if (
    cause instanceof Deno.errors.PermissionDenied && port > 0 && port < 1024
  ) {
    return failure(
      `${cannot} port ${port}: ports below 1024 need administrator rights; choose another with ${portFlag} (0 picks a free one).`,
    );
  }
  if (isDenied(cause)) {
    return explainError(cause, "");
  }
  return unexpected(error.message);
}

/** True for the error a failed host name lookup throws (no class of its own). */
function isLookupFailure(error: unknown): boolean {
  return error instanceof Error &&
    /failed to lookup address|name or service not known|nodename nor servname|no such host/i
      .test(error.message);
}

function failure(message: string): Explanation {
  return { message, exitCode: FAILURE_EXIT_CODE, unexpected: false };
}

function usage(message: string): Explanation {
  return {
    message: terminalSafe(message),
    exitCode: USAGE_EXIT_CODE,
    unexpected: false,
  };
}

function explainCommander(error: CommanderError, program: string): Explanation {
  if (COMMANDER_QUIET.has(error.code)) {
    return { exitCode: error.exitCode, unexpected: false };
  }
  if (error.code === "commander.excessArguments") {
    return usage(tooManyArguments(error.message, program));
  }
  const unknown = unknownOption(error);
  if (unknown) return usage(`${unknown} Run "${program} --help" for usage.`);
  const conflict = conflictingOptions(error);
  if (conflict) return usage(conflict);
  // "missing required argument 'files'": as the usage line names it.
  const missing = error.code === "commander.missingArgument"
    ? /argument '(.+)'/.exec(error.message)?.[1]
    : undefined;
  if (missing) {
    return usage(
      `${program} needs ${missing.toUpperCase()}. Run "${program} --help" for usage.`,
    );
  }
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

/**
 * Commander's "unknown option '--trackr' (Did you mean --tracker?)" in our
 * words: `Unknown option "--trackr": Did you mean "--tracker"?`, as a
 * mistyped command is told; undefined for another error.
 */
function unknownOption(error: CommanderError): string | undefined {
  if (error.code !== "commander.unknownOption") return undefined;
  const [, flag, guess] =
    /unknown option '(.*)'(?:\s*\(Did you mean (\S+)\?\))?/s.exec(
      error.message,
    ) ?? [];
  if (flag === undefined) return undefined;
  const hint = guess ? `: Did you mean "${guess}"?` : ".";
  return `Unknown option "${flag}"${hint}`;
}

/**
 * Commander's "option '-q, --quiet' cannot be used with option '-v,
 * --verbose'" in our words (see `notTogether`); undefined for another
 * error.
 */
function conflictingOptions(error: CommanderError): string | undefined {
  if (error.code !== "commander.conflictingOption") return undefined;
  const [, first, second] =
    /option '(.+?)' cannot be used with option '(.+?)'/.exec(error.message) ??
      [];
  return first && second ? notTogether(first, second) : undefined;
}

/**
 * Commander's "Too many arguments" in our words. For a `peer` command,
 * without the arguments, which commander echoes in full: one may be a
 * private link, whose secret would be shown. The tracker takes no link, so
 * it names what to remove, as `--version` does.
 */
function tooManyArguments(message: string, program: string): string {
  if (program === "peer get") return "peer get takes one link or ID at a time.";
  const expected = Number(/Expected (\d+) argument/.exec(message)?.[1] ?? 0);
  const takes = expected === 0
    ? "no arguments"
    : `at most ${expected} ${expected === 1 ? "argument" : "arguments"}`;
  const extra = /but got \d+: (.*)\.$/s.exec(message)?.[1];
  if (!/^peer\b/.test(program) && extra !== undefined) {
    return `${program} takes ${takes}; remove "${
      extra.split(", ").join(" ")
    }".`;
  }
  return `${program} takes ${takes}. Run "${program} --help" for usage.`;
}
