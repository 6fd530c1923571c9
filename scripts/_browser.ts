/**
 * Real browsers for the web page's tests and screenshots: Debian's headless
 * Chromium and Firefox ESR driven by puppeteer-core (CDP and WebDriver BiDi),
 * each with a fresh profile and no network of its own, and
 * `peer ui` started as a child process with its own data folder.
 *
 * @module
 */

import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { type Child, readyLine, spawnEntry } from "./_child.ts";
import { settleWithin } from "../lib/util/settle_within.ts";

/** Ms a browser gets to close before its process is killed. */
const BROWSER_CLOSE_MS = 5_000;

/** A browser the page is tested in. */
export interface BrowserChoice {
  /** `chromium` or `firefox`. */
  name: "chromium" | "firefox";
  /** Its executable. */
  path: string;
}

/** Where each browser may be installed, first found wins. */
export const BROWSER_PATHS: Readonly<Record<BrowserChoice["name"], string[]>> =
  {
    chromium: [
      "/usr/bin/chromium-headless-shell",
      "/usr/bin/chromium",
      "/usr/bin/google-chrome",
    ],
    firefox: ["/usr/bin/firefox-esr", "/usr/bin/firefox"],
  };

/** Chromium's flags in a test: headless, offline, nothing remembered. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Firefox's preferences in a test: no connections of its own. */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "toolkit.telemetry.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
};
/** Firefox's preference that makes pages see `prefers-color-scheme: dark`. */
const FIREFOX_DARK = { "layout.css.prefers-color-scheme.content-override": 0 };

/** The browser `name` if installed (`P2P_BROWSER` may name a Chromium). */
export function findBrowser(
  name: BrowserChoice["name"] = "chromium",
): BrowserChoice | undefined {
  const given = name === "chromium" ? Deno.env.get("P2P_BROWSER") : undefined;
  for (const path of [...(given ? [given] : []), ...BROWSER_PATHS[name]]) {
    try {
      if (Deno.statSync(path).isFile) return { name, path };
    } catch {
      // Not there.
    }
  }
  return undefined;
}

/** Options for {@linkcode launchBrowser}. */
export interface LaunchOptions {
  /** Pages see a system in dark mode. @default {false} */
  dark?: boolean;
}

/** A browser with a fresh profile, closed (and its profile removed) on dispose. */
export interface TestBrowser extends AsyncDisposable {
  /** The browser. */
  browser: Browser;
  /** A new tab, `width` × `height` CSS pixels at `scale` device pixels each. */
  page(width?: number, height?: number, scale?: number): Promise<Page>;
}

/** Launches `choice` with its profile in `profile`. */
function startBrowser(
  choice: BrowserChoice,
  profile: string,
  options: LaunchOptions,
): Promise<Browser> {
  return choice.name === "firefox"
    ? puppeteer.launch({
      browser: "firefox",
      executablePath: choice.path,
      userDataDir: profile,
      headless: true,
      extraPrefsFirefox: {
        ...FIREFOX_PREFS,
        ...(options.dark ? FIREFOX_DARK : {}),
      },
    })
    : puppeteer.launch({
      executablePath: choice.path,
      args: CHROMIUM_ARGS,
      userDataDir: profile,
      headless: true,
    });
}

/** Starts `choice` (see {@linkcode findBrowser}). */
export async function launchBrowser(
  choice: BrowserChoice,
  options: LaunchOptions = {},
): Promise<TestBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "p2p-browser-" });
  const browser = await startBrowser(choice, profile, options).catch(
    async (error) => {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    },
  );
  return {
    browser,
    async page(width = 1200, height = 900, scale = 1) {
      const page = await browser.newPage();
      await setViewport(page, { width, height, deviceScaleFactor: scale });
      if (options.dark && choice.name === "chromium") {
        await page.emulateMediaFeatures([
          { name: "prefers-color-scheme", value: "dark" },
        ]);
      }
      return page;
    },
    async [Symbol.asyncDispose]() {
      const process = browser.process();
      await settleWithin(browser.close(), BROWSER_CLOSE_MS);
      // Closed or not in that time, its process is ended: a test's clean-up
      // must neither hang nor leave a browser running.
      try {
        process?.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** Times the page's size is read after a BiDi resize, VIEWPORT_TRY_MS apart. */
const VIEWPORT_TRIES = 20;
const VIEWPORT_TRY_MS = 100;

/**
 * `page.setViewport`, or where the browser refuses one of the commands it
 * sends (puppeteer 25 also sets the screen's orientation over WebDriver
 * BiDi, and Firefox ESR 140 answers that with "unknown command"), BiDi's
 * own `browsingContext.setViewport`, which every BiDi browser has; then
 * checked in the page.
 */
async function setViewport(
  page: Page,
  viewport: { width: number; height: number; deviceScaleFactor: number },
): Promise<void> {
  try {
    await page.setViewport(viewport);
    return;
  } catch (error) {
    const context = (page.mainFrame() as unknown as {
      browsingContext?: BidiContext;
    }).browsingContext;
    if (!String(error).includes("unknown command") || !context) throw error;
    await context.setViewport({
      viewport: { width: viewport.width, height: viewport.height },
      devicePixelRatio: viewport.deviceScaleFactor,
    });
  }
  const wanted = [viewport.width, viewport.height, viewport.deviceScaleFactor];
  // The window may take a moment to take the new size.
  let seen: number[] = [];
  for (let tries = 0; tries < VIEWPORT_TRIES; tries++) {
    seen = await page.evaluate(
      "[innerWidth, innerHeight, devicePixelRatio]",
    ) as number[];
    if (seen.every((value, i) => value === wanted[i])) return;
    await new Promise((resolve) => setTimeout(resolve, VIEWPORT_TRY_MS));
  }
  throw new Error(
    `The browser shows the page at ${seen.join(" × ")}, not ${
      wanted.join(" × ")
    }`,
  );
}

/** The one command of a WebDriver BiDi browsing context used above. */
interface BidiContext {
  setViewport(options: {
    viewport: { width: number; height: number };
    devicePixelRatio: number;
  }): Promise<void>;
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
  const line = await readyLine(child, /^Web page: /);
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
