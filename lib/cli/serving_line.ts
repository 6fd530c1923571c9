/**
 * The sharer's status after `Serving on…`: who is downloading right now and
 * how much has been sent, on stderr.
 *
 * ```text
 * Serving 2 downloaders (10.0.0.7:53211, 10.0.0.9:40110) · sent 1.2 GiB · 48.0 MiB/s
 * Serving 1 downloader (198.51.100.4 via the relay) · sent 3.0 MiB · 1.0 MiB/s
 * No one downloading · sent 1.2 GiB
 * ```
 *
 * A downloader the tracker's relay joined to this peer is named by its host
 * (its connection's other end is the relay) and stays named between two
 * of its connections (`swarm/peer_server.ts`).
 *
 * On a terminal it is one live line, redrawn every
 * {@linkcode SERVING_POLL_MS}; elsewhere a plain line at most every
 * {@linkcode PLAIN_INTERVAL_MS}, and only when something changed; with
 * `--json --verbose` one `{"event":"serving",…}` object per change on
 * stdout; nothing with `--quiet` (or `--json` alone).
 *
 * @module
 */

import type { Downloader } from "../app/peer_node.ts";
import { formatAddress } from "../net/connection.ts";
import { formatSize, formatSpeed, toJsonLine } from "./format.ts";
import { PLAIN_INTERVAL_MS, type ProgressLine } from "./progress.ts";
import type { OutputFlags } from "./program.ts";

/** How often the serving line looks at what is being served. */
export const SERVING_POLL_MS = 1_000;
/** How far back the upload speed looks. */
export const SERVING_SPEED_WINDOW_MS = 3_000;
/** Downloaders named in the line; the others are only counted. */
export const NAMED_DOWNLOADERS = 3;

/** What the serving line watches: a {@linkcode PeerNode}. */
export interface ServingSource {
  /** Piece bytes sent since start. */
  readonly uploaded: number;
  /** The downloaders being served right now. */
  downloaders(): Downloader[];
}

/** One look at what is being served. */
export interface ServingState {
  /** The downloaders being served right now, oldest first. */
  downloaders: Downloader[];
  /** Piece bytes sent since start. */
  sent: number;
  /** Recent upload speed. */
  bytesPerSecond: number;
}

/** Options for {@linkcode ServingLine}. */
export interface ServingLineOptions {
  /**
   * Where the text goes: a live line on a terminal, plain lines elsewhere
   * (the logger clears it before each log line). Ignored with `json`.
   */
  progress?: ProgressLine;
  /** Receives one JSON event line per change, instead of text. */
  json?: (line: string) => void;
  /** Clock in ms. @default {performance.now} */
  now?: () => number;
}

/**
 * The words of the serving line.
 *
 * @example
 * ```ts
 * formatServingLine({ downloaders: [], sent: 1024, bytesPerSecond: 0 });
 * // "No one downloading · sent 1.0 KiB"
 * ```
 */
export function formatServingLine(state: ServingState): string {
  const sent = `sent ${formatSize(state.sent)}`;
  const count = state.downloaders.length;
  if (count === 0) return `No one downloading · ${sent}`;
  const names = state.downloaders.slice(0, NAMED_DOWNLOADERS).map(nameOf);
  const more = count > NAMED_DOWNLOADERS
    ? ` and ${count - NAMED_DOWNLOADERS} more`
    : "";
  return `Serving ${count} ${count === 1 ? "downloader" : "downloaders"} (${
    names.join(", ")
  }${more}) · ${sent} · ${formatSpeed(state.bytesPerSecond)}`;
}

/** A downloader as the line names it: its address, or its host via the relay. */
function nameOf(downloader: Downloader): string {
  return downloader.relay
    ? `${downloader.address.host} via the relay`
    : formatAddress(downloader.address);
}

/**
 * The `serving` event of `--json --verbose`:
 * `{"event":"serving","downloaders":[{"address":"10.0.0.7:53211","id":"…","sent":262144}],"sent":1048576,"bytesPerSecond":524288}`;
 * a downloader through the relay has its host as `address` and the relay
 * as `relay` (`{"address":"198.51.100.4","relay":"203.0.113.1:5001",…}`).
 */
