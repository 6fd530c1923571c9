/**
 * The files a peer node shares privately: for each, the share link's
 * secret, the keys derived from it (the lookup key the tracker knows it by,
 * the key that sealed its metadata, the handshake's pre-shared key) and the
 * sealed metadata registered at the tracker.
 *
 * @module
 */

import type { PrivateAccess } from "../download/download.ts";
import type { NamedKey } from "../net/secure_transport.ts";
import type { FileMeta } from "../protocol/messages.ts";
import { encodeSealedMeta } from "../protocol/sealed_meta.ts";
import { generateShareSecret } from "../protocol/share_link.ts";
import {
  deriveShareKeys,
  sealMetadata,
  type ShareKeys,
} from "../secure/share_keys.ts";

/** A file shared privately. */
export interface PrivateShare extends PrivateAccess {
  /** What derives from the secret. */
  keys: ShareKeys;
}

/** Private shares by file ID. */
export class PrivateShares {
  #byId = new Map<string, PrivateShare>();

  /** The private share of `id`, if it is one. */
  get(id: string): PrivateShare | undefined {
    return this.#byId.get(id);
  }

  /** The share of `meta`, made with a new secret if it has none yet. */
  getOrCreate(meta: FileMeta): PrivateShare {
    const known = this.#byId.get(meta.id);
    if (known) return known;
    const secret = generateShareSecret();
    const keys = deriveShareKeys(secret);
    const blob = sealMetadata(keys.metadataKey, encodeSealedMeta(meta));
    return this.keep(meta.id, { secret, blob });
  }

  /** Remembers a private share found by a download (its secret and blob). */
  keep(id: string, access: PrivateAccess): PrivateShare {
    const share = { ...access, keys: deriveShareKeys(access.secret) };
    this.#byId.set(id, share);
    return share;
  }

  /** Forgets `id`; resolves to what it was. */
  delete(id: string): PrivateShare | undefined {
    const share = this.#byId.get(id);
    this.#byId.delete(id);
    return share;
  }

  /** The file ID of the share whose lookup key is `lookup`, if there is one. */
  idOf(lookup: string): string | undefined {
    for (const [id, { keys }] of this.#byId) {
      if (keys.lookupKey === lookup) return id;
    }
    return undefined;
  }

  /** Every share's handshake key, named by its lookup key. */
  *keys(): Iterable<NamedKey> {
    for (const { keys } of this.#byId.values()) {
      yield { psk: keys.psk, name: keys.lookupKey };
    }
  }
}
