/**
 * The commander set-up both entry files share: programs that throw instead
 * of exiting (so errors are worded and printed in one place; an option
 * given no value gets our sentence here) and the options every command
 * takes.
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

/**
 * Gives `command` the options typed before its name, as if typed after it:
 * `peer --tracker H:P share F` is `peer share --tracker H:P F`, its value
 * already checked by the same parser. The command's own value wins when
 * both are given. Throws a {@linkcode UsageError} for an option the command
 * does not take, naming those that do; with no command (`command` is
 * `program`), for an option `program` takes only to carry it (a hidden one,
 * such as `--json`).
 */
export function carryLeadingOptions(program: Command, command: Command): void {
  for (const option of program.options) {
    const key = option.attributeName();
    if (
      NOT_CARRIED.has(key) || program.getOptionValueSource(key) !== "cli"
    ) continue;
    if (command === program) {
      if (option.hidden) throw notTaken(program, command, option);
      continue;
    }
    if (!command.options.some((own) => own.long === option.long)) {
      throw notTaken(program, command, option);
    }
    if (command.getOptionValueSource(key) === "cli") continue;
    command.setOptionValueWithSource(key, program.getOptionValue(key), "cli");
  }
  checkConflicts(command);
}

/** Program options that are the program's own: never carried to a command. */
const NOT_CARRIED = new Set(["version", "help"]);

/**
 * The sentence for `option`, typed before `command`'s name, that `command`
 * does not take: which commands (and the prompt) do.
 */
function notTaken(
  program: Command,
  command: Command,
  option: Option,
): UsageError {
  const takers = program.commands
    .filter((other) => other.options.some((own) => own.long === option.long))
    .map((other) => other.name());
  const prompt = `the prompt ("${program.name()}" with no command)`;
  if (!option.hidden && command !== program) takers.push(prompt);
  const who = command === program
    ? `The prompt ("${program.name()}" with no command)`
    : commandPath(command);
  return new UsageError(
    `${who} does not take ${option.long}: it is for ${listed(takers)}.`,
  );
}

/**
 * For an option of the program typed after the name of a command that does
 * not take it, the sentence {@linkcode notTaken} gives it typed before.
 */
function notTakenAfter(
  command: Command,
  error: CommanderError,
): UsageError | undefined {
  const program = command.parent;
  if (!program || error.code !== "commander.unknownOption") return undefined;
  const flag = /unknown option '([^'=]+)/.exec(error.message)?.[1];
  const option = program.options.find((own) => own.long === flag);
  if (!option || option.hidden || NOT_CARRIED.has(option.attributeName())) {
    return undefined;
  }
  return notTaken(program, command, option);
}

/** `a`, `a and b`, `a, b and c`. */
function listed(words: string[]): string {
  return words.length < 2
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/**
 * Throws a {@linkcode UsageError} when `command` was given `--quiet` and
 * `--verbose`, one before its name and one after: commander checks the
 * conflict it was told of (see {@linkcode addOutputFlags}) on one side only.
 */
function checkConflicts(command: Command): void {
  const flags = command.opts<OutputFlags>();
  if (flags.quiet && flags.verbose) {
    throw new UsageError(notTogether("--quiet", "--verbose"));
  }
}

/**
 * The sentence for two options that cannot be used together, as
 * commander's flags (`-q, --quiet`) or long names.
 *
 * @example
 * ```ts
 * notTogether("-q, --quiet", "-v, --verbose");
 * // "--quiet and --verbose do not go together: leave out one of them."
 * ```
 */
export function notTogether(first: string, second: string): string {
  const long = (flags: string) =>
    /--[^\s,]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0];
  return `${long(first)} and ${
    long(second)
  } do not go together: leave out one of them.`;
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

/**
 * Gives `program`, once its commands are added, `help [COMMAND]` and
 * `-h, --help` before a command's name: both print that command's help, or
 * the program's own without one. `unknown` is the error for a word that
 * names no command. The commands keep their own `--help`.
 */
export function addHelpCommand(
  program: Command,
  unknown: (word: string) => Error,
): void {
  const help = program.command("help")
    .description("Print the help of COMMAND, or this help.")
    .argument("[command]", "the command to explain");
  configure(help);
  help.action((name: string | undefined) => {
    if (name === undefined) program.help();
    const command = program.commands.find((other) => other.name() === name);
    if (!command) throw unknown(name ?? "");
    command.help();
  });
  // Commander's own -h stops reading at the first word, so "-h share"
  // would print the program's help. Commands made before this keep theirs.
  program.helpOption(false).addOption(
    new Option("-h, --help", "print this help; before a command, its help"),
  );
  program.hook("preSubcommand", (_, command) => {
    if (program.opts().help) command.help();
  });
  program.hook("preAction", (_, action) => {
    if (action === program && program.opts().help) program.help();
  });
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
    .exitOverride((error) => {
      throw missingValue(command, error) ?? notTakenAfter(command, error) ??
        error;
    })
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

/** What each kind of value is, as `--help` names it (`<rate>`), for {@linkcode missingValue}. */
const VALUE_KINDS: Readonly<Record<string, string>> = {
  rate: "bytes a second, like 300K",
  size: "a size, like 256K",
  bytes: "bytes, like 4G",
  duration: "a duration, like 30s, 5m or 1h",
  n: "a whole number",
  "host:port": "an address as HOST:PORT, like 10.0.0.5:5000",
  "host:port,…": "nodes as HOST:PORT, separated by commas",
  address: "an address, like 0.0.0.0 or 127.0.0.1",
  path: "a file's path",
  dir: "a folder",
  file: "a file name or path",
  name: "a name",
};

/**
 * Our sentence for commander's "option '--download-limit <rate>' argument
 * missing" (an option that takes a value given none, last on the line): a
 * {@linkcode UsageError} naming the flag, what its value is and where the
 * usage is; undefined for any other error.
 */
function missingValue(
  command: Command,
  error: CommanderError,
): UsageError | undefined {
  if (error.code !== "commander.optionMissingArgument") return undefined;
  const flags = /option '(.+)' argument missing/.exec(error.message)?.[1];
  const option = command.options.find((option) => option.flags === flags);
  if (!option) return undefined;
  const placeholder = /<(.+)>/.exec(option.flags)?.[1] ?? "";
  const kind = option.long?.endsWith("-port")
    ? "a port number from 0 to 65535 (0 picks a free one)"
    : VALUE_KINDS[placeholder] ?? "a value";
  const name = option.long && option.short
    ? `${option.long} (${option.short})`
    : option.long ?? option.short;
  return new UsageError(
    `${name} needs a value: ${kind}. Run "${
      commandPath(command)
    } --help" for usage.`,
  );
}

/** `peer get`: the names of `command` and the commands above it. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) {
    names.unshift(at.name());
  }
  return names.join(" ");
}
