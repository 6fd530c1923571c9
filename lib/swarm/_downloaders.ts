/**
 * The downloaders a peer server lists (`PeerServer.downloaders()`), private
 * to `peer_server.ts`: the sessions of one host for one file are one
 * downloader, their bytes summed, whether they run side by side (a long
 * link's second connection) or one after another (a relayed download gets
 * a new connection each time the relay's byte quota ends one). Between two
 * such connections a relayed downloader is still listed: see
 * {@linkcode RELAYED_RETURN_MS}.
 *
 * @module
 */

import type { Address } from "../net/connection.ts";
import type { UploadSession } from "./upload_session.ts";

/**
 * Ms a downloader that reached this peer through a relay stays listed once
 * its connection ended before it was sent the whole file: the relay ends a
 * connection at its byte quota, and the downloader comes back through a new
 * one, meeting at the relay again. A getter whose hole punch to this peer
 * failed goes straight to the relay then; an older one may try a punch
 * again first (5 s, PUNCH_TIMEOUT_MS), which this leaves time for. A
 * downloader that was sent the whole file, or that came directly, is gone
 * from the list as soon as its last connection is.
 */
export const RELAYED_RETURN_MS = 15_000;

/** A downloader being served right now. */
export interface Downloader {
  /**
   * Its address as seen here: the port is its connection's, not its
   * server's; through a relay, its host as the tracker saw it and port 0
   * (the port it connects from is the relay's to know).
   */
  address: Address;
  /** Full ID of the file it downloads. */
  id: string;
  /** Piece bytes sent to it (over all its connections for the file). */
  sent: number;
  /** The relay it reaches this peer through, if it does. */
  relay?: Address;
}

interface Entry {
  downloader: Omit<Downloader, "sent">;
  /** Bytes of the file. */
  size: number;
  /** Its connections being served. */
  sessions: Set<UploadSession>;
  /** Bytes sent over its connections that ended. */
  carried: number;
  /** When it leaves the list, once it has no connection left. */
  until: number;
}

/** The downloaders of one peer server, oldest first. */
export class Downloaders {
  #entries = new Map<string, Entry>();
  #now: () => number;

  /** None yet; `now` is the clock in ms. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Counts `session` from now until {@linkcode remove}. */
  add(session: UploadSession): void {
    const key = keyOf(session);
    let entry = this.#entries.get(key);
    if (entry && entry.sessions.size === 0 && this.#now() >= entry.until) {
      this.#entries.delete(key); // Gone too long: a new downloader.
      entry = undefined;
    }
    if (!entry) {
      const { remote: address, meta, relay } = session;
      entry = {
        downloader: { address, id: meta.id, ...(relay ? { relay } : {}) },
        size: meta.size,
        sessions: new Set(),
        carried: 0,
        until: Infinity,
      };
      this.#entries.set(key, entry);
    }
    entry.sessions.add(session);
  }

  /** `session` ended: its downloader leaves with it, or stays a while. */
  remove(session: UploadSession): void {
    const key = keyOf(session);
    const entry = this.#entries.get(key);
    if (!entry?.sessions.delete(session)) return;
    entry.carried += session.sent;
    if (entry.sessions.size > 0) return;
    if (session.relay && entry.carried < entry.size) {
      entry.until = this.#now() + RELAYED_RETURN_MS;
    } else this.#entries.delete(key);
  }

  /** The downloaders now, oldest first. */
  list(): Downloader[] {
    const now = this.#now();
    const list: Downloader[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.sessions.size === 0 && now >= entry.until) {
        this.#entries.delete(key);
        continue;
      }
      let sent = entry.carried;
      for (const session of entry.sessions) sent += session.sent;
      list.push({ ...entry.downloader, sent });
    }
    return list;
  }
}

function keyOf(session: UploadSession): string {
  return `${session.remote.host} ${session.meta.id}`;
}
