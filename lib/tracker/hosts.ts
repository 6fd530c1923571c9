/**
 * The hosts that hold registrations on the tracker, each interned once as a
 * small number, with its counters in typed arrays: the registry stores that
 * number beside every registration instead of the host's string, and a host
 * with nothing registered is forgotten so its number can be reused.
 *
 * @module
 */

/** Hosts the table makes room for before it first grows. */
const INITIAL_HOSTS = 64;

/** Interned host strings with per-host registration and piece-hash counters. */
export class HostTable {
  #index = new Map<string, number>();
  #names: string[] = [];
  #free: number[] = [];
  #registrations = new Int32Array(INITIAL_HOSTS);
  #hashBytes = new Float64Array(INITIAL_HOSTS);

  /** The number of `host`, or -1 if it holds nothing. */
  find(host: string): number {
    return this.#index.get(host) ?? -1;
  }

  /** The number of `host`, giving it one if it has none. */
  intern(host: string): number {
    const known = this.#index.get(host);
    if (known !== undefined) return known;
    const index = this.#free.pop() ?? this.#names.length;
    if (index >= this.#registrations.length) this.#grow(2 * index);
    this.#names[index] = host;
    this.#registrations[index] = 0;
    this.#hashBytes[index] = 0;
    this.#index.set(host, index);
    return index;
  }

  /** The host string of number `index`. */
  name(index: number): string {
    return this.#names[index];
  }

  /** Registrations host `index` holds (0 for -1). */
  registrations(index: number): number {
    return index < 0 ? 0 : this.#registrations[index];
  }

  /** Piece-hash bytes of the files host `index` holds (0 for -1). */
  hashBytes(index: number): number {
    return index < 0 ? 0 : this.#hashBytes[index];
  }

  /**
   * Adds to host `index`'s counters; a host left with no registrations is
   * forgotten and its number freed.
   */
  add(index: number, registrations: number, hashBytes: number): void {
    this.#registrations[index] += registrations;
    this.#hashBytes[index] += hashBytes;
    if (this.#registrations[index] > 0) return;
    this.#index.delete(this.#names[index]);
    this.#names[index] = "";
    this.#free.push(index);
  }

  /** One more than the highest host number handed out so far. */
  get capacity(): number {
    return this.#names.length;
  }

  /** Hosts holding at least one registration. */
  get size(): number {
    return this.#index.size;
  }

  #grow(length: number): void {
    const registrations = new Int32Array(length);
    registrations.set(this.#registrations);
    this.#registrations = registrations;
    const hashBytes = new Float64Array(length);
    hashBytes.set(this.#hashBytes);
    this.#hashBytes = hashBytes;
  }
}
