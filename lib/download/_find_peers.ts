/**
 * Where a download's peers come from: the tracker is asked who holds a file
 * (again while the get waits, if it knows no such file yet or cannot be
 * reached: `_patient_lookup.ts`), and asked again (reconnecting once if it
 * went away) for peers that joined since. Trackers that all refuse the
 * team key are not waited for: the LAN and the DHT get one short look. When the tracker holds several metadata variants for one ID, each
 * is tried in turn while the download of the one before fails in a way
 * another variant may fix.
 *
 * The rest of a download sees only {@linkcode FoundPeers}, so other sources
 * of peers (LAN discovery, a DHT) plug in here.
 *
 * @module
 */

import { type Address, formatAddress } from "../net/connection.ts";
import type { FileMeta, PeerAddress } from "../protocol/messages.ts";
import {
  TrackerClient,
  TrackerError,
  TrackerUnreachableError,
} from "../discovery/tracker_client.ts";
import { ManifestError } from "../protocol/manifest.ts";
import { DownloadError } from "./_download_error.ts";
import {
  mergePeers,
  TrackerPanel,
  type TrackerQuestion,
} from "./_tracker_panel.ts";
import type { TrackerTrouble } from "../discovery/tracker_trouble.ts";
import { NO_PRIVATE_SHARER, notKnown } from "./_not_known.ts";
import { ambiguousId } from "./_ambiguous.ts";
import {
  FIND_MS,
  type Finder,
  type FinderOrigin,
  type LocalPeers,
  PeerFinders,
} from "./_peer_finders.ts";
import { FULL_ID_CHARS } from "../protocol/limits.ts";
import { trackersOf } from "../discovery/tracker_group.ts";
import type { TrackerAddress } from "../discovery/tracker_types.ts";
import { listed } from "./_peer_pool.ts";
import { askPatiently, foundNowhere } from "./_patient_lookup.ts";
import type { TrackersDown } from "./types.ts";
import {
  deriveShareKeys,
  openMetadata,
  sealMetadata,
  type ShareKeys,
} from "../secure/share_keys.ts";
import { decodeSealedMeta, encodeSealedMeta } from "../protocol/sealed_meta.ts";

/** One metadata variant of a file, the peers that hold it, and how to ask for more. */
export interface FoundPeers {
  /** The variant's metadata. */
  meta: FileMeta;
  /** The peers that hold it, as first found. */
  peers: PeerAddress[];
  /** How many metadata variants the tracker holds for the ID. */
  variants: number;
  /** Asks again for the peers of this variant (those that joined since). */
  refresh: () => Promise<{ peers: PeerAddress[] }>;
  /** This host's address as the tracker sees it (it lists this peer so). */
  seenAs: string;
  /** Where the peer at `host:port` was found, when not from a tracker. */
  foundOn?: (address: string) => FinderOrigin | undefined;
  /** A private share's sealed metadata, as the tracker holds it. */
  blob?: Uint8Array;
  /**
   * Asks the same tracker for another (public) file by its full ID: the
   * files of a folder are found on their own too. Absent for a private
   * share, whose files are not registered on their own.
   */
  lookUpFile?: FileLookup;
}

/**
 * Asks a tracker for a file by its full ID: its metadata and peers, or with
 * `known` (the metadata was checked before) only its peers.
 */
export type FileLookup = (
  id: string,
  known?: boolean,
) => Promise<{ meta?: FileMeta; peers: PeerAddress[] }>;

/**
 * What a download looks for: a file by its ID (or a unique prefix), or a
 * private share by its link's secret (and the short ID the link shows,
 * checked against what the sealed metadata says).
 */
export type Wanted = { id: string } | { secret: Uint8Array; shortId?: string };

