/**
 * A second thread for SHA-256, so that the two hashes every byte needs (its
 * piece's and the whole file's) run on two cores at once. To share a file,
 * the thread reads the file itself for the piece hashes. For a download,
 * the thread follows the verified pieces with the whole-file hash in file
 * order and writes them to the part file in that order: the caller hands
 * over the piece buffers (moved, not copied) and gets them back with an
 * answer, and its own thread is free for the network and the piece hashes.
 *
 * @module
 */

import type {
  FilePiecesJob,
  HashReply,
  HashRequest,
  PartTarget,
} from "./hash_worker.ts";

/** Files with fewer pieces are hashed on the caller's thread (a Worker costs a start-up). */
export const THREAD_MIN_PIECES = 16;

/** Writing a piece to the part file failed; the message is the system's. */
export class PartWriteError extends Error {}

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
      if ("writeError" in event.data) {
        pending?.reject(new PartWriteError(event.data.writeError));
      } else if ("error" in event.data) {
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
   * Hashes pieces of the file at `path`, which the thread opens and reads
   * itself, alongside the caller: each piece is hashed by whoever claims it
   * in `job.claims`, and its SHA-256 goes to `job.digests`. Resolves once no
   * piece is left unclaimed, to how many pieces the thread hashed, or to
   * `undefined` if the file at `path` is not the one `job.expect` describes
   * or changed.
   */
  async filePieces(
    path: string,
    job: FilePiecesJob,
  ): Promise<number | undefined> {
    const reply = await this.#ask({ op: "file", path, ...job }, []);
    return "changed" in reply
      ? undefined
      : (reply as { hashed: number }).hashed;
  }

  /**
   * Opens a download's part file (which must exist) for {@linkcode store}
   * and {@linkcode present}; the whole-file hash starts at piece 0.
   */
  async openPart(target: PartTarget): Promise<void> {
    await this.#ask({ op: "open", ...target }, []);
  }

  /**
   * Hands verified pieces to the thread for the open part file,
   * `pieces[i]` at index `indexes[i]`; it feeds the whole-file hash every
   * piece it has from its cursor on and writes the pieces hashed. A piece
   * ahead of the hash is kept, unwritten, until the hash reaches it (or
   * until too many are kept, or {@linkcode flush}). Resolves to the pieces
   * written now and the buffers the thread is done with, from this call or
   * an earlier one; rejects with {@linkcode PartWriteError} if a write
   * fails. Each piece must be a view at the start of its own `ArrayBuffer`:
   * the buffer moves to the thread and is unusable here until it comes back.
   */
  async store(indexes: number[], pieces: Uint8Array[]): Promise<StoreAnswer> {
    const buffers = pieces.map(owned);
    const lengths = pieces.map((piece) => piece.length);
    return answerOf(
      await this.#ask({ op: "store", indexes, buffers, lengths }, buffers),
    );
  }

  /**
   * Counts pieces already in the part file (a resumed download) as stored;
   * resolves as {@linkcode store} does.
   */
  async present(indexes: number[]): Promise<StoreAnswer> {
    return answerOf(await this.#ask({ op: "present", indexes }, []));
  }

  /**
   * Writes every piece the thread keeps ahead of the hash (the download
   * stops); resolves as {@linkcode store} does.
   */
  async flush(): Promise<StoreAnswer> {
    return answerOf(await this.#ask({ op: "flush" }, []));
  }

  /**
   * The whole-file SHA-256 of the open part file as hex, once every piece
   * is stored; the thread closes the file.
   */
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
      try {
        this.#worker.postMessage({ ...request, seq }, transfer);
      } catch (error) {
        this.#pending.delete(seq);
        reject(error);
      }
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/** What the thread did with the pieces handed to it. */
export interface StoreAnswer {
  /** Pieces now on disk, which may be read back and served. */
  written: number[];
  /** Piece buffers the thread is done with. */
  buffers: Uint8Array<ArrayBuffer>[];
}

function answerOf(reply: HashReply): StoreAnswer {
  const { buffers, written } = reply as {
    buffers: ArrayBuffer[];
    written: number[];
  };
  return {
    written,
    buffers: buffers.map((buffer) => new Uint8Array(buffer)),
  };
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
