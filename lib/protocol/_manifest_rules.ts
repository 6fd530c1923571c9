/**
 * The receiving side's rules for a manifest (`manifest.ts`): what its names
 * and paths may be, checked on the whole manifest before anything is
 * created. A manifest that passes can be created as it is, inside one new
 * folder, on Linux, macOS and Windows alike: no path climbs out of it, names
 * a device, hides a character, or lands on another entry of the manifest on
 * a case-insensitive file system.
 *
 * @module
 */

import { bytesOf, fold, nameProblem, quote } from "./_manifest_names.ts";
import {
  MAX_MANIFEST_ENTRIES,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
} from "./limits.ts";

/** One file or folder of a manifest. */
export interface ManifestEntry {
  /** Its path below the top folder, one name per component. */
  path: string[];
  /** A file or a folder (folders are entries too, empty ones included). */
  type: "file" | "folder";
  /** Bytes of a file; 0 for a folder. */
  size: number;
  /** Whether a file is executable; false for a folder. */
  executable: boolean;
  /** A file's own ID (SHA-256, 64 lowercase hex); absent for a folder. */
  id?: string;
}

/** A folder tree, or several files, shared as one ID. */
export interface Manifest {
  /** Name of the top folder the entries are created in. */
  name: string;
  /** Every file and folder below it. */
  entries: ManifestEntry[];
}

export {
  MAX_MANIFEST_ENTRIES,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
} from "./limits.ts";

/**
 * A manifest the receiving side refuses: its message is one sentence naming
 * the offending path, quoted with control and invisible characters escaped.
 * It extends `TypeError`, so code that treats `TypeError`/`RangeError` as
 * bad remote input treats it the same.
 */
export class ManifestError extends TypeError {
  /** The offending path as given (top name first, `/` between), if any. */
  readonly path?: string;

  /** An error whose `message` is `message`, about `path`. */
  constructor(message: string, path?: string) {
    super(message);
    this.name = "ManifestError";
    this.path = path;
  }
}

const FULL_ID = /^[0-9a-f]{64}$/;

/**
 * Throws a {@linkcode ManifestError} unless every name and path of `manifest`
 * is safe to create on any common file system, every entry is well formed,
 * and the manifest is within the limits. Entries may come in any order.
 *
 * Rules: each name (the top one and every component) is well-formed Unicode
 * in NFC, 1..255 UTF-8 bytes, not `.` or `..`,
 * with no `/`, `\`, `<>:"|?*`, control characters (U+0000–U+001F,
 * U+007F–U+009F) or bidirectional controls, no trailing dot or space, and
 * not a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `CONIN$`,
 * `CONOUT$`, `COM0`–`COM9`, `LPT0`–`LPT9`, also `COM¹`–`COM³`/`LPT¹`–`LPT³`,
 * in any case, also with an extension). A path has 1..{@linkcode MAX_PATH_DEPTH}
 * components and at most {@linkcode MAX_PATH_BYTES} bytes with the top name.
 * No path appears twice or differs from another only in case or ignorable
 * characters; every path's parent is listed as a folder entry (so no file
 * has anything below it). A file has a full ID and a size that is a safe
 * non-negative integer; a folder has size 0, no ID and is not executable.
 * At most {@linkcode MAX_MANIFEST_ENTRIES} entries, and sizes that add up
 * to a safe integer.
 *
 * Throws `TypeError` if `manifest` is not shaped like a {@linkcode Manifest}
 * at all (a programming error, never the result of decoding).
 */
export function checkManifest(manifest: Manifest): void {
  checkedTree(manifest);
}

/**
 * A path of a checked manifest: the top folder (depth 0), or an entry, or
 * (only while checking) the folder of one.
 */
export interface ManifestNode {
  /** The folder it is in; null for the top one. */
  readonly parent: ManifestNode | null;
  /** A path through it: its own is the first `depth` components. */
  readonly path: string[];
  /** Components in its path; 0 for the top folder. */
  readonly depth: number;
  /** UTF-8 bytes of the top name and the components, `/` between. */
  readonly bytes: number;
  /** Its entry in the manifest; none for the top folder. */
  entry?: ManifestEntry;
  /** What it holds, by name. */
  children?: Map<string, ManifestNode>;
  /** What it holds, by {@linkcode fold}ed name. */
  folded?: Map<string, ManifestNode>;
}

/**
 * Runs {@linkcode checkManifest}'s checks and returns the top folder of the
 * tree they build: every name is checked once, when its node is made,
 * however many entries pass through it.
 */
