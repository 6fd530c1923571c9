/**
 * The prompt's command history, kept between runs in a folder the caller
 * names: the prompt names the peer's data folder (`dataDir` in `app/data_dir.ts`:
 * `$P2P_HOME`, else `$XDG_DATA_HOME/p2p`, else `~/.local/share/p2p`
 * (`%LOCALAPPDATA%\p2p` on Windows)). One command a line, oldest first, at
 * most {@linkcode MAX_HISTORY} lines. A line that carries a private share
 * link (its secret) is never kept ({@linkcode holdsSecret}).
 *
 * @module
 */

import { join } from "node:path";
import { parseShareLink } from "../../protocol/share_link.ts";

/** Commands kept in the history file; older ones are dropped. */
export const MAX_HISTORY = 500;
/** Longest command kept; longer lines (pasted junk) are not saved. */
export const MAX_HISTORY_LINE = 4096;
/** Name of the history file inside the data folder. */
export const HISTORY_FILE = "history";

/** Commands typed at the prompt, remembered in a file between runs. */
export class History {
  /** The file the history lives in, or undefined when it is not kept. */
  readonly path?: string;
  #lines: string[];
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string | undefined, lines: string[]) {
    this.path = path;
    this.#lines = lines;
  }

  /**
   * Loads the history from the folder `dir`; a missing or unreadable file
   * is an empty history. Undefined means no folder: the history is kept in
   * memory only (pass {@linkcode dataDir}`()` for the peer's data folder).
   */
  static async load(dir: string | undefined): Promise<History> {
    if (!dir) return new History(undefined, []);
    const path = join(dir, HISTORY_FILE);
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch {
      // No history yet, or not readable: start empty.
    }
    const lines = text.split("\n").filter((line) =>
      keepable(line) && !holdsSecret(line)
    );
    return new History(path, lines.slice(-MAX_HISTORY));
  }

  /** The commands, oldest first. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** The commands newest first, as `node:readline` wants them. */
  newestFirst(): string[] {
    return [...this.#lines].reverse();
  }

  /**
   * Remembers `line` (not blank, not a repeat of the last one, not starting
   * with a space, not holding a private link) and saves the file in the
   * background.
   */
  add(entered: string): void {
    if (!keepable(entered) || entered.startsWith(" ")) return;
    if (holdsSecret(entered)) return;
    const line = entered.trimEnd();
    if (this.#lines.at(-1) === line) return;
    this.#lines.push(line);
    if (this.#lines.length > MAX_HISTORY) {
      this.#lines.splice(0, this.#lines.length - MAX_HISTORY);
    }
    this.#save();
  }

  /** Waits for pending writes. */
  flush(): Promise<void> {
    return this.#writing;
  }

  #save(): void {
    const path = this.path;
    if (!path) return;
    const text = this.#lines.join("\n") + "\n";
    // Writes run one after another so the last one wins.
    this.#writing = this.#writing.then(async () => {
      try {
        await Deno.mkdir(join(path, ".."), { recursive: true });
        await Deno.writeTextFile(path, text, { mode: 0o600 });
      } catch {
        // History is a convenience: a read-only home must not stop the peer.
      }
    });
  }
}

/**
 * A word meant as a share link, even a mistyped one: it starts with `p2p`,
 * or holds `p2p:` or a private link's `/priv/` (in any case).
 */
const LINK_WORD = /^["']?p2p|p2p:|\/priv\//i;

/**
 * True if `line` may carry a share link's secret: it holds a private link,
 * or a word meant as a link that does not read as a public one (a damaged
 * private link still holds most of its secret). Public links and IDs are
 * no secret.
 *
 * @example
 * ```ts
 * holdsSecret("get p2p://10.0.0.5:5000/v1/priv/SECRET/9f86d081884c7d65"); // true
 * holdsSecret("get 9f86d081884c7d65"); // false
 * ```
 */
export function holdsSecret(line: string): boolean {
  return line.split(/\s+/).some((word) => {
    if (!LINK_WORD.test(word)) return false;
    try {
      // Quotes around a link typed at the prompt are not part of it.
      const link = parseShareLink(word.replace(/^["']|["'\\]+$/g, ""));
      return link.kind !== "public";
    } catch {
      return true;
    }
  });
}

function keepable(line: string): boolean {
  return line.trim() !== "" && line.length <= MAX_HISTORY_LINE &&
    !/[\r\n]/.test(line);
}
