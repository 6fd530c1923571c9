/**
 * `deno task screenshots`: takes the README's pictures of the web page in
 * its main states (light, dark, and narrow as at 200% zoom) into `docs/ui/`,
 * with a real tracker, sharers and `peer ui` on 127.0.0.1 and the browser of
 * `scripts/_browser.ts`.
 *
 * @module
 */

import { join } from "node:path";
import { spawnSharer, spawnTracker } from "./_child.ts";
import {
  dropFile,
  findBrowser,
  launchBrowser,
  spawnUiPeer,
} from "./_browser.ts";

/** Where the pictures go. */
export const SCREENSHOT_DIR = new URL("../docs/ui/", import.meta.url);

async function randomBytesFile(path: string, size: number): Promise<string> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65_536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65_536)));
  }
  await Deno.writeFile(path, bytes);
  return path;
}

async function main(): Promise<void> {
  const choice = findBrowser("chromium");
  if (!choice) {
    console.error("No Chromium found: apt install chromium-headless-shell.");
    Deno.exit(1);
  }
  const dir = await Deno.makeTempDir({ prefix: "p2p-shots-" });
  const tracker = await spawnTracker();
  const files = [
    await randomBytesFile(join(dir, "Holiday 2026.mp4"), 48 * 1024 * 1024),
    await randomBytesFile(join(dir, "slides.pdf"), 3 * 1024 * 1024),
  ];
  const sharers = [];
  for (const file of files) {
    sharers.push(await spawnSharer(file, tracker.address));
  }
  const ui = await spawnUiPeer(tracker.address, join(dir, "home"), [
    "--out",
    join(dir, "downloads"),
    "--download-limit",
    "6M",
  ]);
  await using browser = await launchBrowser(choice);
  try {
    await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
    const page = await browser.page(1280, 1000);
    await page.goto(ui.url, { waitUntil: "load" });
    await page.waitForFunction(
      `document.querySelector("#get-out").value !== ""`,
    );
    await dropFile(
      page,
      "#drop",
      "notes.txt",
      new TextEncoder().encode("Meeting notes\n".repeat(2_000)),
    );
    await page.type("#get-ref", sharers[1].id);
    await page.keyboard.press("Enter");
    await page.waitForFunction(
      `document.querySelector('#finished [data-outcome="saved"]')`,
    );
    await page.type("#get-ref", sharers[0].link);
    await page.keyboard.press("Enter");
    await page.click("#list-button");
    await page.waitForFunction(
      `(() => { const p = document.querySelector("#running progress"); return p && p.max > 1 && p.value / p.max > 0.3; })()`,
      { timeout: 30_000 },
    );
    const shoot = (name: string) =>
      page.screenshot({
        path: new URL(name, SCREENSHOT_DIR).pathname as `${string}.png`,
        fullPage: true,
      });
    await shoot("light.png");
    await page.emulateMediaFeatures([
      { name: "prefers-color-scheme", value: "dark" },
    ]);
    await shoot("dark.png");
    const narrow = await browser.page(640, 1000, 1);
    await narrow.goto(ui.url, { waitUntil: "load" });
    await narrow.waitForFunction(
      `document.querySelector("#running progress")`,
    );
    await narrow.screenshot({
      path: new URL("narrow.png", SCREENSHOT_DIR).pathname as `${string}.png`,
      fullPage: true,
    });
    console.log(`Saved light.png, dark.png and narrow.png in docs/ui/.`);
  } finally {
    await ui[Symbol.asyncDispose]();
    for (const sharer of sharers) await sharer.child.stop();
    await tracker.child.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
