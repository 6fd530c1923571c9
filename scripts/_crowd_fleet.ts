/**
 * A crowd (`_crowd.ts`) split over child processes, so that no process
 * holds a hundred thousand sockets: each child opens its share of the
 * peers (its own global indices, so source addresses do not repeat),
 * answers `stats` and `reset` lines on its standard input with one JSON
 * line on its standard output, and closes its peers and exits when its
 * input ends. A child that needs more file
 * descriptors than this process may open is started through
 * `prlimit --nofile=N:N` where that is allowed (root with CAP_SYS_RESOURCE;
 * Deno raises its soft limit to the hard one at start).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  Crowd,
  type CrowdOptions,
  type CrowdStats,
  mergeStats,
} from "./_crowd.ts";
import {
  type LineChild,
  lines,
  openChildren,
  shares,
  spawnLineChild,
} from "./line_children.ts";

/** Descriptors a child needs beyond one per peer. */
const SPARE_FDS = 256;
/** Longest a child may take to answer a line (opening excepted). */
const ANSWER_TIMEOUT_MS = 30_000;

/** Options for {@linkcode CrowdFleet.open}. */
export interface FleetOptions extends CrowdOptions {
  /** Child processes the peers are split over. */
  processes: number;
  /**
   * Their `nice` value: above 0, the tracker and whoever measures it get
   * the CPU first, as if the crowd ran on machines of its own. @default {0}
   */
  nice?: number;
}

/** The open-file limit (soft) of this process, from /proc/self/limits; Infinity if unknown. */
export function openFileLimit(): number {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\d+)/m.exec(text);
    return match ? Number(match[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

/** True when this process runs as root (and may raise a child's hard limit). */
export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/**
 * The command line that runs `args` (a Deno command line) with at least
 * `fds` open files: through `prlimit` if the limit is lower; undefined if
 * it is lower and cannot be raised here.
 */
export function withOpenFiles(
  fds: number,
  args: string[],
): { command: string; args: string[] } | undefined {
  if (fds <= openFileLimit()) return { command: Deno.execPath(), args };
  if (!canRaiseOpenFiles(fds)) return undefined;
  return {
    command: "prlimit",
    args: [`--nofile=${fds}:${fds}`, Deno.execPath(), ...args],
  };
}

/**
 * True if `prlimit --nofile=fds:fds` works here: root, and allowed to
 * raise the hard limit (a container without CAP_SYS_RESOURCE is not).
 */
export function canRaiseOpenFiles(fds: number): boolean {
  if (!isRoot()) return false;
  try {
    const { success } = new Deno.Command("prlimit", {
      args: [`--nofile=${fds}:${fds}`, "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return success;
  } catch {
    return false;
  }
}

/** A crowd spread over child processes; see the module documentation. */
export class CrowdFleet {
  #parts: LineChild[];

  private constructor(parts: LineChild[]) {
    this.#parts = parts;
  }

  /**
   * Starts `options.processes` children, each opening its share of
   * `options.peers`; resolves once all have opened (or given up on) theirs.
   * Throws if a child needs more open files than this process may grant.
   */
  static async open(options: FleetOptions): Promise<CrowdFleet> {
    const { processes, nice, ...crowd } = options;
    const children = await openChildren(
      shares(crowd.peers, processes, crowd.peerOffset ?? 0),
      ({ count, offset }) =>
        spawnPart({ ...crowd, peers: count, peerOffset: offset }, nice),
      (crowd.openTimeoutMs ?? 60_000) + ANSWER_TIMEOUT_MS,
    );
    return new CrowdFleet(children);
  }

  /** Process IDs of the children. */
  get pids(): number[] {
    return this.#parts.map((part) => part.pid);
  }

  /** The whole crowd's stats. */
  async stats(): Promise<CrowdStats> {
    const all = await Promise.all(
      this.#parts.map((part) =>
        part.ask<CrowdStats>("stats", ANSWER_TIMEOUT_MS)
      ),
    );
    return all.reduce(mergeStats);
  }

  /** Forgets latencies and counts in every child. */
  async resetCounts(): Promise<void> {
    await Promise.all(
      this.#parts.map((part) => part.ask("reset", ANSWER_TIMEOUT_MS)),
    );
  }

  /** Closes every peer and waits for the children to exit. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#parts.map((part) => part.stop()));
  }
}

function spawnPart(options: CrowdOptions, nice = 0): LineChild {
  const script = fileURLToPath(import.meta.url);
  const run = withOpenFiles(options.peers + SPARE_FDS, [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-sys",
    script,
    JSON.stringify(options),
  ]);
  if (!run) {
    throw new RangeError(
      `A crowd child of ${options.peers} peers needs ${
        options.peers + SPARE_FDS
      } open files; the limit is ${openFileLimit()} and it cannot be raised here`,
    );
  }
  return spawnLineChild(run.command, run.args, {
    label: "Crowd child",
    stopMs: ANSWER_TIMEOUT_MS,
    nice,
  });
}

/** The child: opens its crowd, then answers lines until its input ends. */
async function child(options: CrowdOptions): Promise<void> {
  const crowd = await Crowd.open(options);
  const say = (value: unknown) => console.log(JSON.stringify(value));
  say(crowd.stats());
  for await (const line of lines(Deno.stdin.readable)) {
    if (line === "stats") say(crowd.stats());
    else if (line === "reset") {
      crowd.resetCounts();
      say({ reset: true });
    }
  }
  crowd.close();
}

if (import.meta.main) {
  await child(JSON.parse(Deno.args[0]));
  Deno.exit(0);
}
