/**
 * The piece-hash lists the tracker holds, one per metadata variant (a
 * folder's with its manifest after the hashes, counted as hash bytes). A
 * typed array costs V8 about 500 bytes besides its contents, so small lists
 * (most files have few pieces) are packed into one shared buffer instead,
 * and only large ones keep an array of their own. The shared buffer is
 * rebuilt, live lists only, when it is full or mostly freed.
 *
 * @module
 */

/** Lists up to this many bytes (32 pieces) go into the shared buffer. */
export const POOLED_HASH_BYTES = 1024;
/** Smallest size of the shared buffer; also the waste tolerated before compacting. */
const INITIAL_POOL_BYTES = 64 * 1024;
/** Handles the pool makes room for before it first grows. */
const INITIAL_HANDLES = 1024;
/** Offset of a handle that holds nothing. */
const FREE = -2;
/** Offset of a handle whose list has an array of its own. */
const OWN = -1;
const EMPTY = new Uint8Array(0);

/**
 * Piece-hash lists by handle (a small integer the caller picks, e.g. a
 * variant's number).
 *
 * @example
 * ```ts
 * const pool = new HashPool();
 * pool.store(0, new Uint8Array(32));
 * pool.get(0).length; // 32
 * pool.free(0);
 * ```
 */
export class HashPool {
  #bytes = new Uint8Array(INITIAL_POOL_BYTES);
  #end = 0;
  #live = 0;
  #offsets = new Float64Array(INITIAL_HANDLES).fill(FREE);
  #lengths = new Int32Array(INITIAL_HANDLES);
  #own = new Map<number, Uint8Array>();

  /**
   * Keeps a copy of `hashes`, followed by `tail` if given (a folder's
   * manifest), as one list under `handle`, which must hold nothing.
   */
  store(handle: number, hashes: Uint8Array, tail: Uint8Array = EMPTY): void {
    if (handle >= this.#offsets.length) this.#growHandles(2 * handle);
    const length = hashes.length + tail.length;
    this.#lengths[handle] = length;
    if (length > POOLED_HASH_BYTES) {
      const own = new Uint8Array(length);
      own.set(hashes);
      own.set(tail, hashes.length);
      this.#own.set(handle, own);
      this.#offsets[handle] = OWN;
      return;
    }
    if (this.#end + length > this.#bytes.length) {
      this.#rebuild(Math.max(INITIAL_POOL_BYTES, 2 * (this.#live + length)));
    }
    this.#bytes.set(hashes, this.#end);
    this.#bytes.set(tail, this.#end + hashes.length);
    this.#offsets[handle] = this.#end;
    this.#end += length;
    this.#live += length;
  }

  /**
   * The list under `handle`, as a view that stays valid and unchanged even
   * after the handle is freed (the shared buffer is only ever replaced,
   * never overwritten). Read it, do not change it.
   */
  get(handle: number): Uint8Array {
    const offset = this.#offsets[handle];
    if (offset === OWN) return this.#own.get(handle)!;
    return this.#bytes.subarray(offset, offset + this.#lengths[handle]);
  }

  /** Bytes of the list under `handle`. */
  length(handle: number): number {
    return this.#lengths[handle];
  }

  /**
   * True if the list under `handle` has exactly the bytes of `hashes`
   * followed by those of `tail`.
   */
  equals(
    handle: number,
    hashes: Uint8Array,
    tail: Uint8Array = EMPTY,
  ): boolean {
    const length = this.#lengths[handle];
    if (length !== hashes.length + tail.length) return false;
    const offset = this.#offsets[handle];
    const bytes = offset === OWN ? this.#own.get(handle)! : this.#bytes;
    const start = offset === OWN ? 0 : offset;
    for (let i = 0; i < hashes.length; i++) {
      if (bytes[start + i] !== hashes[i]) return false;
    }
    const at = start + hashes.length;
    for (let i = 0; i < tail.length; i++) {
      if (bytes[at + i] !== tail[i]) return false;
    }
    return true;
  }

  /** Forgets the list under `handle`. */
  free(handle: number): void {
    const offset = this.#offsets[handle];
    this.#offsets[handle] = FREE;
    if (offset === OWN) {
      this.#own.delete(handle);
      return;
    }
    this.#live -= this.#lengths[handle];
    const wasted = this.#end - this.#live;
    if (wasted > INITIAL_POOL_BYTES && wasted > this.#live) {
      this.#rebuild(Math.max(INITIAL_POOL_BYTES, 2 * this.#live));
    }
  }

  /** Bytes the shared buffer takes, used or not. */
  get pooledCapacity(): number {
    return this.#bytes.length;
  }

  /** Copies the live lists into a new buffer of `capacity` bytes. */
  #rebuild(capacity: number): void {
    const next = new Uint8Array(capacity);
    let end = 0;
    for (let handle = 0; handle < this.#offsets.length; handle++) {
      const offset = this.#offsets[handle];
      if (offset < 0) continue;
      const length = this.#lengths[handle];
      next.set(this.#bytes.subarray(offset, offset + length), end);
      this.#offsets[handle] = end;
      end += length;
    }
    this.#bytes = next;
    this.#end = end;
  }

  #growHandles(length: number): void {
    const offsets = new Float64Array(length).fill(FREE);
    offsets.set(this.#offsets);
    this.#offsets = offsets;
    const lengths = new Int32Array(length);
    lengths.set(this.#lengths);
    this.#lengths = lengths;
  }
}