/** Options for {@linkcode tryEachVariant}. */
export interface FindPeersOptions {
  /** Tracker to ask for peers (and the first to meet peers at). */
  tracker: TrackerAddress;
  /** More trackers to ask, all at once with `tracker`. @default {none} */
  moreTrackers?: readonly TrackerAddress[];
  /** Finds peers on the local network too (and the file with no tracker). @default {none} */
  lan?: LocalPeers;
  /** Finds peers in the DHT too (and the file with no tracker). @default {none} */
  dht?: LocalPeers;
  /** Cancels the lookup (the tracker connection closes) and the attempts. */
  signal?: AbortSignal;
  /** Receives one line each time the next variant is tried. */
  log?: (line: string) => void;
  /**
   * Ms to keep asking while the tracker knows no file with the ID (nobody
   * shares it yet) or no tracker can be reached; 0 fails at once.
   * @default {0}
   */
  waitMs?: number;
  /**
   * Called each time the trackers are to be asked again while waiting:
   * `trackersDown` while none could be reached.
   */
  onWaiting?: (trackersDown: boolean) => void;
  /**
   * Called once for each tracker that could not be used while another
   * answered. @default {nothing}
   */
  onTrackerTrouble?: (trouble: TrackerTrouble) => void;
  /**
   * Called once when no tracker could be asked (the error says why) while
   * they are asked again or the LAN or the DHT go on looking (`how`).
   * @default {nothing}
   */
  onTrackersDown?: (error: unknown, how: TrackersDown) => void;
}

/**
 * Looks up the file with ID (or unique ID prefix) `id` and resolves as
 * `attempt` does with what was found. If the tracker holds several metadata
 * variants for the ID (someone registered wrong piece hashes), a variant
 * whose attempt fails with a retryable {@linkcode DownloadError} is followed
 * by the next. The tracker connection is closed when this settles.
 */
