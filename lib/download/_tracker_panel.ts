/**
 * The trackers one download asks: all of them at once for the file, the
 * first answer taken (a tracker that is down or slow costs nothing but its
 * own answer), and the peers the others list merged in. Later questions
 * about the same variant go to the tracker that answered; asking for peers
 * again asks them all.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import type { PeerAddress } from "../protocol/messages.ts";
import {
  TrackerClient,
  TrackerUnreachableError,
} from "../discovery/tracker_client.ts";
import type { TrackerAddress } from "../discovery/tracker_types.ts";
import type { Trackers } from "../discovery/tracker_group.ts";
import { settleWithin } from "../util/settle_within.ts";
import { DownloadError } from "./_download_error.ts";
import { HandshakeRefusedError } from "../secure/secret_stream.ts";
import {
  noTrackerAnswered,
  type TrackerTrouble,
} from "../discovery/tracker_trouble.ts";

/** How long, after the first tracker's answer, the others' peers are waited for. */
export const MERGE_GRACE_MS = 300;

/** A question for one tracker, over its connection. */
export type TrackerQuestion<T> = (
  client: TrackerClient,
  tracker: Address,
) => Promise<T>;

/** Which tracker gave an answer, and the answer. */
export interface Answered<T> {
  /** The answer, with the peers every tracker that answered in time listed. */
  answer: T;
  /** The tracker that answered first. */
  tracker: TrackerAddress;
  /** This host's address as that tracker's connection sees it. */
  localHost: string;
}

/** Options for {@linkcode TrackerPanel}. */
export interface TrackerPanelOptions {
  /**
   * The error for a file none of the trackers that answered knows:
   * `knownBy` lists those, `troubles` the trackers that failed.
   */
  notKnown: (
    notKnownBy: readonly TrackerAddress[],
    troubles: readonly TrackerTrouble[],
  ) => DownloadError;
  /**
   * Called once for each tracker that could not be used while another
   * answered (its peers are missing). @default {nothing}
   */
  onTrouble?: (trouble: TrackerTrouble) => void;
}

/** See the module documentation; {@linkcode close} hangs up on every tracker. */
export class TrackerPanel {
  #trackers: Trackers;
  #options: TrackerPanelOptions;
  #clients = new Map<TrackerAddress, Promise<TrackerClient>>();
  /** Trackers whose trouble was told of already. */
  #told = new Set<TrackerAddress>();
  /** Errors of questions no tracker answered that asking again may cure. */
  #passing = new WeakSet<object>();
  /** Errors of questions every tracker refused for the team key. */
  #refused = new WeakSet<object>();
  #closed = false;

  /** A panel of `trackers`; nothing is connected until asked. */
  constructor(trackers: Trackers, options: TrackerPanelOptions) {
    this.#trackers = trackers;
    this.#options = options;
  }

