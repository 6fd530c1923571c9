/**
 * The web page's server: the page's files and its API on one port of
 * 127.0.0.1 (or `--ui-host`), driving a {@linkcode Session} that the prompt
 * may share. Every request passes the guard first (`guard.ts`); pages get
 * the state through the event stream whenever it changes.
 *
 * @module
 */

import { resolve } from "node:path";
import { formatAddress } from "../net/connection.ts";
import { settleWithin } from "../util/settle_within.ts";
import { terminalSafe } from "../util/terminal_safe.ts";
import type { Session } from "../app/session.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import { Activity } from "./activity.ts";
import { EventStreams } from "./events.ts";
import {
  checkRequest,
  type GuardOptions,
  newToken,
  withSecurityHeaders,
} from "./guard.ts";
import { type ApiContext, handleApi } from "./routes.ts";
import { forPage } from "./_tracked.ts";
import { webState } from "./state.ts";
import { StaticPage } from "./static_files.ts";

/** Address the page is served on unless told otherwise: loopback only. */
export const DEFAULT_UI_HOST = "127.0.0.1";
/** Least time between two state events. */
export const STATE_EVENT_MS = 250;
/** How often running transfers' progress is sent. */
export const PROGRESS_EVENT_MS = 1_000;
/** Longest wait for requests still running when the server closes. */
export const SHUTDOWN_MS = 2_000;
/**
 * How often the tracker is checked for the status line; it is checked at
 * once too when an API call answers 502 or a note speaks of the tracker.
 */
export const TRACKER_CHECK_MS = 30_000;
/** A note that speaks of the tracker (`Cannot reach tracker at …`). */
const TRACKER_TROUBLE = /\btracker\b/i;
/**
 * A note of the node's that tells of a failure (`The tracker at … could not
 * be used (…)`): sent to the page as an error.
 */
const NODE_FAILURE =
  /^(The tracker at .+ could not be used|Cannot reach tracker)\b/;

/** Options for {@linkcode startWebUi}. */
export interface WebUiOptions {
  /** Address to listen on. @default {DEFAULT_UI_HOST} */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default {0} */
  port?: number;
  /** Names the page may be reached by besides loopback ones (with `host` beyond loopback). @default {none} */
  hosts?: readonly string[];
  /** The session's tracker, shown in the status line. */
  tracker: TrackerAddress;
  /** Where files dropped on the page are stored; without one, dropping is refused. */
  dropDir?: string;
  /** The token; tests give their own. @default {a new random one} */
  token?: string;
}

/** A running web page server; see {@linkcode startWebUi}. */
export interface WebUi {
  /** The address to open, with the token after `#token=`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** This run's token. */
  readonly token: string;
  /**
   * Tells every open page something, in one sentence; `error` marks a
   * failure (by default, a tracker that could not be used).
   */
  note(text: string, error?: boolean): void;
  /** Stops serving and ends every page's event stream. */
  close(): Promise<void>;
}

/** Serves the page for `session` until {@linkcode WebUi.close}. */
export async function startWebUi(
  session: Session,
  options: WebUiOptions,
): Promise<WebUi> {
  const page = await StaticPage.load();
  const token = options.token ?? newToken();
  const activity = new Activity();
  const events = new EventStreams();
  const host = options.host ?? DEFAULT_UI_HOST;
  let trackerReachable: boolean | null = null;
  let lastSent = 0;
  let pending: ReturnType<typeof setTimeout> | undefined;

  const state = () =>
    webState({
      session,
      activity,
      tracker: formatAddress(options.tracker),
      trackerReachable,
      outDir: resolve(session.outDir),
    });
  const changed = () => {
    if (pending !== undefined || events.size === 0) return;
    const wait = Math.max(0, lastSent + STATE_EVENT_MS - performance.now());
    pending = setTimeout(() => {
      pending = undefined;
      lastSent = performance.now();
      events.send("state", state());
    }, wait);
  };
  const context: ApiContext = {
    session,
    activity,
    dropDir: options.dropDir,
    state,
    changed,
    // Notes carry names and paths: shown escaped, as in the state. What
    // the node tells (a share dropped, reachability) changes the state too.
    // A failure is flagged (`"error": true`): the page shows it as one.
    note: (text, error = false) => {
      const safe = terminalSafe(forPage(text));
      events.send("note", error ? { text: safe, error: true } : { text: safe });
      // A tracker that failed: the status line asks again now.
      if (TRACKER_TROUBLE.test(text)) checkTracker();
      changed();
    },
  };
  const stopListening = session.listen((event) => {
    activity.record(event);
    changed();
  });
  // What the session changes without an event: bytes sent to downloaders,
  // who downloads, and shares the node dropped (changed or vanished).
  let lastServing = servingMark(session);
  const progress = setInterval(() => {
    const serving = servingMark(session);
    if (
      session.transfers().length > 0 || activity.uploads().length > 0 ||
      serving !== lastServing
    ) {
      lastServing = serving;
      changed();
    }
  }, PROGRESS_EVENT_MS);
  let checking: Promise<void> | undefined;
  const checkTracker = () =>
    checking ??= (async () => {
      try {
        const now = await session.trackerReachable();
        if (now !== trackerReachable) {
          trackerReachable = now;
          changed();
        }
      } finally {
        checking = undefined;
      }
    })();
  const trackerTimer = setInterval(checkTracker, TRACKER_CHECK_MS);
  checkTracker();

  const guard: GuardOptions = { port: 0, hosts: options.hosts, token };
  const stop = () => {
    stopListening();
    clearInterval(progress);
    clearInterval(trackerTimer);
    clearTimeout(pending);
    events.close();
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = serve(host, options.port ?? 0, async (request) => {
      const refused = checkRequest(request, guard);
      if (refused) return withSecurityHeaders(refused);
      const path = new URL(request.url).pathname;
      if (path === "/api/events" && request.method === "GET") {
        return withSecurityHeaders(
          events.open({ event: "state", data: state() }),
        );
      }
      if (path.startsWith("/api/")) {
        const answer = await handleApi(request, context);
        // The tracker could not be used: the status line asks again now.
        if (answer.status === 502) checkTracker();
        return withSecurityHeaders(answer);
      }
      const answer = request.method === "GET" ? page.answer(path) : undefined;
      return withSecurityHeaders(
        answer ?? new Response("Not found.", { status: 404 }),
      );
    });
  } catch (error) {
    // Not served (a port in use, an address not of this machine): nothing
    // of the page may keep running.
    stop();
    await checking?.catch(() => {});
    throw error;
  }
  guard.port = server.addr.port;
  const shown = host === "0.0.0.0" || host === "::" ? DEFAULT_UI_HOST : host;
  const url = `http://${
    formatAddress({ host: shown, port: server.addr.port })
  }/#token=${token}`;
  return {
    url,
    port: server.addr.port,
    token,
    note: (text, error = NODE_FAILURE.test(text)) => context.note(text, error),
    async close() {
      stop();
      // An upload still arriving must not hold the peer open.
      await settleWithin(server.shutdown(), SHUTDOWN_MS);
    },
  };
}

/**
 * What is served now, as one string: each shared file with its privacy,
 * bytes sent and downloaders, and the total sent; a change is news.
 */
function servingMark(session: Session): string {
  const status = session.status();
  return JSON.stringify([
    status.uploaded,
    status.shared.map((s) => [s.meta.id, s.private, s.uploaded, s.downloaders]),
  ]);
}

/** `Deno.serve` on `hostname` and `port`, quietly (no "Listening on" line). */
function serve(
  hostname: string,
  port: number,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname, port, onListen: () => {} }, handler);
}
