/**
 * Keeps a peer's registrations alive: registers each file it shares, renews
 * them all on an interval, registers again whatever the tracker has
 * forgotten (it restarted, the registration expired, or the connection
 * broke: the tracker drops what a closed connection registered), and rides
 * out a tracker that is down by retrying at the next interval. Private
 * files (a lookup key and sealed metadata) are kept registered the same way.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import {
  ANNOUNCE_INTERVAL_MS,
  MAX_IDS_PER_ANNOUNCE,
} from "../protocol/limits.ts";
import type { FileMeta, SealedFile } from "../protocol/messages.ts";
import {
  type Incoming,
  type Reachability,
  type RegisterOptions,
  TrackerClient,
  type TrackerClientOptions,
  TrackerUnreachableError,
} from "./tracker_client.ts";
import type { TrackerChange, TrackerStanding } from "./tracker_trouble.ts";

/** Most time {@linkcode Announcer.close} spends unregistering. */
export const ANNOUNCER_CLOSE_TIMEOUT_MS = 3_000;
/**
 * Least ms before registering again once the tracker connection closed (a
 * tracker restarting is not back at once). The renewal comes at a random
 * moment from then to half the interval, so that the peers of a restarted
 * tracker do not all come back in the same second.
 */
export const RECONNECT_AFTER_MS = 1_000;

/** What an announcer keeps registered: a file, or a private file. */
export type Registration = FileMeta | SealedFile;

/** One registration kept alive, and how it was made. */
interface Kept {
  entry: Registration;
  options: RegisterOptions;
}

/** How {@linkcode Announcer.add} treats a tracker that cannot be reached. */
export interface AddOptions {
  /**
   * Keep the registration (and reject all the same): the next renewal
   * makes it once the tracker is back. @default {false}
   */
  keepWhenDown?: boolean;
}

/** Options for {@linkcode Announcer}. */
export interface AnnouncerOptions {
  /** The tracker to register with. */
  tracker: Address;
  /** The port this peer serves files on. */
  port: number;
  /** Ms between renewals. @default {ANNOUNCE_INTERVAL_MS} */
  intervalMs?: number;
  /** Most ms {@linkcode Announcer.close} waits. @default {ANNOUNCER_CLOSE_TIMEOUT_MS} */
  closeTimeoutMs?: number;
  /** Timeouts of the connection to the tracker. */
  client?: TrackerClientOptions;
  /** Receives one line per notable event (tracker down, re-registered). */
  log?: (line: string) => void;
  /**
   * Receives each peer the tracker sends to meet this one at its relay
   * (this peer cannot be reached directly). @default {none: not listened for}
   */
  onIncoming?: (incoming: Incoming) => void;
  /**
   * Called when the tracker's standing changes: it took the registrations
   * (the first time, or back after it could not be reached, with what it
   * had forgotten registered again), or could not be reached (registering
   * or renewing). @default {nothing}
   */
  onChange?: (change: TrackerChange) => void;
}

/**
 * Registers files with a tracker and keeps them registered.
 *
 * @example
 * ```ts
 * const announcer = new Announcer({ tracker, port: server.address.port });
 * await announcer.add(meta);
 * // ... serve ...
 * await announcer.close();
 * ```
 */
export class Announcer {
  #options: AnnouncerOptions;
  #log: (line: string) => void;
  /** By file ID, or lookup key for a private file. */
  #files = new Map<string, Kept>();
  #client?: Promise<TrackerClient>;
  #timer?: ReturnType<typeof setInterval>;
  /** The early renewal after the connection closed, when one is due. */
  #soon?: ReturnType<typeof setTimeout>;
  #ticking?: Promise<void>;
  /** Whether the tracker has the registrations; undefined until asked. */
  #standing?: TrackerStanding;
  /** The port registrations name: the server's, or one the router forwards. */
  #port: number;
  #closed = false;
  #abandoned = false;

  /** An announcer with nothing registered yet; nothing happens until {@linkcode add}. */
  constructor(options: AnnouncerOptions) {
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.#port = options.port;
  }

