/**
 * Which incoming connections a listener admits: caps on connections in all
 * and per address group (an IPv4 address, or an IPv6 /64), and on those
 * still in their handshake. When the listener is full, a newcomer from a
 * group that holds less than the fullest one takes the place of that
 * group's newest connection: a few addresses cannot lock everyone else
 * out by holding connections open.
 *
 * @module
 */

/** Why a connection was turned away, or closed to make room. */
export type RefusalReason =
  /** The listener holds all the connections it may, fairly shared. */
  | "full"
  /** Its address (or /64) holds all the connections one may. */
  | "address-full"
  /** Too many connections (from its address, or in all) in their handshake. */
  | "handshakes"
  /** Its handshake failed or timed out. */
  | "handshake-failed"
  /** Closed to make room for a newcomer from a less used address. */
  | "evicted";

/** The caps of an {@linkcode Admission}. */
export interface AdmissionLimits {
  /** Connections at once, in all. */
  maxConnections: number;
  /** Connections at once from one address group. */
  maxPerAddress: number;
  /** Connections in their handshake at once, from one address group. */
  maxPendingPerAddress: number;
  /** Connections in their handshake at once, in all. */
  maxPending: number;
}

/** One admitted connection's place, until it leaves. */
export interface Ticket {
  /** The address group it counts in. */
  readonly group: string;
  /** Closes it (called to evict it). */
  readonly close: () => void;
}

interface Group {
  /** Admitted connections, oldest first (handshakes included). */
  open: Set<Ticket>;
  /** Of `open`, those still in their handshake. */
  pending: number;
}

/** The address group of `host`: itself for IPv4, its /64 for IPv6. */
export function addressGroup(host: string): string {
  if (!host.includes(":")) return host;
  const [head, tail] = host.split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail === undefined ? [] : tail ? tail.split(":") : [];
  const hextets = tail === undefined
    ? left
    : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return hextets.slice(0, 4).map((part) =>
    (parseInt(part, 16) || 0).toString(16)
  ).join(":") + "::/64";
}

/** Counts connections by address group and decides who gets in. */
export class Admission {
  #limits: AdmissionLimits;
  #groups = new Map<string, Group>();
  /**
   * The group with the most connections, or one close to it: updated as
   * groups grow, forgotten when it empties (no scan per newcomer).
   */
  #fullest?: Group;
  #open = 0;
  #pending = 0;

  /** An admission with `limits`. */
  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Connections admitted and not left (handshakes included). */
  get open(): number {
    return this.#open;
  }

  /** Of {@linkcode open}, those still in their handshake. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Admits a connection from `host` (closed with `close` if it is evicted
   * later), in its handshake until {@linkcode handshaken}; or says why not.
   * A full listener evicts the newest connection of its fullest group for
   * a newcomer from a group with fewer.
   */
  enter(host: string, close: () => void): Ticket | RefusalReason {
    const key = addressGroup(host);
    const group = this.#groups.get(key);
    const mine = group?.open.size ?? 0;
    const limits = this.#limits;
    if (
      (group?.pending ?? 0) >= limits.maxPendingPerAddress ||
      this.#pending >= limits.maxPending
    ) return "handshakes";
    if (mine >= limits.maxPerAddress) return "address-full";
    if (this.#open >= limits.maxConnections && !this.#evictFor(mine)) {
      return "full";
    }
    const ticket: Ticket = { group: key, close };
    const entry = group ?? { open: new Set(), pending: 0 };
    entry.open.add(ticket);
    entry.pending++;
    this.#groups.set(key, entry);
    if (entry.open.size > (this.#fullest?.open.size ?? 0)) {
      this.#fullest = entry;
    }
    this.#open++;
    this.#pending++;
    return ticket;
  }

  /** `ticket`'s handshake is over: it no longer counts as pending. */
  handshaken(ticket: Ticket): void {
    const group = this.#groups.get(ticket.group);
    if (!group?.open.has(ticket)) return;
    group.pending--;
    this.#pending--;
  }

  /** `ticket`'s connection closed (or never finished its handshake). */
  leave(ticket: Ticket, pending: boolean): void {
    const group = this.#groups.get(ticket.group);
    if (!group?.open.delete(ticket)) return;
    this.#open--;
    if (pending) {
      group.pending--;
      this.#pending--;
    }
    if (group.open.size > 0) return;
    this.#groups.delete(ticket.group);
    if (this.#fullest === group) this.#fullest = undefined;
  }

  /**
   * Makes room for a newcomer whose group holds `mine` connections: closes
   * the newest of the fullest group if that holds at least two more.
   */
  #evictFor(mine: number): boolean {
    if (!this.#fullest) {
      for (const group of this.#groups.values()) {
        if (group.open.size > (this.#fullest?.open.size ?? 0)) {
          this.#fullest = group;
        }
      }
    }
    const fullest = this.#fullest;
    if (!fullest || fullest.open.size < mine + 2) return false;
    let newest: Ticket | undefined;
    for (const ticket of fullest.open) newest = ticket;
    newest!.close();
    return true;
  }
}