export function servingEvent(state: ServingState): string {
  return toJsonLine({
    event: "serving",
    downloaders: state.downloaders.map((downloader) => ({
      address: downloader.relay
        ? downloader.address.host
        : formatAddress(downloader.address),
      ...(downloader.relay ? { relay: formatAddress(downloader.relay) } : {}),
      id: downloader.id,
      sent: downloader.sent,
    })),
    sent: state.sent,
    bytesPerSecond: Math.round(state.bytesPerSecond),
  });
}

/**
 * Shows what a peer node serves; call {@linkcode tick} as often as it
 * should look (every {@linkcode SERVING_POLL_MS}).
 */
export class ServingLine {
  #source: ServingSource;
  #options: ServingLineOptions;
  #now: () => number;
  #samples: { at: number; sent: number }[] = [];
  /** Who was shown last, and the bytes sent then. */
  #shownWho: string;
  #shownSent: number;
  #shownAt = -Infinity;

  /** Watches `source`; what it serves now counts as already shown. */
  constructor(source: ServingSource, options: ServingLineOptions) {
    this.#source = source;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    const state = this.#look();
    this.#shownWho = who(state);
    this.#shownSent = state.sent;
  }

  /**
   * Looks at the node and shows what changed: a live line is redrawn every
   * time; a plain line or a JSON event only after a change (a plain line at
   * most every PLAIN_INTERVAL_MS; a JSON event at once when downloaders
   * come or go, else at most that often).
   */
  tick(): void {
    const state = this.#look();
    const now = this.#now();
    const { progress, json } = this.#options;
    if (!json && progress?.live) return progress.show(formatServingLine(state));
    const people = who(state);
    const changed = people !== this.#shownWho || state.sent !== this.#shownSent;
    const due = now - this.#shownAt >= PLAIN_INTERVAL_MS;
    if (!changed || !(due || (json && people !== this.#shownWho))) return;
    this.#shownWho = people;
    this.#shownSent = state.sent;
    this.#shownAt = now;
    if (json) json(servingEvent(state));
    else progress?.show(formatServingLine(state));
  }

  #look(): ServingState {
    const now = this.#now();
    const sent = this.#source.uploaded;
    this.#samples.push({ at: now, sent });
    while (
      this.#samples.length > 2 &&
      now - this.#samples[0].at > SERVING_SPEED_WINDOW_MS
    ) {
      this.#samples.shift();
    }
    const first = this.#samples[0];
    const seconds = (now - first.at) / 1000;
    return {
      downloaders: this.#source.downloaders(),
      sent,
      bytesPerSecond: seconds > 0 ? (sent - first.sent) / seconds : 0,
    };
  }
}

/** Flags that decide how the serving line shows. */
export interface ServingFlags extends OutputFlags {
  json?: boolean;
}

/**
 * Starts the serving line the flags ask for, looking every
 * SERVING_POLL_MS until disposed (which erases a live line): text through
 * `progress`, JSON events on stdout with `--json --verbose`, nothing with
 * `--quiet` or `--json` alone.
 *
 * @example
 * ```ts
 * using _serving = showServing(node, flags, progress);
 * await stopped;
 * ```
 */
export function showServing(
  source: ServingSource,
  flags: ServingFlags,
  progress: ProgressLine,
): Disposable {
  if (flags.quiet || (flags.json && !flags.verbose)) {
    return { [Symbol.dispose]() {} };
  }
  const line = new ServingLine(
    source,
    flags.json ? { json: (text) => console.log(text) } : { progress },
  );
  line.tick();
  const timer = setInterval(() => line.tick(), SERVING_POLL_MS);
  return {
    [Symbol.dispose]() {
      clearInterval(timer);
      progress.clear();
    },
  };
}

/** The downloaders of `state` as one comparable string. */
function who(state: ServingState): string {
  return state.downloaders.map((downloader) =>
    `${formatAddress(downloader.address)} ${downloader.id}`
  ).join(",");
}
