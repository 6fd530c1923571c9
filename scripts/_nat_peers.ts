/**
 * Real `tracker`, `peer share` and `peer get` processes on the hosts of a
 * NAT lab (`natlab.ts`), for the NAT tests and the NAT bench: each starts
 * the entry file on a host, waits until it is ready, and reads back what it
 * printed. Ports are fixed: each host has a namespace of its own.
 *
 * @example
 * ```ts
 * await using lab = await NatLab.create({
 *   publicHosts: ["tracker", "pub"],
 *   nats: [{ name: "home" }],
 * });
 * const tracker = await startLabTracker(lab, "tracker");
 * const sharer = await startLabSharer(lab, "home", file, tracker);
 * const { report } = await labGet(lab, "pub", sharer.id, tracker, out);
 * // report.peers[0].via === "punched"
 * ```
 *
 * @module
 */

import type { LinkRoute } from "../lib/swarm/link_route.ts";
import {
  type Child,
  getArgs,
  READY_TIMEOUT_MS,
  type RunResult,
} from "./_child.ts";
import type { NatLab } from "./natlab.ts";

/** The tracker's port in its namespace (the lab's own, so fixed is safe). */
export const LAB_TRACKER_PORT = 5000;
/** A sharer's port in its namespace. */
export const LAB_SHARER_PORT = 6000;
/** Longest a get may take, unless told otherwise, before it is killed. */
export const LAB_GET_TIMEOUT_MS = 60_000;

/**
 * Starts the tracker (and its relay, unless `extra` has `--no-relay`) on
 * `host`, with `extra` arguments; resolves to its `host:port` once it
 * listens.
 */
export async function startLabTracker(
  lab: NatLab,
  host: string,
  extra: string[] = [],
): Promise<string> {
  const child = lab.spawnEntry(host, "tracker.ts", [
    "--port",
    String(LAB_TRACKER_PORT),
    ...extra,
  ]);
  await child.waitForLine(/^Tracker listening on/, READY_TIMEOUT_MS);
  if (!extra.includes("--no-relay")) {
    await child.waitForLine(/^Relay listening on/, READY_TIMEOUT_MS);
  }
  return `${lab.host(host)}:${LAB_TRACKER_PORT}`;
}

/** A started sharer: its file's ID and what the tracker said of its reach. */
export interface LabSharer {
  /** The shared file's ID. */
  id: string;
  /** Whether the tracker could connect to it. */
  reachable: boolean;
  /** Its address as the tracker saw it (its router's, behind a NAT). */
  observed: string;
  /** The `host:port` its router forwards to it, if it mapped a port. */
  mapped?: string;
  /** How it mapped that port (UPnP, NAT-PMP, PCP), if it did. */
  method?: string;
  /** The `peer share` process; the lab stops it when it closes. */
  child: Child;
}

/**
 * `peer share --json --verbose` of `file` on `host`, port
 * {@linkcode LAB_SHARER_PORT}, with `extra` arguments (e.g. `--piece-size
 * 16K`); resolves once the tracker has said whether it is reachable (else a
 * get at once would find it unjudged).
 */
export async function startLabSharer(
  lab: NatLab,
  host: string,
  file: string,
  tracker: string,
  extra: string[] = [],
): Promise<LabSharer> {
  const child = lab.spawnEntry(host, "peer.ts", [
    "share",
    file,
    "--json",
    "--verbose",
    "--tracker",
    tracker,
    "--port",
    String(LAB_SHARER_PORT),
    ...extra,
  ]);
  const { id } = JSON.parse(
    await child.waitForLine(/^\{"id"/, READY_TIMEOUT_MS),
  );
  const reach = JSON.parse(
    await child.waitForLine(/"event":"reachability"/, READY_TIMEOUT_MS),
  );
  return {
    id,
    reachable: reach.reachable,
    observed: reach.observed,
    mapped: reach.mapped,
    method: reach.method,
    child,
  };
}

/** One peer of a get's report (`peers` in `peer get --json`). */
export interface LabPeerReport {
  /** The peer as `host:port`. */
  address: string;
  /** Piece bytes received from it. */
  bytes: number;
  /** How its last link reached it, if one connected. */
  via?: LinkRoute;
  /** Why its last link ended early, if it did. */
  error?: string;
}

/** The last line of `peer get --json`: where the file went, and how. */
export interface LabGetReport {
  /** Where the verified file was saved. */
  path: string;
  /** Ms from the get's start to the verified file. */
  elapsedMs: number;
  /** Ms from its start to the first verified piece, if it fetched any. */
  firstPieceMs?: number;
  /** Every peer it linked or tried. */
  peers: LabPeerReport[];
}

/** Options for {@linkcode labGet}. */
export interface LabGetOptions {
  /** More arguments for `peer get` (e.g. `--port 7000`). @default {[]} */
  args?: string[];
  /** Ms before the get is killed. @default {LAB_GET_TIMEOUT_MS} */
  timeoutMs?: number;
}

/**
 * Runs `peer get --json --wait 0` of `id` on `host` into `out`; its output
 * and final report. Rejects, with its stderr, if it does not exit 0.
 */
export async function labGet(
  lab: NatLab,
  host: string,
  id: string,
  tracker: string,
  out: string,
  options: LabGetOptions = {},
): Promise<{ result: RunResult; report: LabGetReport }> {
  const result = await lab.runEntry(
    host,
    "peer.ts",
    getArgs(id, tracker, out, options.args),
    { timeoutMs: options.timeoutMs ?? LAB_GET_TIMEOUT_MS },
  );
  if (result.code !== 0) {
    throw new Error(
      `peer get on "${host}" failed (exit ${result.code}): ${result.stderr}`,
    );
  }
  const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  return { result, report };
}