  /**
   * Opens the tracker connection ahead of the first {@linkcode add} (while a
   * file is hashed, say), so that registering costs one round trip. A
   * failure here is left for `add` to meet and report.
   */
  connectEarly(): void {
    if (this.#closed || this.#client) return;
    this.#connection().catch(() => {});
  }

  /**
   * Registers `entry` now and keeps it registered: a file (its metadata),
   * or a private file (its lookup key and sealed metadata); as a partial
   * holder with `options.partial` (a download in progress), else as a
   * holder of the whole file. Adding a file again registers it again, so a
   * partial holder that finished becomes a whole one. Rejects with
   * `TrackerError` if the tracker refuses it, or `TrackerUnreachableError`
   * if the tracker cannot be reached.
   *
   * @example
   * ```ts
   * await announcer.add(meta);
   * await announcer.add({ lookup: keys.lookupKey, blob }, { partial: true });
   * ```
   */
  async add(
    entry: Registration,
    options: RegisterOptions = {},
    how: AddOptions = {},
  ): Promise<void> {
    if (this.#closed) throw new Error("The announcer is closed.");
    const kept = {
      entry,
      options: {
        partial: options.partial ?? false,
        ...(options.unlisted ? { unlisted: true } : {}),
      },
    };
    try {
      await this.#withClient((client) => this.#register(client, kept));
    } catch (error) {
      // Kept all the same: the next renewal registers it once the tracker is back.
      const down = error instanceof TrackerUnreachableError;
      if (down && how.keepWhenDown) this.#keep(kept);
      if (down) this.#stand("unreachable", error);
      throw error;
    }
    this.#keep(kept);
    // Back: it is registered once it has the files kept meanwhile too.
    if (this.#standing === "unreachable" && this.#files.size > 1) this.#tick();
    else this.#stand("registered");
  }

  /** Whether the tracker has the registrations; undefined until asked. */
  get standing(): TrackerStanding | undefined {
    return this.#standing;
  }

  /** Tells of a change of standing (not once closed). */
  #stand(now: TrackerStanding, error?: unknown): void {
    const was = this.#standing;
    if (now === was || this.#closed) return;
    this.#standing = now;
    const { tracker, onChange } = this.#options;
    onChange?.({ tracker, now, was, ...(error ? { error } : {}) });
  }

  #keep(kept: Kept): void {
    if (this.#closed) return;
    this.#files.set(keyOf(kept.entry), kept);
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs);
  }

  /**
   * Stops renewing `id` (a file ID, or a private file's lookup key) and
   * unregisters it; a tracker that cannot be reached is only logged.
   */
  async remove(id: string): Promise<void> {
    if (!this.#files.delete(id)) return;
    try {
      await this.#withClient((client) => client.unregister(id, this.#port));
    } catch (error) {
      this.#log(`Could not unregister ${id.slice(0, 16)}: ${message(error)}`);
    }
  }

  /**
   * Asks the tracker whether it can connect to this peer's port (see
   * `TrackerClient.reach`); rejects like {@linkcode add}.
   */
  async reach(
    options: { port?: number; mapped?: boolean } = {},
  ): Promise<Reachability> {
    if (this.#closed) throw new Error("The announcer is closed.");
    const port = options.port ?? this.#port;
    // A connection of its own: the tracker's probe may take seconds, and
    // answers come in order, so on the shared one it would hold up the rest.
    const client = await TrackerClient.connect(
      this.#options.tracker,
      this.#options.client,
    );
    try {
      return await client.reach(port, { mapped: options.mapped });
    } finally {
      client.close();
    }
  }

  /**
   * Registers everything again at `port` (one the router now forwards to
   * this peer) and withdraws it at the old one; later registrations and
   * renewals name `port`. Failures are logged: the next renewal makes up
   * for them.
   */
  async movePort(port: number): Promise<void> {
    if (this.#closed || port === this.#port) return;
    const old = this.#port;
    this.#port = port;
    for (const [id, kept] of this.#files) {
      try {
        await this.#withClient(async (client) => {
          await this.#register(client, kept);
          await client.unregister(id, old);
        });
      } catch (error) {
        this.#log(
          `Could not move ${nameOf(kept.entry)} to port ${port}: ${
            message(error)
          }`,
        );
      }
    }
  }

  /** Tells the tracker the port this peer punches from for `token` (or none). */
  async offerPunch(token: Uint8Array, port?: number): Promise<void> {
    if (this.#closed) throw new Error("The announcer is closed.");
    await this.#withClient((client) => client.offerPunch(token, port));
  }

  /** Stops renewing and unregisters everything, giving up after the close timeout. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    const deadline = setTimeout(
      () => this.#abandon(),
      this.#options.closeTimeoutMs ?? ANNOUNCER_CLOSE_TIMEOUT_MS,
    );
    try {
      await this.#ticking;
      const ids = [...this.#files.keys()];
      this.#files.clear();
      if (ids.length > 0 && !this.#abandoned) {
        await Promise.allSettled(
          ids.map((id) =>
            this.#withClient((client) => client.unregister(id, this.#port))
          ),
        );
      }
    } finally {
      clearTimeout(deadline);
      this.#abandon();
    }
  }

  /** Renews every registration; one tick at a time. */
  #tick(): void {
    if (this.#ticking || this.#files.size === 0) return;
    this.#ticking = this.#renew().finally(() => this.#ticking = undefined);
  }

  async #renew(): Promise<void> {
    try {
      const ids = [...this.#files.keys()];
      const unknown: string[] = [];
      for (let i = 0; i < ids.length; i += MAX_IDS_PER_ANNOUNCE) {
        const chunk = ids.slice(i, i + MAX_IDS_PER_ANNOUNCE);
        unknown.push(
          ...await this.#withClient((client) =>
            client.announce(chunk, this.#port)
          ),
        );
      }
      this.#options.log?.(
        `Renewed ${
          registrations(ids.length - unknown.length)
        } with tracker ${this.#label()}${
          unknown.length > 0 ? `; it had forgotten ${unknown.length}` : ""
        }.`,
      );
      await this.#registerAgain(unknown);
      if (this.#standing === "unreachable") {
        this.#log(`Tracker ${this.#label()} is reachable again.`);
      }
      this.#stand("registered");
    } catch (error) {
      const retry = `Retrying in ${Math.round(this.#intervalMs / 1000)} s.`;
      if (error instanceof TrackerUnreachableError) {
        this.#log(
          this.#standing === "unreachable"
            ? `Renewing registrations failed again: ${message(error)} ${retry}`
            : `${message(error)} ${retry}`,
        );
        this.#stand("unreachable", error);
      } else {
        this.#log(`Renewing registrations failed: ${message(error)} ${retry}`);
      }
    }
  }

  /** Registers again the files the tracker no longer knows. */
  async #registerAgain(ids: string[]): Promise<void> {
    for (const id of ids) {
      const kept = this.#files.get(id);
      if (!kept || this.#closed) continue;
      const name = nameOf(kept.entry);
      try {
        await this.#withClient((client) => this.#register(client, kept));
        this.#log(`Registered ${name} again with ${this.#label()}.`);
      } catch (error) {
        if (error instanceof TrackerUnreachableError) throw error;
        this.#log(`Tracker refused ${name}: ${message(error)}`);
      }
    }
  }

  /** Registers `kept` over `client`, as a file or a private file. */
  #register(client: TrackerClient, kept: Kept): Promise<void> {
    const { entry, options } = kept;
    return "lookup" in entry
      ? client.registerSealed(entry, this.#port, options)
      : client.register(entry, this.#port, options);
  }

  /**
   * Runs `use` with the shared client. A client that was already open may
   * hold a connection the tracker dropped (it restarted), so on failure it
   * is replaced and `use` tried once more.
   */
  async #withClient<T>(use: (client: TrackerClient) => Promise<T>): Promise<T> {
    const reused = this.#client !== undefined;
    const pending = this.#connection();
    const client = await pending;
    try {
      return await use(client);
    } catch (error) {
      if (!(error instanceof TrackerUnreachableError)) throw error;
      this.#drop(pending, client);
      if (!reused || this.#abandoned) throw error;
      return await use(await this.#connection());
    }
  }

  /** The shared client, connecting if there is none. */
  #connection(): Promise<TrackerClient> {
    if (this.#abandoned) {
      return Promise.reject(
        new TrackerUnreachableError(
          this.#options.tracker,
          `Gave up talking to tracker ${this.#label()}.`,
        ),
      );
    }
    if (this.#client) return this.#client;
    const pending = TrackerClient.connect(
      this.#options.tracker,
      this.#options.client,
    ).then((client) => {
      // Closed while connecting: do not keep a connection open past close().
      if (this.#abandoned) client.close();
      else {
        // Read at all times: so a close (the tracker restarted) is seen at
        // once, and the tracker's pushes handed over.
        client.listen(this.#options.onIncoming ?? (() => {}));
        client.closed.then(() => this.#lost(pending));
      }
      return client;
    }, (error) => {
      if (this.#client === pending) this.#client = undefined;
      throw error;
    });
    this.#client = pending;
    return pending;
  }

  /**
   * The connection `pending` closed by itself (the tracker restarted, or
   * the network broke): forgotten, and a renewal comes before the next
   * interval, which registers again whatever the tracker lost.
   */
  #lost(pending: Promise<TrackerClient>): void {
    // Closed on purpose (close(), or a failed request that reconnects).
    if (this.#client !== pending || this.#abandoned || this.#closed) return;
    this.#client = undefined;
    if (this.#soon || this.#files.size === 0) return;
    const spread = Math.max(0, this.#intervalMs / 2 - RECONNECT_AFTER_MS);
    const wait = Math.min(RECONNECT_AFTER_MS, this.#intervalMs / 2) +
      Math.random() * spread;
    this.#options.log?.(
      `Lost the connection to tracker ${this.#label()}; renewing in ${
        (wait / 1000).toFixed(1)
      } s.`,
    );
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#tick();
    }, wait);
  }

  /** Closes `client` and forgets it if it is still the shared one. */
  #drop(pending: Promise<TrackerClient>, client: TrackerClient): void {
    client.close();
    if (this.#client === pending) this.#client = undefined;
  }

  /** Closes the shared client; requests still waiting reject at once. */
  #abandon(): void {
    this.#abandoned = true;
    const pending = this.#client;
    this.#client = undefined;
    pending?.then((client) => client.close(), () => {});
  }

  get #intervalMs(): number {
    return this.#options.intervalMs ?? ANNOUNCE_INTERVAL_MS;
  }

  #label(): string {
    return formatAddress(this.#options.tracker);
  }
}

/** What the tracker knows `entry` by: its ID, or its lookup key. */
function keyOf(entry: Registration): string {
  return "lookup" in entry ? entry.lookup : entry.id;
}

/** `entry` in a log line; a private file's name is sealed, so it has none. */
function nameOf(entry: Registration): string {
  return "lookup" in entry ? "a private file" : entry.name;
}

function registrations(count: number): string {
  return `${count} registration${count === 1 ? "" : "s"}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
