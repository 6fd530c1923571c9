/**
 * The commander set-up both entry files share: programs that throw instead
 * of exiting (so errors are worded and printed in one place) and the options
 * every command takes.
 *
 * @module
 */

import { Command, CommanderError, Option } from "commander";
import { asUsage } from "./args.ts";
import { UsageError } from "../app/usage_error.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { parsePort } from "../net/address.ts";
import { VERSION } from "../protocol/version.ts";

/** Options every command accepts. */
export interface OutputFlags {
  /** Print only results (IDs, paths, JSON), no progress or notes. */
  quiet?: boolean;
  /** Print events and, on errors, stack traces. */
  verbose?: boolean;
}

/** Options for {@linkcode createProgram}. */
export interface ProgramOptions {
  /** Text after the usage line of `--help`. */
  description: string;
  /** Extra text at the end of `--help`. */
  epilog?: string;
}

/**
 * A commander program named `name` that throws `CommanderError` rather than
 * exiting and prints no errors of its own; help still goes to stdout.
 * `--version` prints the version only when nothing else was given: a word
 * beside it is a usage error, not dropped.
 */
export function createProgram(name: string, options: ProgramOptions): Command {
  const program = new Command(name)
    .description(options.description)
    // Not commander's .version(): that prints and exits as soon as it reads
    // the flag, before it knows what else was given.
    .option("-V, --version", "print the version and exit")
    .helpCommand(false)
    .hook("preAction", (_, action) => versionAsked(program, action));
  configure(program);
  if (options.epilog) program.addHelpText("after", `\n${options.epilog}`);
  return program;
}

/**
 * Before any action: if `program` was given `--version`, prints it and
 * ends quietly (exit 0), or throws a {@linkcode UsageError} when a command
 * or another word came with it.
 */
function versionAsked(program: Command, action: Command): void {
  if (!program.opts().version) return;
  const extra = action === program ? program.args : [action.name()];
  if (extra.length > 0) {
    throw new UsageError(
      `--version takes no arguments; remove "${
        terminalSafe(extra.join(" "))
      }".`,
    );
  }
  program.configureOutput().writeOut?.(`${VERSION}\n`);
  throw new CommanderError(0, "commander.version", VERSION);
}

/**
 * Adds a subcommand to `parent` with the same error behaviour and the
 * `--quiet` / `--verbose` options.
 */
export function addCommand(
  parent: Command,
  name: string,
  description: string,
): Command {
  const command = parent.command(name).description(description);
  configure(command);
  return addOutputFlags(command);
}

/** Adds `--quiet` and `--verbose` to `command`. */
export function addOutputFlags(command: Command): Command {
  return command
    .addOption(
      new Option("-q, --quiet", "print only results, no progress or notes")
        .conflicts("verbose"),
    )
    .option("-v, --verbose", "print events, and stack traces on errors");
}

/** An option `--port N` (0 picks a free port), or `flag` spelled otherwise. */
export function portOption(
  description: string,
  defaultPort: number,
  flag = "--port <n>",
): Option {
  const name = flag.split(" ")[0];
  return new Option(flag, description)
    .default(defaultPort)
    .argParser(asUsage((text) => parsePort(text, name)));
}

function configure(command: Command): void {
  command
    .exitOverride()
    // Deciding colour itself makes commander read the environment, which
    // would need --allow-env; help is plain text anyway.
    .configureOutput({
      outputError: () => {},
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .showSuggestionAfterError(true)
    // Words nobody asked for are refused, not silently dropped.
    .allowExcessArguments(false);
}
