/**
 * A tracker and sharers started in a network lab's sharer namespace
 * (`scripts/netlab.ts`), as the tests of emulated links use them.
 *
 * @module
 */

import { type Child, READY_TIMEOUT_MS } from "../scripts/_child.ts";
import type { NetLab } from "../scripts/netlab.ts";

/** A sharer in the lab, once it serves. */
export interface LabSharer {
  child: Child;
  /** The shared file's ID. */
  id: string;
  /** `host:port` it serves on. */
  address: string;
  port: number;
}

/** A tracker in the lab's sharer namespace; resolves to its `host:port`. */
export async function startLabTracker(
  lab: NetLab,
  extra: string[] = [],
): Promise<string> {
  const child = lab.spawnEntry("sharer", "tracker.ts", [
    "--host",
    lab.host("sharer"),
    "--port",
    "0",
    ...extra,
  ]);
  const line = await child.waitForLine(/listening on/, READY_TIMEOUT_MS);
  return line.slice(line.lastIndexOf(" ") + 1);
}

/** `peer share --json` of `file` (and `extra` flags) in the sharer namespace, once it serves. */
export async function startLabSharer(
  lab: NetLab,
  file: string,
  tracker: string,
  extra: string[] = [],
): Promise<LabSharer> {
  const child = lab.spawnEntry("sharer", "peer.ts", [
    "share",
    file,
    "--json",
    "--tracker",
    tracker,
    "--host",
    lab.host("sharer"),
    "--port",
    "0",
    ...extra,
  ]);
  const ready = JSON.parse(await child.waitForLine(/^\{/, READY_TIMEOUT_MS));
  const port = Number(ready.address.slice(ready.address.lastIndexOf(":") + 1));
  return { child, id: ready.id, address: ready.address, port };
}