  /**
   * Asks every tracker `question` at once; resolves with the first answer
   * (its `peers` merged with those of the others that answer within
   * {@linkcode MERGE_GRACE_MS}); a tracker that failed meanwhile goes to
   * `onTrouble`. When none answers it rejects with the {@linkcode
   * DownloadError} one of them answered (`notKnown`'s when any said it
   * knows no such file: it may yet be shared), else with
   * {@linkcode noTrackerAnswered}'s error naming each.
   */
  async first<T extends { peers: PeerAddress[] }>(
    question: TrackerQuestion<T>,
  ): Promise<Answered<T>> {
    const attempts = this.#trackers.map(async (tracker) => {
      const client = await this.#client(tracker);
      return {
        answer: await question(client, tracker),
        tracker,
        localHost: client.local.host,
      };
    });
    let first: Answered<T>;
    try {
      first = await Promise.any(attempts);
    } catch (error) {
      throw this.#noAnswer((error as AggregateError).errors);
    }
    attempts.forEach((attempt, i) =>
      attempt.catch((error) => this.#trouble(this.#trackers[i], error))
    );
    if (attempts.length > 1) {
      const lists: PeerAddress[][] = [];
      const collected = attempts.map((attempt) =>
        attempt.then((found) => lists.push(found.answer.peers), () => {})
      );
      await settleWithin(Promise.all(collected), MERGE_GRACE_MS);
      first.answer.peers = mergePeers(first.answer.peers, ...lists);
    }
    return first;
  }

  /**
   * Asks `tracker` alone (reconnecting once if its connection broke: it may
   * have restarted); a {@linkcode DownloadError} is its answer, not a break.
   */
  async ask<T>(
    tracker: TrackerAddress,
    question: TrackerQuestion<T>,
  ): Promise<T> {
    try {
      return await question(await this.#client(tracker), tracker);
    } catch (error) {
      if (error instanceof DownloadError || this.#closed) throw error;
      this.#drop(tracker);
      return await question(await this.#client(tracker), tracker);
    }
  }

  /**
   * The peers `tracker` lists (see {@linkcode ask}) merged with those every
   * other tracker lists, whichever of those answer; only `tracker`'s failure
   * rejects.
   */
  async peersEverywhere(
    tracker: TrackerAddress,
    question: TrackerQuestion<{ peers: PeerAddress[] }>,
  ): Promise<{ peers: PeerAddress[] }> {
    const others = this.#trackers.filter((t) => t !== tracker).map((t) =>
      this.ask(t, question).then((found) => found.peers, (error) => {
        this.#trouble(t, error);
        return [];
      })
    );
    const own = await this.ask(tracker, question);
    return { peers: mergePeers(own.peers, ...await Promise.all(others)) };
  }

  /** Hangs up on every tracker, also those still connecting. */
  close(): void {
    this.#closed = true;
    for (const tracker of [...this.#clients.keys()]) this.#drop(tracker);
  }

  /** The error for a question no tracker answered: see {@linkcode first}. */
  #noAnswer(errors: unknown[]): unknown {
    const troubles = this.#trackers.map((tracker, i) => ({
      tracker,
      error: errors[i],
    }));
    const notKnownBy = troubles.filter(({ error }) =>
      error instanceof DownloadError && error.unknownId
    );
    if (notKnownBy.length > 0) {
      if (this.#trackers.length === 1) return notKnownBy[0].error;
      return this.#options.notKnown(
        notKnownBy.map(({ tracker }) => tracker),
        troubles.filter(({ error }) => !(error instanceof DownloadError)),
      );
    }
    const answered = errors.find((error) => error instanceof DownloadError);
    if (answered) return answered;
    const error = noTrackerAnswered(
      troubles as [
        TrackerTrouble,
        ...TrackerTrouble[],
      ],
    );
    const mayPass = troubles.some((trouble) =>
      trouble.error instanceof TrackerUnreachableError &&
      trouble.error.transient
    );
    if (mayPass && error instanceof Error) this.#passing.add(error);
    const refused = troubles.every((trouble) => refusedKey(trouble.error));
    if (refused && error instanceof Error) this.#refused.add(error);
    return error;
  }

  /**
   * True if `error`, what {@linkcode first} rejected with, says no tracker
   * could be reached but one may be if asked again (it is restarting, the
   * network is back), rather than that they answered or refused.
   */
  mayAnswerLater(error: unknown): boolean {
    return error instanceof Error && this.#passing.has(error);
  }

  /**
   * True if `error`, what {@linkcode first} rejected with, says every
   * tracker refused the handshake for the team key (none given, another
   * than theirs, one given to an open tracker): asking again, or waiting,
   * cannot cure that.
   */
  refusedKey(error: unknown): boolean {
    return error instanceof Error && this.#refused.has(error);
  }

  /**
   * Tells `onTrouble` of `tracker`'s failure, once: a tracker that said it
   * knows no such file is not in trouble, nor is one asked after closing.
   */
  #trouble(tracker: TrackerAddress, error: unknown): void {
    if (error instanceof DownloadError || this.#closed) return;
    if (this.#told.has(tracker)) return;
    this.#told.add(tracker);
    this.#options.onTrouble?.({ tracker, error });
  }

  #client(tracker: TrackerAddress): Promise<TrackerClient> {
    if (this.#closed) throw new Error("The download stopped asking trackers.");
    let client = this.#clients.get(tracker);
    if (!client) {
      client = TrackerClient.connect(tracker);
      // A tracker that cannot be reached is tried afresh next time.
      client.catch(() => {
        if (this.#clients.get(tracker) === client) {
          this.#clients.delete(tracker);
        }
      });
      this.#clients.set(tracker, client);
    }
    return client;
  }

  #drop(tracker: TrackerAddress): void {
    const client = this.#clients.get(tracker);
    this.#clients.delete(tracker);
    client?.then((c) => c.close(), () => {});
  }
}

/** True for a tracker's connect that failed on the team key it was given. */
function refusedKey(error: unknown): boolean {
  return error instanceof TrackerUnreachableError &&
    error.cause instanceof HandshakeRefusedError &&
    error.cause.reason !== "version";
}

/** Peers from several lists, each address once, in the order first seen. */
export function mergePeers(...lists: PeerAddress[][]): PeerAddress[] {
  const seen = new Map<string, PeerAddress>();
  for (const list of lists) {
    for (const peer of list) {
      const key = formatAddress(peer);
      if (!seen.has(key)) seen.set(key, peer);
    }
  }
  return [...seen.values()];
}