export async function tryEachVariant<T>(
  wanted: Wanted,
  attempt: (found: FoundPeers) => Promise<T>,
  options: FindPeersOptions,
): Promise<T> {
  const { signal } = options;
  const keys = "secret" in wanted ? deriveShareKeys(wanted.secret) : undefined;
  const shortId = "secret" in wanted ? wanted.shortId : undefined;
  const id = "id" in wanted ? wanted.id : keys!.lookupKey;
  const ask = (variant: number): TrackerQuestion<Found> => (client, tracker) =>
    keys
      ? lookUpPrivate(client, keys, shortId)
      : lookUp(client, id, variant, tracker);
  const panel = new TrackerPanel(
    trackersOf(options.tracker, options.moreTrackers),
    {
      notKnown: (by, troubles) => notKnown(keys ? undefined : id, by, troubles),
      onTrouble: options.onTrackerTrouble,
    },
  );
  // The LAN and the DHT need the full ID (or a private share's lookup key).
  const findId = keys?.lookupKey ?? (id.length === FULL_ID_CHARS ? id : "");
  const finders: Finder[] = [
    ...(options.lan ? [{ origin: "lan" as const, peers: options.lan }] : []),
    ...(options.dht ? [{ origin: "dht" as const, peers: options.dht }] : []),
  ];
  const lan = finders.length > 0 && findId
    ? new PeerFinders(finders, {
      id: findId,
      psk: keys?.psk,
      idPrefix: shortId,
      signal,
      log: options.log,
    })
    : undefined;
  // Cancelling while no tracker has answered hangs up on them all.
  const hangUp = () => panel.close();
  signal?.addEventListener("abort", hangUp, { once: true });
  // The trackers are no longer asked again once the file is found.
  const stopAsking = new AbortController();
  const asking = signal
    ? AbortSignal.any([signal, stopAsking.signal])
    : stopAsking.signal;
  const waitMs = options.waitMs ?? 0;
  // The LAN and the DHT were there, but cannot look for a short ID.
  const tooShort = finders.length > 0 && !lan;
  let toldDown = false;
  // `refused`: the trackers refused the team key, which waiting will not
  // cure: the LAN and the DHT get one short look, as with no wait.
  const tellDown = (error: unknown, retrying: boolean, refused = false) => {
    if (toldDown || asking.aborted) return;
    toldDown = true;
    options.onTrackersDown?.(error, {
      retryMs: retrying ? waitMs : 0,
      lookMs: lan ? (refused ? FIND_MS : Math.max(waitMs, FIND_MS)) : 0,
      shortId: tooShort,
    });
  };
  try {
    // Every tracker is asked for the file, and the LAN listened to; the
    // first to answer is asked about its other variants.
    const fromTrackers: Promise<From> = askPatiently(
      () => untilAborted(panel.first(ask(0)), asking, () => {}),
      {
        waitMs,
        signal: asking,
        mayPass: (error) => panel.mayAnswerLater(error),
        onWaiting: options.onWaiting,
        onDown: (error) => tellDown(error, true),
      },
    );
    const fromLan: Promise<From> | undefined = lan?.found(waitMs)
      .then(({ meta, peers }) => ({
        // A private share found on the LAN: sealed here as the sharer would
        // (the swarm registers the download with it).
        answer: {
          meta,
          peers,
          variants: 1,
          ...(keys
            ? {
              blob: sealMetadata(keys.metadataKey, encodeSealedMeta(meta)),
            }
            : {}),
        },
        localHost: "",
      }));
    fromTrackers.catch((error) => {
      // No tracker to ask: said now, not when the LAN and DHT give up.
      const unknown = error instanceof DownloadError && error.unknownId;
      const refused = panel.refusedKey(error);
      if (refused) lan?.shorten();
      if (fromLan && !unknown) tellDown(error, false, refused);
    });
    fromLan?.catch(() => {});
    let from = await Promise.any(
      fromLan ? [fromTrackers, fromLan] : [fromTrackers],
    )
      .catch((error: AggregateError) => {
        signal?.throwIfAborted();
        const [trackers, finders] = error.errors;
        throw foundNowhere(trackers, { finders, shortId: tooShort });
      });
    stopAsking.abort();
    for (let variant = 0;; variant++) {
      const found = from.answer;
      const tracker = from.tracker;
      found.peers = mergePeers(found.peers, lan?.peers() ?? []);
      options.log?.(
        `${
          tracker
            ? `Tracker ${formatAddress(tracker)} lists`
            : "Looking without a tracker finds"
        } ${found.peers.length} ${
          found.peers.length === 1 ? "peer" : "peers"
        } for ${found.meta.name}${
          found.variants > 1
            ? ` (variant ${variant + 1} of ${found.variants})`
            : ""
        }${
          found.peers.length > 0
            ? `: ${listed(found.peers.map(formatAddress))}`
            : ""
        }.`,
      );
      const fullId = found.meta.id;
      // Asking again brings only the peers (the metadata is known), from
      // every tracker and the LAN.
      const trackerPeers = () =>
        tracker
          ? panel.peersEverywhere(
            tracker,
            (client, at) =>
              keys
                ? sealedPeersOf(client, keys.lookupKey, at)
                : peersOf(client, fullId, variant, at),
          )
          : Promise.resolve({ peers: [] });
      try {
        return await attempt({
          ...found,
          refresh: async () => ({
            peers: mergePeers((await trackerPeers()).peers, lan?.peers() ?? []),
          }),
          lookUpFile: keys || !tracker
            ? undefined
            : (fileId: string, known?: boolean) =>
              known
                ? panel.peersEverywhere(
                  tracker,
                  (client, at) => peersOf(client, fileId, 0, at),
                )
                : panel.first((client, at) => lookUp(client, fileId, 0, at))
                  .then((answered) => answered.answer),
          // Behind a NAT the tracker lists this peer at its router's address.
          seenAs: found.observed ?? from.localHost,
          foundOn: (address) => lan?.originOf(address),
        });
      } catch (error) {
        const retry = error instanceof DownloadError && error.retryable &&
          variant + 1 < found.variants && tracker !== undefined;
        if (!retry) throw error;
        options.log?.(`${error.message} Trying the next variant.`);
        from = { ...from, answer: await panel.ask(tracker, ask(variant + 1)) };
      }
    }
  } finally {
    stopAsking.abort();
    signal?.removeEventListener("abort", hangUp);
    panel.close();
    lan?.close();
  }
}

/**
 * Resolves as `pending` does, or rejects with the abort reason as soon as
 * `signal` aborts; a value that arrives too late goes to `discard`.
 */
function untilAborted<T>(
  pending: Promise<T>,
  signal: AbortSignal | undefined,
  discard: (late: T) => void,
): Promise<T> {
  if (!signal) return pending;
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      reject(signal.reason);
      pending.then(discard, () => {});
    };
    signal.addEventListener("abort", abort, { once: true });
    pending.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", abort)
    );
  });
}

/**
 * Where the file was found: the answer, the tracker that gave it (none when
 * the LAN did), and this host's address on that connection.
 */
