/**
 * A folder being got shows its count of files saved after its name, and is
 * still found by its own name (with or without a trailing slash) as that
 * count changes. Numbers reserved for work kept elsewhere are never reused.
 * A download's first report holds what a resumed `.part` had only when the
 * download says it resumed one.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";
import { Transfers } from "../../lib/app/transfers.ts";

const ID = "c3".repeat(32);

Deno.test("Transfers finds a folder being got by its own name, with or without a slash, whatever count of files status shows", () => {
  const transfers = new Transfers(() => 0);
  const folder = transfers.start({ kind: "get", name: ID, id: ID });
  const files = (done: number) => ({ done, total: 5 });
  folder.update({ done: 0, total: 1000, name: "multi", files: files(0) });
  assertEquals(folder.name, "multi (0/5 files)");
  assertEquals(folder.fileName, "multi");
  for (const ref of ["multi", "multi/", "multi//"]) {
    assertEquals(transfers.find(ref), [folder], ref);
  }
  folder.update({ done: 400, total: 1000, files: files(2) });
  assertEquals(folder.name, "multi (2/5 files)");
  assertEquals(transfers.find("multi/"), [folder]);
  // Not by the line status shows, which stops matching as files arrive.
  assertEquals(transfers.find("multi (0/5 files)"), []);
  assertEquals(transfers.find("mult"), []);

  // A file keeps its plain name; "/" alone names nothing.
  const file = transfers.start({ kind: "hash", name: "a.bin" });
  file.update({ done: 1, total: 2 });
  assertEquals(file.name, "a.bin");
  assertEquals(transfers.find("a.bin"), [file]);
  assertEquals(transfers.find("/"), []);
});

Deno.test("Transfers never gives a transfer the number reserved for work kept elsewhere, nor finds that work", () => {
  const transfers = new Transfers(() => 0);
  const first = transfers.start({ kind: "hash", name: "a.bin" });
  const reserved = transfers.reserveNumber();
  const next = transfers.start({ kind: "get", name: ID, id: ID });
  assertEquals([first.number, reserved, next.number], [1, 2, 3]);
  assertEquals(transfers.find(`#${reserved}`), []);
  assertEquals(transfers.list(), [first, next]);
});

Deno.test("a download's first report with no peer linked is a resume only when the download says it resumed a .part, whatever its name", async () => {
  const transfers = new Transfers(() => 0);
  const report = {
    size: 1_000,
    received: 100,
    bytesPerSecond: 0,
    peers: 0,
    waiting: false,
  };
  const waiting = { ...report, name: `ID ${ID.slice(0, 16)}`, size: 0 };

  // A .part an earlier get left as other.bin, saved now as new.bin.
  const resumed = transfers.start({ kind: "get", name: ID, id: ID });
  resumed.updateFromDownload({ ...waiting, received: 0, waiting: true });
  resumed.updateFromDownload({ ...report, name: "new.bin", resumed: true });
  resumed.updateFromDownload({
    ...report,
    name: "new.bin",
    resumed: true,
    received: 400,
  });
  assertEquals(await resumed.resumeChecked, 100);
  assertEquals([resumed.resumed, resumed.fetched], [100, 300]);

  // Its one piece in and its peer gone by its first report: fresh, even
  // with another file's .part of its name in the folder.
  const fresh = transfers.start({ kind: "get", name: ID, id: ID });
  fresh.updateFromDownload({ ...report, name: "new.bin", resumed: false });
  assertEquals(await fresh.resumeChecked, 0);
  assertEquals([fresh.resumed, fresh.fetched], [0, 100]);
  assertEquals(transfers.downloaded, 300 + 100);
});
