/**
 * A second thread for SHA-256, so that the two hashes every byte needs (its
 * piece's and the whole file's) run on two cores at once. The caller hands
 * over buffers (moved, not copied) and gets them back with the answer.
 *
 * @module
 */

import type { HashReply, HashRequest } from "./hash_worker.ts";

/** Files with fewer pieces are hashed on the caller's thread (a Worker costs a start-up). */
export const THREAD_MIN_PIECES = 16;

type Pending = {
  resolve: (reply: HashReply) => void;
  reject: (error: Error) => void;
};

/** One hashing Worker and the requests waiting for its answers. */
export class HashThread {
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #seq = 0;
  #failure?: Error;

  /** Starts the thread; {@linkcode close} it when done. */
  constructor() {
    this.#worker = new Worker(new URL("./hash_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent<HashReply>) => {
      const pending = this.#pending.get(event.data.seq);
      this.#pending.delete(event.data.seq);
      if ("error" in event.data) {
        pending?.reject(new Error(`Hashing failed: ${event.data.error}`));
      } else {
        pending?.resolve(event.data);
      }
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(new Error(`Hashing thread failed: ${event.message}`));
    };
  }

  /**
   * The SHA-256 of each `pieceSize` slice of `bytes` (concatenated), computed
   * on the thread. `bytes` must be the only view of its buffer in use
   * meanwhile: the buffer moves to the thread and comes back as `buffer`
   * (same length and contents).
   */
  async pieces(
    bytes: Uint8Array,
    pieceSize: number,
  ): Promise<{ digests: Uint8Array; buffer: Uint8Array<ArrayBuffer> }> {
    const length = bytes.length;
    const reply = await this.#ask(
      { op: "pieces", buffer: owned(bytes), length, pieceSize },
      [owned(bytes)],
    ) as { digests: ArrayBuffer; buffer: ArrayBuffer };
    return {
      digests: new Uint8Array(reply.digests),
      buffer: new Uint8Array(reply.buffer, 0, length),
    };
  }

  /**
   * Feeds `chunks` to the thread's running hash (in call order); resolves to
   * the same buffers once hashed. The same ownership rule as
   * {@linkcode pieces}, for each chunk.
   */
  async update(chunks: Uint8Array[]): Promise<Uint8Array<ArrayBuffer>[]> {
    const buffers = chunks.map(owned);
    const lengths = chunks.map((chunk) => chunk.length);
    const reply = await this.#ask(
      { op: "update", buffers, lengths },
      buffers,
    ) as {
      buffers: ArrayBuffer[];
    };
    return reply.buffers.map((buffer, i) =>
      new Uint8Array(buffer, 0, lengths[i])
    );
  }

  /** The running hash as hex; the thread starts a new one. */
  async digestHex(): Promise<string> {
    const reply = await this.#ask({ op: "digest" }, []) as { hex: string };
    return reply.hex;
  }

  /** Stops the thread; unanswered requests reject. */
  close(): void {
    this.#worker.terminate();
    this.#fail(new Error("Hashing thread closed"));
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #ask(
    request: DistributiveOmit<HashRequest, "seq">,
    transfer: Transferable[],
  ): Promise<HashReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = this.#seq++;
    return new Promise<HashReply>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.#worker.postMessage({ ...request, seq }, transfer);
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/** The buffer under a view that starts at its beginning. */
function owned(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset !== 0 || !(bytes.buffer instanceof ArrayBuffer)) {
    throw new TypeError("Only a view at the start of its own buffer can move");
  }
  return bytes.buffer;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K>
  : never;