interface From {
  answer: Found;
  tracker?: TrackerAddress;
  localHost: string;
}

/** What a lookup found: the file, its peers, and this peer as the tracker sees it. */
interface Found {
  meta: FileMeta;
  peers: PeerAddress[];
  variants: number;
  observed?: string;
  /** A private share's sealed metadata. */
  blob?: Uint8Array;
}

/**
 * A private share's metadata and peers: the tracker knows them under the
 * lookup key; the metadata opens only with the link's key. Not found, and
 * metadata that does not open, are one and the same to the user.
 */
async function lookUpPrivate(
  client: TrackerClient,
  keys: ShareKeys,
  shortId: string | undefined,
): Promise<Found & { blob: Uint8Array }> {
  let found: { blob: Uint8Array; peers: PeerAddress[]; observed?: string };
  try {
    found = await client.querySealed(keys.lookupKey);
  } catch (error) {
    if (error instanceof TrackerError && error.code === "not-found") {
      throw new DownloadError(NO_PRIVATE_SHARER, { unknownId: true });
    }
    throw error;
  }
  let meta: FileMeta;
  try {
    meta = decodeSealedMeta(openMetadata(keys.metadataKey, found.blob));
  } catch (error) {
    // It opened with the link's key: the secret matched; the folder is bad.
    if (error instanceof ManifestError) throw unsafeFolder("this link", error);
    throw new DownloadError(NO_PRIVATE_SHARER);
  }
  if (shortId !== undefined && !meta.id.startsWith(shortId)) {
    throw new DownloadError(NO_PRIVATE_SHARER);
  }
  return {
    meta,
    peers: found.peers,
    variants: 1,
    blob: found.blob,
    observed: found.observed,
  };
}

async function lookUp(
  client: TrackerClient,
  id: string,
  variant: number,
  tracker: Address,
): Promise<Found> {
  let found: Found;
  try {
    found = await client.query(id, { variant });
  } catch (error) {
    if (error instanceof TrackerError && error.code === "not-found") {
      throw notKnown(id, [tracker], []);
    }
    if (
      error instanceof TrackerUnreachableError &&
      error.cause instanceof ManifestError
    ) {
      throw unsafeFolder(
        `the tracker at ${formatAddress(tracker)}`,
        error.cause,
      );
    }
    if (error instanceof TrackerError && error.code === "ambiguous") {
      throw ambiguousId(id, error.candidates);
    }
    throw error;
  }
  // The whole-file check compares with this ID: it must be the one asked
  // for, or a tracker (or someone between) could substitute another file.
  if (!found.meta.id.startsWith(id.toLowerCase())) {
    throw new DownloadError(
      `The tracker at ${
        formatAddress(tracker)
      } answered with another file than ID ${id}; it cannot be trusted.`,
    );
  }
  return found;
}

/**
 * A folder whose manifest breaks the receiving side's path rules, as one
 * sentence naming the path and the rule; nothing was created for it.
 */
function unsafeFolder(source: string, error: ManifestError): DownloadError {
  const reason = error.message.replace(/^Refusing/, "refusing");
  return new DownloadError(
    `Cannot save the folder ${source} describes, nothing was created: ${reason}`,
    { cause: error },
  );
}

/** The peers of the private file under `lookup`, checked to be its. */
async function sealedPeersOf(
  client: TrackerClient,
  lookup: string,
  tracker: Address,
): Promise<{ peers: PeerAddress[] }> {
  const found = await client.querySealedPeers(lookup);
  if (found.id !== lookup) {
    throw new DownloadError(
      `The tracker at ${
        formatAddress(tracker)
      } answered with another private file; it cannot be trusted.`,
    );
  }
  return found;
}

/** The peers of `id`'s `variant`, checked to be that file's. */
async function peersOf(
  client: TrackerClient,
  id: string,
  variant: number,
  tracker: Address,
): Promise<{ peers: PeerAddress[] }> {
  const found = await client.queryPeers(id, { variant });
  if (found.id !== id) {
    throw new DownloadError(
      `The tracker at ${
        formatAddress(tracker)
      } answered with another file than ID ${id}; it cannot be trusted.`,
    );
  }
  return found;
}
