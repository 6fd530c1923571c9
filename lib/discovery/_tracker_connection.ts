/**
 * The connection under a `TrackerClient`, private to `tracker_client.ts`:
 * requests sent at once and answered in order, each answer within the reply
 * time-out and checked for its type; the tracker's unasked `incoming`
 * messages handed to a listener; and the first failure, which closes the
 * connection and fails every request waiting or still to come. What the
 * requests mean is the client's business.
 *
 * @module
 */

import {
  type Address,
  type Connection,
  formatAddress,
} from "../net/connection.ts";
import { IDLE_TIMEOUT_MS, TRACKER_ENV } from "../protocol/limits.ts";
import type { Message, MessageType } from "../protocol/messages.ts";
import {
  isPeerRefusal,
  TrackerError,
  TrackerUnreachableError,
  userText,
} from "./tracker_errors.ts";

/**
 * Ms a listening client waits for a frame with no request out: longer than
 * the tracker keeps an idle connection, so the tracker's limit is the one
 * that applies (and renewals come far more often).
 */
const LISTEN_IDLE_MS = 2 * IDLE_TIMEOUT_MS;

/** A message the tracker sends unasked: a peer that wants to meet this one. */
export type IncomingMessage = Extract<Message, { type: "incoming" }>;

interface Pending {
  resolve: (reply: Message) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One open connection to the tracker at an address; see the module documentation. */
export class TrackerConnection {
  #address: Address;
  #conn: Connection;
  #replyMs: number;
  #pending: Pending[] = [];
  #reading = false;
  #failure?: Error;
  #onIncoming?: (message: IncomingMessage) => void;
  #markClosed!: () => void;
  /**
   * Resolves once the connection has failed or been closed (while it is
   * read: listening, or a request waiting; else at the next request).
   */
  readonly closed: Promise<void> = new Promise((resolve) => {
    this.#markClosed = resolve;
  });

  /** Requests over `conn` to the tracker at `address`, each answered within `replyMs`. */
  constructor(address: Address, conn: Connection, replyMs: number) {
    this.#address = address;
    this.#conn = conn;
    this.#replyMs = replyMs;
  }

  /** The address this end of the connection has. */
  get local(): Address {
    return this.#conn.local;
  }

  /**
   * Sends `message`; resolves to its answer, of the type `expect` (or one
   * of them), throwing error replies.
   */
  request<T extends MessageType>(
    message: Message,
    expect: T | readonly T[],
  ): Promise<Extract<Message, { type: T }>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const reply = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#fail(this.#unreachable(this.#lateText())),
        this.#replyMs,
      );
      this.#pending.push({ resolve, reject, timer });
    });
    this.#conn.send(message).catch((error) =>
      this.#fail(
        error instanceof RangeError
          ? new RangeError(
            `Request too large for the tracker: ${error.message}`,
          )
          : this.#unreachable("the connection broke", { cause: error }),
      )
    );
    if (!this.#reading) this.#readReplies();
    return reply.then((answer) => this.#check(answer, expect));
  }

  /**
   * Keeps reading for the tracker's unasked messages, handing each to
   * `handler` (in place of any earlier one), until the connection fails.
   */
  listen(handler: (message: IncomingMessage) => void): void {
    this.#onIncoming = handler;
    if (!this.#reading && !this.#failure) this.#readReplies();
  }

  /** Closes the connection; requests still waiting reject. Safe to call twice. */
  close(): void {
    this.#fail(
      new TrackerUnreachableError(
        this.#address,
        `The connection to tracker ${formatAddress(this.#address)} was closed.`,
      ),
    );
  }

  /**
   * Reads answers while requests wait for them, matching them in order;
   * while listening, reads on without them, handing unasked messages over.
   */
  async #readReplies(): Promise<void> {
    this.#reading = true;
    try {
      while (
        (this.#pending.length > 0 || this.#onIncoming) && !this.#failure
      ) {
        const waiting = this.#pending.length > 0;
        const reply = await this.#conn.receive({
          // While only listening, the tracker's own idle limit ends it.
          idleMs: waiting ? this.#replyMs : LISTEN_IDLE_MS,
          deadlineMs: this.#replyMs,
        });
        if (reply === null) {
          throw this.#unreachable("it closed the connection");
        }
        if (reply.type === "incoming") {
          this.#onIncoming?.(reply);
          continue;
        }
        if (this.#pending.length === 0) {
          throw this.#unreachable(`it sent "${reply.type}" unasked`, {
            transient: false,
          });
        }
        const pending = this.#pending.shift()!;
        clearTimeout(pending.timer);
        pending.resolve(reply);
      }
    } catch (error) {
      this.#fail(this.#failureFrom(error));
    } finally {
      this.#reading = false;
      // The read has finished, so nothing is left running on the socket.
      this.#rejectAll();
    }
  }

  /** Turns an `error` reply into a {@linkcode TrackerError}; checks the type. */
  #check<T extends MessageType>(
    reply: Message,
    expect: T | readonly T[],
  ): Extract<Message, { type: T }> {
    if (reply.type === "error" && isPeerRefusal(reply)) {
      const error = new TrackerError(
        reply.code,
        `${
          formatAddress(this.#address)
        } is a peer, not a tracker: point --tracker (or ${TRACKER_ENV}) at the tracker's address.`,
      );
      this.#fail(error);
      throw error;
    }
    if (reply.type === "error") {
      const { candidates, more } = reply;
      throw new TrackerError(
        reply.code,
        userText(reply.message),
        candidates && Object.assign(candidates, more ? { more } : {}),
      );
    }
    const expected: readonly MessageType[] = typeof expect === "string"
      ? [expect]
      : expect;
    if (!expected.includes(reply.type)) {
      const error = this.#unreachable(
        `it sent "${reply.type}" where "${expected.join('" or "')}" belongs`,
        { transient: false },
      );
      this.#fail(error);
      throw error;
    }
    return reply as Extract<Message, { type: T }>;
  }

  /** Marks the connection failed and closes it; waiting requests reject. */
  #fail(error: Error): void {
    if (!this.#failure) this.#failure = error;
    this.#conn.close();
    this.#markClosed();
    // While a read is running, it rejects them once it has ended.
    if (!this.#reading) this.#rejectAll();
  }

  #rejectAll(): void {
    if (!this.#failure) return;
    for (const pending of this.#pending.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(this.#failure);
    }
  }

  #failureFrom(error: unknown): Error {
    if (error instanceof TrackerUnreachableError) return error;
    if (error instanceof Deno.errors.TimedOut) {
      return this.#unreachable(this.#lateText(), { cause: error });
    }
    if (error instanceof TypeError || error instanceof RangeError) {
      return this.#unreachable("sent a malformed answer", {
        cause: error,
        transient: false,
      });
    }
    return this.#unreachable("the connection broke", { cause: error });
  }

  #lateText(): string {
    return `it did not answer within ${this.#replyMs / 1000} s`;
  }

  /**
   * The error for a tracker that stopped responding: one that broke off or
   * went quiet may be restarting (`transient`, the default); one that sent
   * what a tracker would not is not.
   */
  #unreachable(
    detail: string,
    options: { cause?: unknown; transient?: boolean } = {},
  ): TrackerUnreachableError {
    return new TrackerUnreachableError(
      this.#address,
      `Tracker at ${
        formatAddress(this.#address)
      } stopped responding: ${detail}.`,
      { cause: options.cause, transient: options.transient ?? true },
    );
  }
}
