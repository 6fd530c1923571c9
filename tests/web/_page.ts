/**
 * What the browser tests of the page share: `peer ui` with a tracker and
 * the page open in a real browser ({@linkcode pageFixture}), asking the
 * page ({@linkcode inPage}, {@linkcode until}), and registering tests in
 * each browser installed ({@linkcode eachBrowser}).
 *
 * @module
 */

import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { requiring, tempDir, within } from "../fixtures.ts";
import { readyLine, spawnEntry } from "../../scripts/_child.ts";
import {
  type BrowserChoice,
  findBrowser,
  launchBrowser,
  spawnUiPeer,
} from "../../scripts/_browser.ts";

/** Each browser the page is tested in, and the package that brings it. */
export const BROWSERS = [
  { name: "chromium", package: "chromium-headless-shell" },
  { name: "firefox", package: "firefox-esr" },
] as const;
/** Longest wait for anything the page should show. */
export const SHOWN_MS = 30_000;
/** How often `until` asks the page. */
const POLL_MS = 50;

/** The token in a page address. */
export function tokenOf(url: string): string {
  return new URL(url).hash.slice("#token=".length);
}

/** Evaluates `expression` in the page (in-page code stays a string: no DOM types here). */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/**
 * Waits until `expression` is truthy in the page; resolves with its value
 * (an element as `true`). Asked from here every POLL_MS, not by
 * `waitForFunction`: over WebDriver BiDi its poller runs through
 * `Function()` in the page, and Firefox ESR 140 blocks that under the
 * page's Content-Security-Policy.
 */
export async function until<T>(
  page: Page,
  expression: string,
  what: string,
): Promise<T> {
  const deadline = performance.now() + SHOWN_MS;
  for (;;) {
    // An element found comes back as `true`: BiDi hands back no element.
    const value = await within(
      inPage<T>(
        page,
        `(() => { const value = (${expression});
        return value instanceof Node ? true : value; })()`,
      ),
      SHOWN_MS,
      what,
    );
    if (value) return value;
    if (performance.now() > deadline) {
      const shown = await inPage<string>(page, "document.body.innerText")
        .catch(() => "?");
      throw new Error(
        `${what} did not show within ${SHOWN_MS} ms; the page shows: ${
          shown.slice(0, 400)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Options for {@linkcode pageFixture}. */
export interface PageFixtureOptions {
  /** More arguments for the tracker (`--secret-file PATH`). @default {none} */
  trackerArgs?: string[];
}

/**
 * A tracker, `peer ui` with its own data folder, and the page open in the
 * browser. What it started is stopped again if a later step fails.
 */
export async function pageFixture(
  choice: BrowserChoice,
  uiArgs: string[] = [],
  options: PageFixtureOptions = {},
) {
  // Every part is stopped even if one's clean-up fails.
  const started = new AsyncDisposableStack();
  try {
    const dir = started.use(await tempDir());
    const child = spawnEntry("tracker.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...options.trackerArgs ?? [],
    ]);
    started.defer(async () => void await child.stop());
    const line = await readyLine(child, /listening on/);
    const tracker = { child, address: line.slice(line.lastIndexOf(" ") + 1) };
    const out = join(dir.path, "downloads");
    const ui = started.use(
      await spawnUiPeer(tracker.address, join(dir.path, "home"), [
        "--out",
        out,
        ...uiArgs,
      ]),
    );
    const browser = started.use(await launchBrowser(choice));
    const page = await browser.page();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(ui.url, { waitUntil: "load" });
    await until(
      page,
      `document.querySelector("#get-out").value !== ""`,
      "the first state",
    );
    const parts = started.move();
    return {
      dir: dir.path,
      out,
      tracker,
      ui,
      page,
      browser,
      errors,
      [Symbol.asyncDispose]: () => parts.disposeAsync(),
    };
  } catch (error) {
    // The error that stopped the start, not one from cleaning up after it.
    await started.disposeAsync().catch(() => {});
    throw error;
  }
}

/**
 * Calls `register` with each browser of {@linkcode BROWSERS} installed;
 * one missing is a skipped test named after it.
 */
export function eachBrowser(register: (choice: BrowserChoice) => void): void {
  for (const { name, package: pkg } of BROWSERS) {
    const choice = findBrowser(name);
    if (choice) register(choice);
    else {
      requiring(`no ${name} (apt install ${pkg})`)(
        `web page in ${name}`,
        () => Promise.resolve(),
      );
    }
  }
}
