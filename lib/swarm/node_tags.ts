/**
 * A peer server's tag for each file it serves, sent in `welcome`: the same
 * on every connection to this server, whatever address the downloader
 * reached it at, so a downloader that found it at two (its LAN address and
 * its router's, say) keeps one connection and counts one peer. Keyed by a
 * random key per server and run, and by the file: a tag links nothing
 * across files or runs.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { NODE_TAG_CHARS } from "../protocol/limits.ts";

/** Bytes of the key tags are made with. */
const KEY_BYTES = 32;

/** See the module documentation. */
export class NodeTags {
  #key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));

  /** This server's tag for the file with full ID `id`. */
  of(id: string): string {
    return createHmac("sha256", this.#key).update(id).digest("hex")
      .slice(0, NODE_TAG_CHARS);
  }
}
