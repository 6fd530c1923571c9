/**
 * Asking a peer for a file's metadata (`meta-request`), when no tracker
 * gave it: the peer was found on the LAN or in the DHT, which carry only
 * addresses. The answer is checked to be the file asked for, as a
 * tracker's is; its piece hashes, like a tracker's, are proven only by the
 * pieces and the whole-file hash.
 *
 * @module
 */

import { type Address, connect, formatAddress } from "../net/connection.ts";
import type { FileMeta } from "../protocol/messages.ts";

/** Ms a peer has to answer a `meta-request`, connection included. */
export const META_TIMEOUT_MS = 10_000;

/** Options for {@linkcode fetchMeta}. */
export interface FetchMetaOptions {
  /** A private share's key, proven in the handshake. @default {a public file} */
  psk?: Uint8Array;
  /** Only a file whose ID starts with this is accepted (a private link's short ID). */
  idPrefix?: string;
  /** Gives up at once when aborted. */
  signal?: AbortSignal;
  /** Ms for the whole exchange. @default {META_TIMEOUT_MS} */
  timeoutMs?: number;
}

/** A peer that would not, or could not, give the metadata asked for. */
export class MetaFetchError extends Error {
  /** Creates an error about the peer at `address`. */
  constructor(address: Address, reason: string, options?: ErrorOptions) {
    super(`${formatAddress(address)} gave no metadata: ${reason}.`, options);
    this.name = "MetaFetchError";
  }
}

/**
 * The metadata of file `id` (a full ID, or a private share's lookup key
 * with `psk`) from the peer at `address`. Rejects with a
 * {@linkcode MetaFetchError} when it does not share it, answers with
 * another file, or does not answer in time.
 */
export async function fetchMeta(
  address: Address,
  id: string,
  options: FetchMetaOptions = {},
): Promise<FileMeta> {
  const timeoutMs = options.timeoutMs ?? META_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal
    ? AbortSignal.any([options.signal, timeout])
    : timeout;
  let conn;
  try {
    conn = await connect(address, { psk: options.psk, signal, timeoutMs });
  } catch (error) {
    options.signal?.throwIfAborted();
    throw new MetaFetchError(address, "cannot connect", { cause: error });
  }
  try {
    await conn.send({ type: "meta-request", id });
    const answer = await conn.receive({ deadlineMs: timeoutMs });
    if (answer?.type !== "meta") {
      throw new MetaFetchError(
        address,
        answer?.type === "error" ? "it does not share that file" : "no answer",
      );
    }
    const { meta } = answer;
    const wanted = options.psk ? options.idPrefix ?? "" : id;
    if (!meta.id.startsWith(wanted)) {
      throw new MetaFetchError(address, "it answered with another file");
    }
    return meta;
  } catch (error) {
    options.signal?.throwIfAborted();
    if (error instanceof MetaFetchError) throw error;
    throw new MetaFetchError(address, "no answer", { cause: error });
  } finally {
    conn.close();
  }
}
