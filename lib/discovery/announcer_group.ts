/**
 * A peer's registrations kept with every tracker it uses, one
 * {@linkcode Announcer} each. Registering succeeds as soon as one tracker
 * took it (the others go on in the background, and a tracker that is down
 * gets it at a renewal once it is back), so one tracker down slows nothing.
 * Reaching this peer and meeting others at a relay go through the first
 * tracker only. Which trackers have the registrations now, and each change
 * of that, is there for whoever tells the user (`TrackerStandings`).
 *
 * @module
 */

import {
  type AddOptions,
  Announcer,
  type AnnouncerOptions,
  type Registration,
} from "./announcer.ts";
import type { Trackers } from "./tracker_group.ts";
import type {
  Reachability,
  RegisterOptions,
  TrackerAddress,
} from "./tracker_types.ts";
import type { TrackerChange, TrackerTrouble } from "./tracker_trouble.ts";

/** Options for {@linkcode AnnouncerGroup}: an announcer's, without its tracker. */
export interface AnnouncerGroupOptions
  extends Omit<AnnouncerOptions, "tracker"> {
  /**
   * Called once for each tracker that did not take a registration the
   * others took (it gets it at a renewal once it is back).
   * @default {nothing}
   */
  onTrouble?: (trouble: TrackerTrouble) => void;
}

/** Which trackers have a peer's registrations, and news of them. */
export interface TrackerStandings {
  /** The trackers that have the registrations now, in the order given. */
  registeredWith(): TrackerAddress[];
  /**
   * Calls `listener` with each change of a tracker's standing (see
   * `AnnouncerOptions.onChange`) until disposed.
   */
  watch(listener: (change: TrackerChange) => void): Disposable;
}

/** See the module documentation. */
export class AnnouncerGroup implements TrackerStandings {
  #first: Announcer;
  #all: Announcer[];
  #trackers: Trackers;
  #log: (line: string) => void;
  #onTrouble: (trouble: TrackerTrouble) => void;
  /** Trackers whose trouble was told of already. */
  #told = new Set<number>();
  #watchers = new Set<(change: TrackerChange) => void>();

  /** Announcers for `trackers`; only the first one hears of incoming peers. */
  constructor(trackers: Trackers, options: AnnouncerGroupOptions) {
    const [first, ...rest] = trackers;
    const onChange = (change: TrackerChange) => {
      options.onChange?.(change);
      for (const watcher of this.#watchers) watcher(change);
    };
    this.#first = new Announcer({ ...options, tracker: first, onChange });
    this.#all = [
      this.#first,
      ...rest.map((tracker) =>
        new Announcer({ ...options, tracker, onChange, onIncoming: undefined })
      ),
    ];
    this.#trackers = trackers;
    this.#log = options.log ?? (() => {});
    this.#onTrouble = options.onTrouble ?? (() => {});
  }

  /** Opens every tracker connection ahead of the first {@linkcode add}. */
  connectEarly(): void {
    for (const announcer of this.#all) announcer.connectEarly();
  }

  /**
   * Registers `entry` with every tracker and keeps it registered (see
   * `Announcer.add`); resolves once one of them took it. Rejects with the
   * first tracker's error when none did, leaving nothing registered unless
   * `how.keepWhenDown` (then the renewals register it once one is back).
   */
  async add(
    entry: Registration,
    options: RegisterOptions = {},
    how: AddOptions = {},
  ): Promise<void> {
    if (this.#all.length === 1) {
      return await this.#first.add(entry, options, how);
    }
    const attempts = this.#all.map((announcer) =>
      announcer.add(entry, options, { keepWhenDown: true })
    );
    try {
      await Promise.any(attempts);
    } catch {
      if (!how.keepWhenDown) {
        const key = "lookup" in entry ? entry.lookup : entry.id;
        await Promise.allSettled(this.#all.map((a) => a.remove(key)));
      }
      return await attempts[0];
    }
    attempts.forEach((attempt, i) =>
      attempt.catch((error) => {
        this.#log(
          `Tracker ${i + 1} of ${this.#all.length} did not take ${
            "name" in entry ? entry.name : "a private file"
          } yet: ${error instanceof Error ? error.message : error}`,
        );
        if (this.#told.has(i)) return;
        this.#told.add(i);
        this.#onTrouble({ tracker: this.#trackers[i], error });
      })
    );
  }

  /** The trackers that have the registrations now, in the order given. */
  registeredWith(): TrackerAddress[] {
    return this.#trackers.filter((_, i) =>
      this.#all[i].standing === "registered"
    );
  }

  /** Calls `listener` with each change of a tracker's standing, until disposed. */
  watch(listener: (change: TrackerChange) => void): Disposable {
    this.#watchers.add(listener);
    return { [Symbol.dispose]: () => this.#watchers.delete(listener) };
  }

  /** Stops renewing `id` everywhere and unregisters it. */
  async remove(id: string): Promise<void> {
    await Promise.all(this.#all.map((announcer) => announcer.remove(id)));
  }

  /** Asks the first tracker whether it can connect to this peer (`Announcer.reach`). */
  reach(
    options: { port?: number; mapped?: boolean } = {},
  ): Promise<Reachability> {
    return this.#first.reach(options);
  }

  /** Registers everything again at `port` with every tracker. */
  async movePort(port: number): Promise<void> {
    await Promise.all(this.#all.map((announcer) => announcer.movePort(port)));
  }

  /** Tells the first tracker the port this peer punches from for `token`. */
  offerPunch(token: Uint8Array, port?: number): Promise<void> {
    return this.#first.offerPunch(token, port);
  }

  /** Unregisters everything everywhere, each within its close timeout. */
  async close(): Promise<void> {
    await Promise.all(this.#all.map((announcer) => announcer.close()));
  }
}
