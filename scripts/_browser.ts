/**
 * A real browser for the web page's tests and screenshots: Debian's
 * headless Chromium driven by puppeteer-core, with a fresh profile and no
 * network of its own (no background requests, no sandbox as root), and
 * `peer ui` started as a child process with its own data folder.
 *
 * @module
 */

import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { type Child, READY_TIMEOUT_MS, spawnEntry } from "./_child.ts";

/** Where a browser may be installed, first found wins; `P2P_BROWSER` first. */
export const BROWSER_PATHS = [
  "/usr/bin/chromium-headless-shell",
  "/usr/bin/chromium",
  "/usr/bin/google-chrome",
];

/** Flags for a browser in a test: headless, offline, nothing remembered. */
export const BROWSER_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The browser to drive, or undefined when none is installed. */
export function findBrowser(): string | undefined {
  const given = Deno.env.get("P2P_BROWSER");
  for (const path of given ? [given, ...BROWSER_PATHS] : BROWSER_PATHS) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/** A browser with a fresh profile, closed (and its profile removed) on dispose. */
export interface TestBrowser extends AsyncDisposable {
  /** The browser. */
  browser: Browser;
  /** A new tab, `width` × `height` CSS pixels. */
  page(width?: number, height?: number, scale?: number): Promise<Page>;
}

/** Starts the browser at `path` (see {@linkcode findBrowser}). */
export async function launchBrowser(path: string): Promise<TestBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "p2p-browser-" });
  const browser = await puppeteer.launch({
    executablePath: path,
    args: BROWSER_ARGS,
    userDataDir: profile,
    headless: true,
  });
  return {
    browser,
    async page(width = 1200, height = 900, scale = 1) {
      const page = await browser.newPage();
      await page.setViewport({ width, height, deviceScaleFactor: scale });
      return page;
    },
    async [Symbol.asyncDispose]() {
      await browser.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** A `peer ui` child and the page address it printed. */
export interface UiPeer extends AsyncDisposable {
  /** The process. */
  child: Child;
  /** The address with the token, as printed. */
  url: string;
  /** `http://127.0.0.1:PORT`, for requests of the test's own. */
  origin: string;
}

/**
 * Starts `peer ui --no-open` on 127.0.0.1 ports 0 with `tracker`, its data
 * folder `home` (P2P_HOME) and `extra` arguments; resolves once it printed
 * the page's address.
 */
export async function spawnUiPeer(
  tracker: string,
  home: string,
  extra: string[] = [],
): Promise<UiPeer> {
  const child = spawnEntry("peer.ts", [
    "ui",
    "--no-open",
    "--tracker",
    tracker,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...extra,
  ], { env: { P2P_HOME: home } });
  const line = await child.waitForLine(/^Web page: /, READY_TIMEOUT_MS);
  const url = line.slice("Web page: ".length).trim();
  return {
    child,
    url,
    origin: new URL(url).origin,
    [Symbol.asyncDispose]: async () => {
      await child.stop();
    },
  };
}

/**
 * Drops a file of `bytes` named `name` on the element `selector`, as a user
 * dragging it from the desktop would (dragenter, dragover, drop).
 */
export async function dropFile(
  page: Page,
  selector: string,
  name: string,
  bytes: Uint8Array,
): Promise<void> {
  const base64 = bytes.toBase64();
  await page.evaluate(`(() => {
    const text = atob(${JSON.stringify(base64)});
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const data = new DataTransfer();
    data.items.add(new File([bytes], ${JSON.stringify(name)}));
    const zone = document.querySelector(${JSON.stringify(selector)});
    for (const type of ["dragenter", "dragover", "drop"]) {
      zone.dispatchEvent(new DragEvent(type, {
        bubbles: true, cancelable: true, dataTransfer: data,
      }));
    }
  })()`);
}
