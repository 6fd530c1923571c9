/**
 * The registry's public vocabulary: its quotas, the error it refuses with,
 * and the options and answers of {@linkcode TrackerService}'s methods
 * (`service.ts` re-exports all of it).
 *
 * @module
 */

import type {
  ErrorCode,
  FileList,
  FileMeta,
  PeerAddress,
  TrackerStats,
} from "../protocol/messages.ts";
import type { Session } from "./_sessions.ts";

/** Most (file, port) registrations one host may hold at once. */
export const MAX_REGISTRATIONS_PER_HOST = 10_000;
/** Most ports one host may register for one file (several peers behind one NAT). */
export const MAX_PORTS_PER_HOST_PER_FILE = 32;
/** Most piece-hash bytes the files one host registers may add up to: 128 MiB. */
export const MAX_HASH_BYTES_PER_HOST = 128 * 1024 * 1024;
/** Most piece-hash bytes the tracker holds in total: 512 MiB. */
export const MAX_TRACKER_HASH_BYTES = 512 * 1024 * 1024;
/** Most registrations the tracker holds in total. */
export const MAX_REGISTRATIONS = 1_000_000;
/** Most private (sealed) registrations one host may hold at once. */
export const MAX_SEALED_REGISTRATIONS_PER_HOST = 10_000;
/** Most sealed-metadata bytes the private files one host registered first may add up to: 128 MiB. */
export const MAX_SEALED_BYTES_PER_HOST = 128 * 1024 * 1024;
/** Most sealed-metadata bytes the tracker holds in total: 512 MiB. */
export const MAX_TRACKER_SEALED_BYTES = 512 * 1024 * 1024;
/** Most private registrations the tracker holds in total (each is an object, so fewer than public ones). */
export const MAX_SEALED_REGISTRATIONS = 100_000;

/** A request the registry refuses; `code` goes into the `error` reply. */
export class RegistryError extends Error {
  /** The protocol error code for this refusal. */
  readonly code: ErrorCode;
  /** For `ambiguous`: the files the prefix matches (with `more`). */
  readonly candidates?: FileList;

  /** Creates a refusal with a code and a one-sentence message. */
  constructor(code: ErrorCode, message: string, candidates?: FileList) {
    super(message);
    this.name = "RegistryError";
    this.code = code;
    if (candidates) this.candidates = candidates;
  }
}

/** Options for {@linkcode TrackerService}. */
export interface TrackerServiceOptions {
  /** Ms a registration lives unless renewed. @default {REGISTRATION_TTL_MS} */
  ttlMs?: number;
  /** The clock, in ms. @default {performance.now} */
  now?: () => number;
  /** @default {MAX_REGISTRATIONS_PER_HOST} */
  maxRegistrationsPerHost?: number;
  /** @default {MAX_PORTS_PER_HOST_PER_FILE} */
  maxPortsPerHostPerFile?: number;
  /** @default {MAX_HASH_BYTES_PER_HOST} */
  maxHashBytesPerHost?: number;
  /** @default {MAX_TRACKER_HASH_BYTES} */
  maxHashBytes?: number;
  /** @default {MAX_REGISTRATIONS} */
  maxRegistrations?: number;
  /** @default {MAX_VARIANTS_PER_FILE} */
  maxVariants?: number;
  /** Quotas on private files (`maxPortsPerHostPerFile` applies to them too). @default {the MAX_SEALED_* and MAX_TRACKER_SEALED_BYTES constants} */
  sealed?: SealedQuotas;
}

/** Quotas on private (sealed) registrations, in {@linkcode TrackerServiceOptions}. */
export interface SealedQuotas {
  /** Private registrations per host. @default {MAX_SEALED_REGISTRATIONS_PER_HOST} */
  maxRegistrationsPerHost?: number;
  /** Sealed-metadata bytes per host (blobs it registered first). @default {MAX_SEALED_BYTES_PER_HOST} */
  maxBytesPerHost?: number;
  /** Sealed-metadata bytes in total. @default {MAX_TRACKER_SEALED_BYTES} */
  maxBytes?: number;
  /** Private registrations in total. @default {MAX_SEALED_REGISTRATIONS} */
  maxRegistrations?: number;
}

/** Options for {@linkcode TrackerService.register}. */
export interface RegisterOptions {
  /**
   * The connection the request came over: when it closes
   * ({@linkcode TrackerService.closeSession}) the registration goes, unless
   * a newer one renewed it since. @default {undefined} (only expiry and
   * `unregister` remove it)
   */
  session?: Session;
  /** The peer holds only part of the file: it is downloading it. @default {false} */
  partial?: boolean;
  /**
   * Not shown in `list` or `search` on this peer's account: a file listed
   * only by unlisted registrations is found by its ID alone. @default {false}
   */
  unlisted?: boolean;
}

/** Options for {@linkcode TrackerService.announce}. */
export interface AnnounceOptions {
  /** The connection the renewals came over, as in {@linkcode RegisterOptions}. @default {undefined} */
  session?: Session;
}

/** The counters of {@linkcode TrackerStats} the registry knows. */
export type RegistryStats = Pick<
  TrackerStats,
  "files" | "peers" | "registrations"
>;

/** A `query-sealed` answer: a private file's blob and its live peers. */
export interface SealedQueryResult {
  /** The sealed metadata as first registered (the registry's own: do not change it). */
  blob: Uint8Array;
  /** Live peers, freshest first, at most MAX_PEERS_PER_ANSWER. */
  peers: PeerAddress[];
  /** Of `peers`, how many hold only part of the file. */
  partial: number;
}

/** A `query` answer: one variant of a file and its live peers. */
export interface QueryResult {
  /** The variant's metadata (the registry's own: read it, do not change it). */
  meta: FileMeta;
  /** Live peers, freshest first, at most MAX_PEERS_PER_ANSWER. */
  peers: PeerAddress[];
  /** Which variant this is, 0 for the best supported. */
  variant: number;
  /** How many variants the file has (at least 1). */
  variants: number;
}
