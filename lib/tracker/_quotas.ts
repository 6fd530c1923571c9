/**
 * The registry's quotas on registrations and metadata bytes, per host and
 * in all, checked before a registration is added.
 *
 * @module
 */

import type { FileMeta } from "../protocol/messages.ts";
import type { HostTable } from "./hosts.ts";
import type { FileTable } from "./_file_table.ts";
import type { PeerTable } from "./_peer_table.ts";
import { RegistryError, type TrackerServiceOptions } from "./registry_types.ts";

/** Every quota of the public registry, with its defaults filled in. */
export type Quotas = Required<
  Omit<TrackerServiceOptions, "ttlMs" | "now" | "sealed">
>;

/** The tables a quota counts in. */
export interface QuotaTables {
  files: FileTable;
  hosts: HostTable;
  peers: PeerTable;
}

/** One registration about to be added. */
export interface Newcomer {
  /** Its metadata: piece hashes and (a folder's) manifest count as bytes. */
  meta: FileMeta;
  /** The host registering. */
  hostName: string;
  /** Ports the host already registered for this file. */
  ports: number;
  /** True if it brings metadata the tracker does not hold yet. */
  newVariant: boolean;
}

/**
 * Throws {@linkcode RegistryError} `busy` if adding `newcomer` would pass a
 * quota: registrations in all or per host, ports per host and file, or
 * metadata bytes in all or per host.
 */
export function checkQuotas(
  quotas: Quotas,
  tables: QuotaTables,
  newcomer: Newcomer,
): void {
  const { files, hosts, peers } = tables;
  const { meta, hostName, ports, newVariant } = newcomer;
  const host = hosts.find(hostName);
  const bytes = meta.pieceHashes.length + (meta.manifest?.length ?? 0);
  const over = peers.count >= quotas.maxRegistrations ||
    (newVariant && files.hashBytes + bytes > quotas.maxHashBytes) ||
    hosts.registrations(host) >= quotas.maxRegistrationsPerHost ||
    ports >= quotas.maxPortsPerHostPerFile ||
    (ports === 0 && hosts.hashBytes(host) + bytes > quotas.maxHashBytesPerHost);
  if (over) {
    throw new RegistryError(
      "busy",
      `The tracker is holding all the registrations it allows from ${hostName}; try again later.`,
    );
  }
}