export function checkedTree(manifest: Manifest): ManifestNode {
  const { name, entries } = shapeOf(manifest);
  const problem = nameProblem(name);
  if (problem) refuse(name, null, problem);
  if (entries.length > MAX_MANIFEST_ENTRIES) {
    throw new ManifestError(
      `Refusing the shared folder ${quote(name)}: it lists ${
        entries.length.toLocaleString("en")
      } entries, more than ${MAX_MANIFEST_ENTRIES.toLocaleString("en")}.`,
    );
  }
  const root: ManifestNode = {
    parent: null,
    path: [],
    depth: 0,
    bytes: bytesOf(name),
  };
  const listed: ManifestNode[] = [];
  let totalSize = 0;
  for (const entry of entries) {
    const path = pathOf(entry);
    if (path.length === 0) refuse(name, path, "an entry needs a path");
    if (path.length > MAX_PATH_DEPTH) {
      refuse(
        name,
        path,
        `it is ${path.length} folders deep, more than ${MAX_PATH_DEPTH}`,
      );
    }
    checkFields(name, entry);
    let node = root;
    for (let i = 0; i < path.length; i++) node = child(name, node, path, i);
    if (node.entry) refuse(name, path, "it is listed twice");
    node.entry = entry;
    listed.push(node);
    totalSize += entry.size;
  }
  for (const node of listed) checkParent(name, node);
  if (totalSize > Number.MAX_SAFE_INTEGER) {
    throw new ManifestError(
      `Refusing the shared folder ${
        quote(name)
      }: its files add up to more than ${Number.MAX_SAFE_INTEGER} bytes.`,
    );
  }
  return root;
}

function shapeOf(manifest: Manifest): Manifest {
  if (typeof manifest !== "object" || manifest === null) {
    throw new TypeError("A manifest must be an object");
  }
  if (typeof manifest.name !== "string") {
    throw new TypeError("A manifest's name must be a string");
  }
  if (!Array.isArray(manifest.entries)) {
    throw new TypeError("A manifest's entries must be a list");
  }
  return manifest;
}

function pathOf(entry: ManifestEntry): string[] {
  if (typeof entry !== "object" || entry === null) {
    throw new TypeError("A manifest entry must be an object");
  }
  const { path } = entry;
  if (!Array.isArray(path) || path.some((c) => typeof c !== "string")) {
    throw new TypeError("A manifest entry's path must be a list of strings");
  }
  return path;
}

/** `name` and `path` as a user would read the path: `name/a/b`. */
function display(name: string, path: string[]): string {
  return [name, ...path].join("/");
}

function refuse(name: string, path: string[] | null, reason: string): never {
  if (path === null) {
    throw new ManifestError(
      `Refusing the shared folder's name ${quote(name)}: ${reason}.`,
      name,
    );
  }
  const shown = display(name, path);
  throw new ManifestError(`Refusing ${quote(shown)}: ${reason}.`, shown);
}

/** The node of `path[i]` below `parent`, made (and checked) if new. */
function child(
  name: string,
  parent: ManifestNode,
  path: string[],
  i: number,
): ManifestNode {
  const component = path[i];
  const known = parent.children?.get(component);
  if (known) return known;
  const problem = nameProblem(component);
  if (problem) refuse(name, path.slice(0, i + 1), problem);
  const bytes = parent.bytes + 1 + bytesOf(component);
  if (bytes > MAX_PATH_BYTES) {
    refuse(
      name,
      path.slice(0, i + 1),
      `the path is ${bytes} bytes long, more than ${MAX_PATH_BYTES}`,
    );
  }
  const key = fold(component);
  const other = parent.folded?.get(key);
  if (other) {
    refuse(
      name,
      path.slice(0, i + 1),
      `it differs from ${
        quote(display(name, other.path.slice(0, other.depth)))
      } only in letter case or invisible characters, which Windows and macOS ignore`,
    );
  }
  const node: ManifestNode = { parent, path, depth: i + 1, bytes };
  (parent.children ??= new Map()).set(component, node);
  (parent.folded ??= new Map()).set(key, node);
  return node;
}

function checkFields(name: string, entry: ManifestEntry): void {
  const { path, type, size, executable, id } = entry;
  if (typeof executable !== "boolean") {
    refuse(name, path, "its executable flag must be true or false");
  }
  if (type === "folder") {
    if (size !== 0 || executable || id !== undefined) {
      refuse(name, path, "a folder has no size, executable flag or ID");
    }
    return;
  }
  if (type !== "file") refuse(name, path, "it is neither a file nor a folder");
  if (!Number.isSafeInteger(size) || size < 0) {
    refuse(
      name,
      path,
      `its size must be a whole number of bytes from 0 to ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  if (typeof id !== "string" || !FULL_ID.test(id)) {
    refuse(name, path, "its ID must be 64 lowercase hex characters");
  }
}

/**
 * Refuses `node`'s entry unless its parent is listed as a folder; as every
 * entry is checked, this holds for all its ancestors.
 */
function checkParent(name: string, node: ManifestNode): void {
  const parent = node.parent;
  if (parent === null || parent.depth === 0) return;
  if (parent.entry?.type === "folder") return;
  const path = node.path.slice(0, node.depth);
  const shown = quote(display(name, path.slice(0, -1)));
  refuse(
    name,
    path,
    parent.entry === undefined
      ? `its folder ${shown} is not listed as a folder`
      : `${shown} is a file, so nothing can be inside it`,
  );
}
