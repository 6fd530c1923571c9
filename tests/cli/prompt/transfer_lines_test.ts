import { assert } from "../../assert.ts";
import { Transfers } from "../../../lib/app/transfers.ts";
import { transferBar } from "../../../lib/cli/prompt/transfer_lines.ts";
import { widthOf } from "../../../lib/cli/_fit.ts";

const NAME = "holiday-photos-2024-summer-vacation.tar.gz";
const MIB = 1024 * 1024;

Deno.test("transferBar() keeps a long name's start and extension, within the width, while a get runs", () => {
  let now = 0;
  const transfers = new Transfers(() => now);
  const get = transfers.start({ kind: "get", name: NAME, id: "ab".repeat(32) });
  now = 3_000;
  get.update({ done: 9 * MIB, total: 20 * MIB, peers: 2, name: NAME });
  for (const columns of [60, 80, 100]) {
    const line = transferBar(get, columns, false);
    assert(widthOf(line) <= columns - 1, `${columns}: ${line}`);
    assert(line.includes("#1 getting ho"), `${columns}: ${line}`);
    assert(line.includes(".tar.gz  45.0%"), `${columns}: ${line}`);
  }
});

Deno.test("transferBar() keeps what a get waits for whole and cuts its name in the middle", () => {
  let now = 0;
  const transfers = new Transfers(() => now);
  const get = transfers.start({
    kind: "get",
    name: NAME,
    id: "ab".repeat(32),
    waitMs: 300_000,
  });
  get.update({ done: 0, total: 0, waiting: true });
  now = 2_000;
  const waiting = transferBar(get, 80, false);
  assert(widthOf(waiting) <= 79, waiting);
  assert(waiting.includes("#1 getting ho"), waiting);
  assert(
    waiting.includes(".tar.gz  waiting for a sharer (4m 58s left)"),
    waiting,
  );
  const narrow = transferBar(get, 60, false);
  assert(widthOf(narrow) <= 59, narrow);
  assert(narrow.includes(".tar.gz  waiting (4m 58s left)"), narrow);
  // Every peer left mid-way: the bar stays, the wait is said after the name.
  get.update({ done: 9 * MIB, total: 20 * MIB, peers: 1 });
  get.update({ done: 9 * MIB, total: 20 * MIB, peers: 0, waiting: true });
  const left = transferBar(get, 80, false);
  assert(widthOf(left) <= 79, left);
  assert(left.includes(".tar.gz: waiting for a sharer (5m 00s left)"), left);
  assert(left.includes("45.0%"), left);
});

Deno.test("transferBar() says a get waits for the tracker while none can be reached, and for a sharer once one answers", () => {
  let now = 0;
  const transfers = new Transfers(() => now);
  const get = transfers.start({
    kind: "get",
    name: NAME,
    id: "ab".repeat(32),
    waitMs: 300_000,
  });
  // As a download reports it: waiting, with no tracker reached.
  get.updateFromDownload({
    received: 0,
    size: 0,
    bytesPerSecond: 0,
    peers: 0,
    name: NAME,
    waiting: true,
    trackersDown: true,
  });
  now = 2_000;
  const down = transferBar(get, 80, false);
  assert(down.includes("waiting for the tracker (4m 58s left)"), down);
  get.updateFromDownload({
    received: 0,
    size: 0,
    bytesPerSecond: 0,
    peers: 0,
    name: NAME,
    waiting: true,
  });
  const up = transferBar(get, 80, false);
  assert(up.includes("waiting for a sharer"), up);
});
