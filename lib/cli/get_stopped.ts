/**
 * What a get stopped before it finished says: where its partial download
 * (`NAME.part`, a file or a folder) is kept for the next run to resume, or
 * that nothing had arrived. `peer get` stopped by Ctrl-C and a get
 * cancelled at the prompt both say it so.
 *
 * @module
 */

import { resolve } from "node:path";
import { PART_SUFFIX } from "../storage/part_file.ts";

/** Options for {@linkcode stoppedMessage}. */
export interface StoppedOptions {
  /**
   * The name the download is saved under, if known by then; otherwise a
   * `.part` in the folder that is not in `partsBefore` is this get's.
   * @default {unknown}
   */
  name?: string;
  /**
   * The `.part` the download writes into, once it says (it may be an
   * earlier run's of another name, or `NAME (1).part`). @default {unknown}
   */
  partPath?: string;
  /** The `.part` names in the folder when the get started (`partsIn`). */
  partsBefore: ReadonlySet<string>;
  /** What the sentence starts with. @default {"Download stopped"} */
  opening?: string;
}

/**
 * The sentence for a get into `outDir` that stopped, e.g. `Download
 * stopped; the partial file is kept in /home/ann/downloads/a.iso.part: run
 * the same get again to resume.` or `Download stopped before anything
 * arrived.`
 */
export async function stoppedMessage(
  outDir: string,
  options: StoppedOptions,
): Promise<string> {
  const { name, partPath, partsBefore, opening = "Download stopped" } = options;
  const fresh = [...await partsIn(outDir)].filter((part) =>
    !partsBefore.has(part)
  );
  const candidates = partPath !== undefined
    ? [partPath]
    : name === undefined
    ? fresh
    : [name + PART_SUFFIX, ...fresh];
  for (const candidate of candidates) {
    const part = resolve(outDir, candidate);
    const info = await Deno.stat(part).catch(() => undefined);
    if (!info) continue;
    const what = info.isDirectory ? "folder" : "file";
    return `${opening}; the partial ${what} is kept in ${part}: run the same get again to resume.`;
  }
  if (name === undefined) return `${opening} before anything arrived.`;
  return `${opening}; the partial download is kept in ${
    resolve(outDir)
  }: run the same get again to resume.`;
}

/**
 * The names of the `.part` files and folders in `dir` (none if unreadable):
 * taken as a get starts, so that one stopped before it says which `.part`
 * it writes can name the one it made.
 */
export async function partsIn(dir: string): Promise<Set<string>> {
  const parts = new Set<string>();
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.endsWith(PART_SUFFIX)) parts.add(entry.name);
    }
  } catch {
    // Gone or unreadable: no .part to name.
  }
  return parts;
}
