/**
 * Letting the machine's memory settle before a timed write-heavy run, so
 * that every get (and the write baseline, and aria2c) meets memory in the
 * same state.
 *
 * On a VM whose host takes back the guest's free memory (virtio-balloon
 * free page reporting: free memory is handed back ~2 s after it is freed),
 * writing into page-cache pages the host has taken back costs ~2.3 s per
 * GiB, against ~0.17 s for pages freed a moment ago (measured here with
 * `dd`). A get that starts right after the last one deleted its file may or
 * may not reuse those pages, and the same 1 GiB get took 1.6 s or 3.0 s in
 * one run. After a pause every run meets memory the host has taken back:
 * the slowest case on such a VM, but the same for every run, so runs can be
 * compared. On a machine without it the pause changes nothing.
 *
 * @module
 */

import { run } from "./_process.ts";

/** How long the machine idles before each timed write-heavy run (full runs). */
export const SETTLE_MS = 7_000;
/** Longest `sync` may take. */
const SYNC_TIMEOUT_MS = 30_000;

/**
 * Flushes dirty pages to disk (so no writeback runs during the timing), then
 * idles `ms`. Does nothing for `ms` = 0.
 */
export async function settle(ms: number): Promise<void> {
  if (ms <= 0) return;
  await flushToDisk();
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Flushes dirty pages to disk, so that no writeback runs during a timing. */
export async function flushToDisk(): Promise<void> {
  await run("sync", [], SYNC_TIMEOUT_MS).catch(() => {});
}
