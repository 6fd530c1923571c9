/**
 * The DHT's routing table kept between runs: a small JSON file in the
 * peer's data folder (this node's ID and the nodes it knew), read at start
 * so a restart rejoins at once, written on close through a temporary file
 * and a rename. A file that is missing, too big or not one is ignored.
 *
 * @module
 */

import type { DhtEndpoint } from "./_dht_guard.ts";
import { isIpv4 } from "../util/ipv4.ts";

/** Most nodes saved to, and read from, the nodes file. */
export const MAX_SAVED_NODES = 256;
/** Largest nodes file read. */
export const MAX_NODES_FILE_BYTES = 64 * 1024;

/** What a nodes file holds. */
export interface SavedTable {
  id?: string;
  nodes: DhtEndpoint[];
}

const KEY = /^[0-9a-fA-F]{40}$/;

/** The saved table in `path`; undefined (logged unless missing) when it cannot be used. */
export async function readNodes(
  path: string,
  log: (line: string) => void,
): Promise<SavedTable | undefined> {
  let text;
  try {
    const info = await Deno.stat(path);
    if (info.size > MAX_NODES_FILE_BYTES) {
      log(
        `Ignoring saved DHT nodes in ${path}: over ${MAX_NODES_FILE_BYTES} bytes.`,
      );
      return undefined;
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      log(`Ignoring saved DHT nodes in ${path}: ${message(error)}`);
    }
    return undefined;
  }
  const saved = parseNodes(text);
  if (!saved) log(`Ignoring saved DHT nodes in ${path}: not a nodes file.`);
  return saved;
}

/** A nodes file's contents checked: the ID if sound, the sound IPv4 nodes (at most MAX_SAVED_NODES). */
function parseNodes(text: string): SavedTable | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const table = value as { id?: unknown; nodes?: unknown };
  if (typeof table !== "object" || !table || !Array.isArray(table.nodes)) {
    return undefined;
  }
  const nodes = (table.nodes as unknown[]).filter(
    (node): node is DhtEndpoint => {
      const { host, port } = (node ?? {}) as Record<string, unknown>;
      return typeof host === "string" && isIpv4(host) &&
        Number.isInteger(port) && (port as number) >= 1 &&
        (port as number) <= 65535;
    },
  ).slice(0, MAX_SAVED_NODES).map(({ host, port }) => ({ host, port }));
  const id = typeof table.id === "string" && KEY.test(table.id)
    ? table.id.toLowerCase()
    : undefined;
  return { id, nodes };
}

/** Writes `table` to `path` through a temporary file and a rename; logs, never throws. */
export async function saveNodes(
  path: string,
  table: SavedTable,
  log: (line: string) => void,
): Promise<void> {
  if (table.nodes.length === 0) return; // keep what an earlier run saved
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temporary, JSON.stringify(table) + "\n");
    await Deno.rename(temporary, path);
  } catch (error) {
    log(`Cannot save DHT nodes to ${path}: ${message(error)}`);
    await Deno.remove(temporary).catch(() => {});
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
