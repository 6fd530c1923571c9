/**
 * What a tracker says when it runs out of file descriptors. Every sharer
 * keeps a connection open to it, one descriptor each, so the process's
 * open-file limit is the tracker's real capacity, whatever
 * `TRACKER_MAX_CONNECTIONS` allows. Deno raises the soft limit to the hard
 * one as it starts (measured with `deno run` 2.9.6 on Linux: started with
 * 300 and a hard limit of 5,000, it had 5,000), so the hard limit is what
 * counts: `ulimit -Hn`, or `LimitNOFILE=` in a systemd unit. Past it, new
 * connections wait in the system's queue until some leave; without a word
 * an operator would only hear of peers timing out.
 *
 * @module
 */

/** Ms between two warnings while the tracker stays out of files. */
export const OUT_OF_FILES_WARN_MS = 60_000;

/** Options for {@linkcode OutOfFilesWarning}. */
export interface OutOfFilesWarningOptions {
  /** Receives the warning (a line an operator should see). */
  warn: (line: string) => void;
  /** Ms between two warnings. @default {OUT_OF_FILES_WARN_MS} */
  everyMs?: number;
  /** The clock, in ms. @default {performance.now} */
  now?: () => number;
}

/** Warns that the tracker is out of files, at most once every `everyMs`. */
export class OutOfFilesWarning {
  #warn: (line: string) => void;
  #everyMs: number;
  #now: () => number;
  #last = -Infinity;

  /** A warning not given yet. */
  constructor(options: OutOfFilesWarningOptions) {
    this.#warn = options.warn;
    this.#everyMs = options.everyMs ?? OUT_OF_FILES_WARN_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** An `accept()` failed for want of files while holding `connections`. */
  note(connections: number): void {
    const now = this.#now();
    if (now - this.#last < this.#everyMs) return;
    this.#last = now;
    this.#warn(outOfFilesLine(connections));
  }
}

/** The warning for a tracker out of files at `connections` connections. */
export function outOfFilesLine(connections: number): string {
  return `Tracker: out of open files at ${
    connections.toLocaleString("en")
  } connections; new peers wait until some leave. This system's open-file limit caps the tracker: raise it (LimitNOFILE= in its service, or ulimit -Hn as root before starting it) and restart the tracker.`;
}
