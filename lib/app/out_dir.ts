/**
 * The folder a get saves into, checked (and created) before the tracker is
 * asked or a byte downloaded, so a wrong folder fails at once with one
 * sentence rather than after the download has begun. The command line
 * (`peer get --out`) and the web page both use it, each with its own advice.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { isDenied } from "../util/denied.ts";
import { UsageError } from "./usage_error.ts";

/** The download folder cannot be created or used; the message is for the user. */
export class OutDirError extends Error {
  /** Creates an error with a message for the user. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OutDirError";
  }
}

/** What to tell the user to do, in the words of the caller's interface. */
export interface OutDirAdvice {
  /** The whole sentence when no folder was given (blank text). */
  empty: string;
  /** Ends the sentence after "it is a file, not a folder". */
  notAFolder: string;
  /** Ends the sentence after why the folder cannot be created or used. */
  cannotCreate: string;
}

/** Advice without command-line flags, for the web page. */
export const PLAIN_OUT_DIR_ADVICE: OutDirAdvice = {
  empty: "Type the folder to save into.",
  notAFolder: "choose a folder (a missing one is created).",
  cannotCreate: "choose another folder.",
};

/**
 * Makes sure `out` is a folder to save downloads into, creating it (and the
 * folders above it) when missing; resolves to the folders it created,
 * deepest first (none when `out` was there), for
 * {@linkcode removeEmptyFolders} to take away again if nothing is saved.
 * Throws a {@linkcode UsageError} when `out` is blank or names something
 * that is not a folder (a file), and an {@linkcode OutDirError} naming the
 * folder and the reason when it cannot be created, or looked at (then it
 * cannot be written either, as `/proc/sys`); each message
 * ends with the matching part of `advice`.
 *
 * @example
 * ```ts
 * const created = await prepareOutDir("downloads"); // ./downloads if missing
 * ```
 */
export async function prepareOutDir(
  out: string,
  advice: OutDirAdvice = PLAIN_OUT_DIR_ADVICE,
): Promise<string[]> {
  if (out.trim() === "") throw new UsageError(advice.empty);
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(out);
  } catch (error) {
    // Not allowed to look (as in /proc, /sys): it may well be there, and
    // cannot be written either. Any other failure is left to mkdir, whose
    // error says why the folder cannot be made.
    if (isDenied(error)) {
      throw new OutDirError(
        `Cannot save into "${out}": ${reason(error)}; ${advice.cannotCreate}`,
        { cause: error },
      );
    }
  }
  if (info?.isDirectory) return [];
  if (info) {
    throw new UsageError(
      `Cannot save into "${out}": ${
        info.isFile ? "it is a file, not a folder" : "it is not a folder"
      }; ${advice.notAFolder}`,
    );
  }
  const created = await missingFolders(out);
  try {
    await Deno.mkdir(out, { recursive: true });
    return created;
  } catch (error) {
    await removeEmptyFolders(created);
    throw new OutDirError(
      `Cannot create the folder "${out}" to save into: ${
        reason(error)
      }; ${advice.cannotCreate}`,
      { cause: error },
    );
  }
}

/**
 * Removes `folders` (deepest first, as {@linkcode prepareOutDir} gives them)
 * while they are empty: a folder with anything in it stays, and so do the
 * folders above it. Never throws.
 */
export async function removeEmptyFolders(
  folders: readonly string[],
): Promise<void> {
  for (const folder of folders) {
    try {
      // Not recursive: fails, and removes nothing, unless the folder is empty.
      await Deno.remove(folder);
    } catch {
      return;
    }
  }
}

/**
 * The folders `out` and those above it that are not there yet, deepest
 * first: what a recursive mkdir of `out` creates.
 */
async function missingFolders(out: string): Promise<string[]> {
  const missing: string[] = [];
  for (let path = resolve(out);; path = dirname(path)) {
    try {
      // lstat: even a broken symbolic link is something that was there.
      await Deno.lstat(path);
      return missing;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) return missing;
    }
    missing.push(path);
    if (dirname(path) === path) return missing;
  }
}

/** True for an error that says the folder may not be looked at. */
/** Why a folder could not be made or used, in plain words. */
function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    // Deno's own rule: system folders (/proc, /dev, /sys) need --allow-all.
    return "this program is not allowed to write there";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return "you do not have permission to write there";
  }
  if (error instanceof Deno.errors.NotFound) {
    // Only a special file system (such as /proc) refuses a recursive mkdir so.
    return "the system does not allow new folders there";
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return "part of that path is a file, not a folder";
  }
  if (error instanceof Deno.errors.AlreadyExists) {
    return "something that is not a folder is in the way";
  }
  const text = error instanceof Error ? error.message : String(error);
  // "Read-only file system (os error 30): mkdir 'x'" → "read-only file system"
  const plain = text.replace(/\s*\(os error \d+\).*$/s, "").trim();
  return plain.charAt(0).toLowerCase() + plain.slice(1);
}
