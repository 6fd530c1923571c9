/**
 * How the prompt's user names a file, private to `session.ts`: by its ID,
 * a prefix of one, or a name; the files seen this session whose names count
 * ({@linkcode KnownFiles}); and the matching of what was typed against them.
 * Every miss is a {@linkcode UsageError} saying what to type instead.
 *
 * @module
 */

import { parseFileId } from "./file_id.ts";
import { UsageError } from "./usage_error.ts";

/** A file as the user names it. */
export interface NamedFile {
  /** The file's ID. */
  id: string;
  /** The file's name. */
  name: string;
}

/**
 * Files seen this session (tracker answers, shares, gets) by ID, with the
 * name each was last seen under: least recently seen first, at most `max`.
 */
export class KnownFiles {
  readonly #max: number;
  #names = new Map<string, string>();

  /** Remembers at most `max` files; past it, the least recently seen go. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Notes `files` as seen now, forgetting the least recently seen past the cap. */
  remember(files: readonly NamedFile[]): void {
    for (const file of files) {
      this.#names.delete(file.id);
      this.#names.set(file.id, file.name);
    }
    while (this.#names.size > this.#max) {
      this.#names.delete(this.#names.keys().next().value!);
    }
  }

  /** The name file `id` was last seen under, if it was seen. */
  nameOf(id: string): string | undefined {
    return this.#names.get(id);
  }

  /** Every file remembered, least recently seen first. */
  list(): NamedFile[] {
    return [...this.#names].map(([id, name]) => ({ id, name }));
  }
}

/**
 * A file ID from what the user typed: hex (16+ chars), or the name of
 * exactly one of `files`; throws a {@linkcode UsageError} otherwise.
 */
export function idFromRef(ref: string, files: readonly NamedFile[]): string {
  if (ref.trim() === "") {
    throw new UsageError(
      'Give a share link, a file ID or a name seen in "list".',
    );
  }
  if (/^[0-9a-f]+$/i.test(ref)) return parseFileId(ref);
  const matches = new Set(
    files.filter((file) => sameName(file.name, ref)).map((file) => file.id),
  );
  if (matches.size === 1) return [...matches][0];
  throw new UsageError(
    matches.size > 1
      ? `More than one file is named "${ref}": use its ID from "list".`
      : `"${ref}" is neither a file ID nor a name seen in "list": run list or search, then use the ID.`,
  );
}

/**
 * The one of `items` (a `what`, listed by typing `hint`) that `ref` names,
 * by an ID prefix of 4+ characters or its exact name; throws a
 * {@linkcode UsageError} for none or several.
 */
export function pickOne<T extends NamedFile>(
  items: T[],
  ref: string,
  what: string,
  hint: string,
): T {
  const lower = ref.toLowerCase();
  const hits = items.filter((item) =>
    (lower.length >= 4 && item.id.startsWith(lower)) ||
    sameName(item.name, ref)
  );
  if (hits.length === 1) return hits[0];
  throw new UsageError(
    hits.length === 0
      ? `No ${what} matches "${ref}": type "${hint}" to see them.`
      : `"${ref}" matches ${hits.length} of them: give more of the ID.`,
  );
}

/**
 * Whether a name typed matches a file's name: the same once both are in
 * Unicode NFC, so "é" typed as one character finds a name a Mac wrote as
 * "e" and an accent (NFD), and the other way round.
 */
function sameName(name: string, typed: string): boolean {
  return name === typed || name.normalize("NFC") === typed.normalize("NFC");
}
