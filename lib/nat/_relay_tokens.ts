/**
 * The tokens a relay expects, private to `relay_server.ts`: each announced
 * by the tracker with the host each end must come from, valid until its
 * first peer comes or its time runs out, and holding the session that meets
 * under it from then on. There are only so many at once: past that, the
 * oldest not in use is forgotten.
 *
 * @module
 */

import type { Session } from "./_relay_session.ts";
import type { RelayRole } from "./_relay_wire.ts";

/** A token the tracker announced, and the pair meeting under it. */
export interface Expected {
  /** The host each end must come from. */
  hosts: Readonly<Record<RelayRole, string>>;
  /** When it stops being valid, unless a peer has come by then. */
  expires: number;
  /** The pair meeting under it, from its first end on. */
  session?: Session;
}

/** The limits and clock of {@linkcode ExpectedTokens}. */
export interface ExpectedTokensOptions {
  /** Ms a token stays valid until its first peer comes. */
  ttlMs: number;
  /** Tokens expected at once. */
  max: number;
  /** The clock tokens expire by, in ms. */
  now: () => number;
  /** Receives one line when a token is forgotten for room. */
  log: (line: string) => void;
}

/** Expected tokens by key (the token in hex), in expiry order. */
export class ExpectedTokens {
  #entries = new Map<string, Expected>();
  #options: ExpectedTokensOptions;

  /** An empty table held to `options`. */
  constructor(options: ExpectedTokensOptions) {
    this.#options = options;
  }

  /**
   * Expects `key` from `hosts` for the time-out from now, replacing an
   * earlier entry not yet in use; one in use keeps its pair.
   */
  expect(key: string, hosts: Readonly<Record<RelayRole, string>>): void {
    if (this.#entries.get(key)?.session) return;
    this.#prune();
    this.#entries.delete(key); // re-inserted last, in expiry order
    if (this.#entries.size >= this.#options.max) this.#forgetOldest();
    this.#entries.set(key, {
      hosts,
      expires: this.#options.now() + this.#options.ttlMs,
    });
  }

  /** The entry under `key`, unless it expired before any peer came. */
  find(key: string): Expected | undefined {
    const entry = this.#entries.get(key);
    if (entry && !entry.session && this.#options.now() >= entry.expires) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Forgets `key`: its chance to pair is spent, or its pair has met. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Frees `session`'s token, if still expected, for a new first end. */
  release(session: Session): void {
    const entry = this.#entries.get(session.key);
    if (entry?.session === session) entry.session = undefined;
  }

  /** Forgets every token. */
  clear(): void {
    this.#entries.clear();
  }

  /** Forgets tokens that expired before any peer came (oldest first). */
  #prune(): void {
    const now = this.#options.now();
    for (const [key, entry] of this.#entries) {
      if (entry.session) continue;
      if (now < entry.expires) return;
      this.#entries.delete(key);
    }
  }

  #forgetOldest(): void {
    for (const [key, entry] of this.#entries) {
      if (entry.session) continue;
      this.#entries.delete(key);
      this.#options.log(
        "Relay forgot an expected token: too many expected at once",
      );
      return;
    }
  }
}
