/**
 * The team secret of a tracker started with `--secret-file`: the tracker
 * reads it from its file (made on first start), and a peer from
 * `--secret-file` or {@linkcode TEAM_SECRET_ENV}; both stretch it into the
 * key every connection to that tracker proves ({@linkcode deriveTeamPsk}).
 * Mistakes are {@linkcode UsageError}s with one sentence.
 *
 * @module
 */

import { UsageError } from "../app/usage_error.ts";
import { isDenied } from "../util/denied.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import { TEAM_SECRET_ENV } from "../protocol/limits.ts";
import { deriveTeamPsk, generateTeamSecret } from "../secure/share_keys.ts";

/** Mode bits that let the file's group or anyone else read it. */
const OTHERS_MAY_READ = 0o044;
/** Most bytes read from a secret file: a secret is a line, not a document. */
export const MAX_SECRET_FILE_BYTES = 4096;

/** Where a peer's team secret may come from, most important first. */
export interface TeamSecretSources {
  /** The value of `--secret-file`, if given. */
  file?: string;
  /** The value of {@linkcode TEAM_SECRET_ENV}, if set. */
  env?: string;
}

/** A tracker's team key, and whether its secret file was just made. */
export interface TrackerSecret {
  /** The key every client must prove. */
  psk: Uint8Array;
  /** True when the file did not exist and was created with a new secret. */
  created: boolean;
}

/**
 * The team key a peer proves to its tracker: from the file `--secret-file`
 * names, else the secret text in {@linkcode TEAM_SECRET_ENV}; undefined
 * when neither is given (an open tracker). Throws a {@linkcode UsageError}.
 */
export function peerTeamKey(
  sources: TeamSecretSources,
): Uint8Array | undefined {
  if (sources.file !== undefined) {
    const secret = readSecretFile(
      sources.file,
      `copy it from the tracker's machine, or set ${TEAM_SECRET_ENV} to the secret it holds`,
    );
    const key = derive(secret.bytes, `--secret-file "${sources.file}"`);
    warnIfOthersMayRead(sources.file, secret.info);
    return key;
  }
  const env = sources.env?.trim() ? sources.env : undefined;
  return env === undefined ? undefined : derive(env, TEAM_SECRET_ENV);
}

/**
 * The team key of a tracker started with `--secret-file PATH`: the file's
 * secret, or a new one written to PATH (mode 0600) when there is no such
 * file. An existing file is never overwritten. Throws a
 * {@linkcode UsageError}.
 */
export function trackerTeamKey(path: string): TrackerSecret {
  checkPathGiven(path);
  let created = false;
  try {
    Deno.writeTextFileSync(path, `${generateTeamSecret()}\n`, {
      mode: 0o600,
      createNew: true,
    });
    created = true;
  } catch (error) {
    // Already there (the usual case): read it below, never replace it.
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new UsageError(
        `Cannot create the team secret file "${terminalSafe(path)}": ${
          error instanceof Deno.errors.NotFound
            ? "its folder does not exist"
            : fileProblem(error)
        }.`,
      );
    }
  }
  const secret = readSecretFile(path, "check the path");
  const psk = derive(secret.bytes, `--secret-file "${path}"`);
  warnIfOthersMayRead(path, secret.info);
  return { psk, created };
}

/**
 * The file's bytes and what `stat` says of it (warned about once its
 * secret is accepted); `hint` says what to do when it cannot be read.
 */
function readSecretFile(
  path: string,
  hint: string,
): { bytes: Uint8Array; info: Deno.FileInfo } {
  checkPathGiven(path);
  let bytes: Uint8Array;
  let info: Deno.FileInfo;
  try {
    using file = Deno.openSync(path);
    info = file.statSync();
    if (info.isDirectory) throw new Deno.errors.IsADirectory();
    if (!info.isFile) throw new TypeError("it is not a regular file");
    bytes = new Uint8Array(MAX_SECRET_FILE_BYTES + 1);
    let length = 0;
    while (length < bytes.length) {
      const n = file.readSync(bytes.subarray(length));
      if (n === null) break;
      length += n;
    }
    bytes = bytes.subarray(0, length);
  } catch (error) {
    throw new UsageError(
      `Cannot read the team secret file "${terminalSafe(path)}": ${
        fileProblem(error)
      }; ${hint}.`,
    );
  }
  if (bytes.length > MAX_SECRET_FILE_BYTES) {
    throw new UsageError(
      `The team secret file "${
        terminalSafe(path)
      }" is over ${MAX_SECRET_FILE_BYTES} bytes: it should hold the secret alone, on one line.`,
    );
  }
  return { bytes, info };
}

/** Refuses an empty `--secret-file` in one sentence. */
function checkPathGiven(path: string): void {
  if (path.trim() === "") {
    throw new UsageError(
      "--secret-file needs a path: give the file that holds the team's secret.",
    );
  }
}

/** Secret files already warned about, so a warning is said once. */
const warned = new Set<string>();

/**
 * Says on stderr (once per file) that other users of this machine may read
 * the secret file, and how to stop them, as ssh does for a key: the secret
 * is all it takes to use the team's tracker.
 */
function warnIfOthersMayRead(path: string, info: Deno.FileInfo): void {
  if (info.mode === null || (info.mode & OTHERS_MAY_READ) === 0) return;
  if (warned.has(path)) return;
  warned.add(path);
  const shown = terminalSafe(path);
  console.error(
    `Warning: other users of this machine may read the team secret file "${shown}"; make it private with: chmod 600 "${shown}"`,
  );
}

/** Derives the key, naming where a secret too short came from. */
function derive(secret: string | Uint8Array, from: string): Uint8Array {
  try {
    return deriveTeamPsk(secret);
  } catch (error) {
    const message = (error as Error).message.replace(/\.$/, "");
    throw new UsageError(`${message} (set by ${terminalSafe(from)}).`);
  }
}

function fileProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) {
    return "there is no such file or folder";
  }
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (isDenied(error)) {
    return "permission denied";
  }
  const text = error instanceof Error ? error.message : String(error);
  return terminalSafe(text.replace(/\.$/, ""));
}
