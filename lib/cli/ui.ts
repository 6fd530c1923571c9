/**
 * `peer ui`: starts the peer and serves its web page (`web/`) on
 * 127.0.0.1 until Ctrl-C, printing the page's address and opening it in the
 * browser when there is one. Also what the prompt's `ui` command starts on
 * its own session.
 *
 * @module
 */

import { join } from "node:path";
import { dataDir } from "../app/data_dir.ts";
import type { Session } from "../app/session.ts";
import type { TrackerAddress } from "../discovery/tracker_client.ts";
import { isLoopbackHost } from "../net/address.ts";
import { DEFAULT_UI_HOST, startWebUi, type WebUi } from "../web/server.ts";
import { pageListenFailure } from "./errors.ts";
import { openBrowser } from "./open_browser.ts";
import { type PeerSessionOptions, startPeerSession } from "./peer_session.ts";
import { listenForStop } from "./stop_signal.ts";

/** Folder inside the data folder that files dropped on the page are kept in. */
export const DROPPED_FOLDER = "dropped";

/** Where and how the page is served. */
export interface UiServeOptions {
  /** Address to serve the page on. @default {DEFAULT_UI_HOST} */
  uiHost?: string;
  /** Port to serve the page on; 0 picks a free one. @default {0} */
  uiPort?: number;
  /** Open the browser. @default {true} */
  open?: boolean;
  /** Prints a line for the user. */
  print: (line: string) => void;
}

/** Options for {@linkcode runUi}: the peer's and the page's. */
export type UiOptions = Omit<PeerSessionOptions, "note"> & UiServeOptions;

/** Runs `peer ui` until Ctrl-C or SIGTERM; resolves with the exit code. */
export async function runUi(options: UiOptions): Promise<number> {
  using stop = listenForStop();
  // The node's news goes to the terminal and, once it serves, the page.
  const page: { ui?: WebUi } = {};
  await using peer = await startPeerSession({
    ...options,
    note: (line) => {
      options.print(line);
      page.ui?.note(line);
    },
  });
  const ui = await serveUi(peer.session, options.tracker, options);
  page.ui = ui;
  try {
    options.print("Press Ctrl-C to stop sharing and close the page.");
    await stop.stopped;
  } finally {
    await ui.close();
  }
  return 0;
}

/**
 * Serves the page for `session`, prints its address (and a warning when it
 * is reachable beyond this machine), and opens the browser when asked.
 */
export async function serveUi(
  session: Session,
  tracker: TrackerAddress,
  options: UiServeOptions,
): Promise<WebUi> {
  const host = options.uiHost ?? DEFAULT_UI_HOST;
  const data = dataDir();
  const port = options.uiPort ?? 0;
  const ui = await startWebUi(session, {
    host,
    port,
    hosts: hostNames(host),
    tracker,
    dropDir: data === undefined ? undefined : join(data, DROPPED_FOLDER),
  }).catch((error) => {
    throw pageListenFailure({ host, port }, error);
  });
  if (!isLoopbackHost(host)) {
    options.print(
      `Warning: the page is served on ${host}, beyond this machine, without encryption: anyone on the network who sees its address (with its key after #token=) can share and get files as you.`,
    );
  }
  options.print(`Web page: ${ui.url}`);
  if (options.open !== false && !(await openBrowser(ui.url))) {
    options.print("Open that address in your browser.");
  }
  return ui;
}

/**
 * Names the page may be reached by when served on `host`, besides the
 * loopback ones: `host` itself, or every address of this machine for a
 * wildcard.
 */
function hostNames(host: string): string[] {
  if (host !== "0.0.0.0" && host !== "::") return [host];
  try {
    return Deno.networkInterfaces().map((i) => i.address);
  } catch {
    return [];
  }
}
