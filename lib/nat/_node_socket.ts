/**
 * A `node:net` socket seen as a `Deno.TcpConn`. The hole punch needs
 * `node:net` to connect from a chosen local port (`Deno.connect` cannot
 * bind one), while everything above it (the secret stream, `Connection`)
 * reads and writes a `Deno.Conn`. Deno's own conventions are kept: a read
 * resolves to `null` at the end, a pending read rejects with
 * `Deno.errors.Interrupted` when the conn is closed under it, and reads or
 * writes after `close()` reject with `Deno.errors.BadResource`.
 *
 * @module
 */

import type { Socket } from "node:net";
import { writeAllAsync } from "../util/write_all.ts";

/**
 * Most received bytes held for a reader that has not asked for them yet;
 * past this the socket stops reading, the kernel's window fills and the
 * sender is held back, so a slow reader costs bounded memory.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Most bytes one `data` event brings (Deno's `node:net` reads 64 KiB at a
 * time). Reading pauses this far below the cap, so that the chunk already
 * on its way still fits under it.
 */
export const SOCKET_CHUNK_BYTES = 64 * 1024;

const PAUSE_AT_BYTES = MAX_BUFFERED_BYTES - SOCKET_CHUNK_BYTES;

/** A read waiting for bytes. */
interface PendingRead {
  into: Uint8Array;
  resolve(got: number | null): void;
  reject(error: Error): void;
}

/**
 * Wraps a connected `node:net` socket; the wrapper owns it from now on.
 * Create the socket with `allowHalfOpen: true`, so that the other side's
 * end of stream leaves this side writable, as it does on a `Deno.Conn`.
 */
export class NodeSocketConn implements Deno.TcpConn {
  /** This end's address, as it was when the socket connected. */
  readonly localAddr: Deno.NetAddr;
  /** The other end's address, as it was when the socket connected. */
  readonly remoteAddr: Deno.NetAddr;
  #socket: Socket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #reads: PendingRead[] = [];
  /** Rejecters of the writes not yet handed to the kernel. */
  #writes = new Set<(error: Error) => void>();
  #ended = false;
  #error?: Error;
  #closed = false;
  #readable?: ReadableStream<Uint8Array<ArrayBuffer>>;
  #writable?: WritableStream<Uint8Array>;

  /** Takes over `socket`, which must be connected. */
  constructor(socket: Socket) {
    this.#socket = socket;
    this.localAddr = netAddr(socket.localAddress, socket.localPort);
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    socket.on("data", (chunk: Uint8Array) => this.#received(chunk));
    socket.on("end", () => {
      this.#ended = true;
      this.#serveReads();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= denoError(error);
      this.#serveReads();
    });
    socket.on("close", () => {
      if (!this.#ended) {
        this.#error ??= new Deno.errors.ConnectionReset("Connection closed");
      }
      this.#serveReads();
    });
  }

  /** Bytes received and not read yet. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Copies waiting bytes into `into` (waiting for some if there are none);
   * resolves to how many, or `null` once the other side ended its stream.
   */
  read(into: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(closedError());
    if (into.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      this.#reads.push({ into, resolve, reject });
      this.#serveReads();
    });
  }

  /**
   * Sends all of `data`; resolves to its length once node has handed the
   * bytes to the kernel. Not sooner, when `socket.write()` returns: node
   * keeps a reference to the caller's bytes until then, and a `Deno.Conn`
   * caller may reuse its buffer once a write resolves. Waiting for that
   * also holds the writer back while the other side does not read.
   */
  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#error) return Promise.reject(this.#error);
    if (data.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.#writes.delete(fail);
        reject(error);
      };
      this.#writes.add(fail);
      this.#socket.write(data, (error?: Error | null) => {
        if (!this.#writes.delete(fail)) return; // close() rejected it
        if (error) reject(this.#error ?? denoError(error));
        else resolve(data.length);
      });
    });
  }

  /** Ends this side's stream (a FIN); the other side's can still arrive. */
  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  /** Closes the socket at once; pending reads and writes reject. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#chunks = [];
    this.#buffered = 0;
    const canceled = () => new Deno.errors.Interrupted("operation canceled");
    for (const read of this.#reads.splice(0)) read.reject(canceled());
    for (const fail of [...this.#writes]) fail(canceled());
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Turns Nagle's algorithm off (true) or on. */
  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }

  /** Turns TCP keep-alive on (true) or off. */
  setKeepAlive(keepAlive = true): void {
    this.#socket.setKeepAlive(keepAlive);
  }

  /** Makes the socket keep the process alive (the default). */
  ref(): void {
    this.#socket.ref();
  }

  /** Lets the process exit while the socket is open. */
  unref(): void {
    this.#socket.unref();
  }

  /** The bytes received, as a stream; cancelling it closes the conn. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const chunk = new Uint8Array(SOCKET_CHUNK_BYTES);
        const got = await this.read(chunk);
        if (got === null) controller.close();
        else controller.enqueue(chunk.subarray(0, got));
      },
      cancel: () => this.close(),
    });
    return this.#readable;
  }

  /** A stream to send through; closing it ends this side's stream. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => writeAllAsync(this, chunk),
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
    return this.#writable;
  }

  #received(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered >= PAUSE_AT_BYTES) this.#socket.pause();
    this.#serveReads();
  }

  /** Settles the waiting reads that can be: bytes first, then the end or the error. */
  #serveReads(): void {
    while (this.#reads.length > 0) {
      const read = this.#reads[0];
      if (this.#buffered > 0) read.resolve(this.#take(read.into));
      else if (this.#error) read.reject(this.#error);
      else if (this.#ended) read.resolve(null);
      else return;
      this.#reads.shift();
    }
  }

  /** Moves up to `into.length` buffered bytes into `into`; how many. */
  #take(into: Uint8Array): number {
    let got = 0;
    while (got < into.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const count = Math.min(chunk.length, into.length - got);
      into.set(chunk.subarray(0, count), got);
      got += count;
      if (count === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(count);
    }
    this.#buffered -= got;
    if (this.#buffered < PAUSE_AT_BYTES && this.#socket.isPaused()) {
      this.#socket.resume();
    }
    return got;
  }
}

function netAddr(hostname?: string, port?: number): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

function closedError(): Error {
  return new Deno.errors.BadResource("The connection is closed");
}

/**
 * Node's error for a socket failure as the `Deno.errors` class a
 * `Deno.Conn` would throw, so that code above classifies it the same way.
 */
export function denoError(error: Error): Error {
  const code = (error as { code?: string }).code;
  const options = { cause: error };
  switch (code) {
    case "ECONNRESET":
      return new Deno.errors.ConnectionReset(error.message, options);
    case "EPIPE":
      return new Deno.errors.BrokenPipe(error.message, options);
    case "ECONNABORTED":
      return new Deno.errors.ConnectionAborted(error.message, options);
    case "ECONNREFUSED":
      return new Deno.errors.ConnectionRefused(error.message, options);
    case "ETIMEDOUT":
      return new Deno.errors.TimedOut(error.message, options);
    default:
      return error;
  }
}
