/**
 * A sharer that getters reach only through the tracker's relay (it listens
 * on 127.0.0.2 while the tracker sees it at 127.0.0.1, as in
 * relayed_get_test.ts), seen from the sharer's side: what it sends, and
 * what its serving line says, with the relay's byte quota closing sessions
 * under a get, and how often that get tries a hole punch to it.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { pollUntil, randomFile, sha256File, tempDir } from "../fixtures.ts";
import { hiddenSharer, LOCAL, trackerWithRelay } from "./_relay_lab.ts";
import { type Downloader, PeerNode } from "../../lib/app/peer_node.ts";
import { ServingLine } from "../../lib/cli/serving_line.ts";
import { ProgressLine } from "../../lib/cli/progress.ts";
import { download } from "../../lib/download/download.ts";
import type { Address } from "../../lib/net/connection.ts";

const MIB = 1024 * 1024;
/** About the file QA got through the relay (2.86 MiB). */
const FILE_SIZE = 3_000_000;
/** A live line's control sequences and carriage returns. */
// deno-lint-ignore no-control-regex
const CONTROL = /\x1b\[[0-9;]*[A-Za-z]|\r/g;

/** Gets `id` from the tracker at `tracker` into `dir`/out, in one run. */
async function get(id: string, tracker: Address, dir: string) {
  return (await download(id, { tracker, outDir: join(dir, "out") })).path;
}

Deno.test("a get through a relay whose quota closes each session gets the sharer's pieces once: what was on its way at the quota is not sent again", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "shared.bin", FILE_SIZE);
  // A quota of a third of the file: three sessions at the least.
  await using lab = trackerWithRelay({ sessionQuota: 1 * MIB });
  await using node = await hiddenSharer(lab.tracker.address, file);
  const path = await get(node.meta.id, lab.tracker.address, dir.path);
  assertEquals(await sha256File(path), node.meta.id);
  assert(
    lab.relay.stats().quotaReached >= 1,
    `the quota closed a session: ${lab.lines.join("\n")}`,
  );
  // QA saw 6.1 MiB sent for this file: each session cut at the quota lost
  // the pieces on their way, and they were sent again over the next.
  assert(
    node.uploaded <= FILE_SIZE * 1.1,
    `the sharer sent ${node.uploaded} bytes for a file of ${FILE_SIZE}`,
  );
});

Deno.test("a get that comes back through the relay after its quota tries a hole punch to the sharer once, not once a session", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "shared.bin", FILE_SIZE);
  await using lab = trackerWithRelay({ sessionQuota: 1 * MIB });
  const sharerLines: string[] = [];
  await using node = await hiddenSharer(
    lab.tracker.address,
    file,
    (line) => sharerLines.push(line),
  );
  const getterLines: string[] = [];
  const result = await download(node.meta.id, {
    tracker: lab.tracker.address,
    outDir: join(dir.path, "out"),
    log: (line) => getterLines.push(line),
  });
  assertEquals(await sha256File(result.path), node.meta.id);
  assert(lab.relay.stats().paired >= 2, "the get came back for a new session");
  // Each punch that fails costs 5 s (PUNCH_TIMEOUT_MS) before the relay:
  // one for each of the get's sessions, where one tells it all.
  const punches = (lines: string[]) =>
    lines.filter((line) => line.startsWith("Could not open a direct"));
  assert(punches(getterLines).length <= 1, getterLines.join("\n"));
  assert(punches(sharerLines).length <= 1, sharerLines.join("\n"));
});

/**
 * A serving line over `node`, looked at every 100 ms; every text it
 * showed, and with each the bytes the node had sent by then.
 */
function watchServing(node: PeerNode) {
  const shown: string[] = [];
  const sentThen: number[] = [];
  const decoder = new TextDecoder();
  const line = new ServingLine(node, {
    progress: new ProgressLine({
      live: true,
      color: false,
      writer: {
        writeSync(bytes: Uint8Array) {
          const text = decoder.decode(bytes).replace(CONTROL, "").trim();
          if (text) {
            shown.push(text);
            sentThen.push(node.uploaded);
          }
          return bytes.length;
        },
        isTerminal: () => true,
      },
    }),
  });
  const timer = setInterval(() => line.tick(), 100);
  return {
    shown,
    sentThen,
    [Symbol.dispose]: () => clearInterval(timer),
  };
}

Deno.test("a sharer names a downloader that reaches it through the relay by its host, via the relay, not by the relay's port", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "shared.bin", FILE_SIZE);
  // Slow enough that the get takes a few seconds.
  await using lab = trackerWithRelay({ sessionRate: 1 * MIB });
  await using node = await hiddenSharer(lab.tracker.address, file);
  using serving = watchServing(node);
  const seen: Downloader[] = [];
  const looking = setInterval(() => seen.push(...node.downloaders()), 50);
  try {
    await get(node.meta.id, lab.tracker.address, dir.path);
  } finally {
    clearInterval(looking);
  }
  assert(seen.length > 0, "a downloader was seen");
  for (const downloader of seen) {
    assertEquals(downloader.address, { host: LOCAL, port: 0 });
    assertEquals(downloader.relay, lab.relay.address);
  }
  const relayPort = `:${lab.relay.address.port}`;
  const named = serving.shown.filter((text) => text.startsWith("Serving"));
  assert(named.length > 0, serving.shown.join("\n"));
  for (const text of named) {
    assert(
      text.startsWith(`Serving 1 downloader (${LOCAL} via the relay) · `),
      text,
    );
    assert(!text.includes(relayPort), `names the relay's port: ${text}`);
  }
});

Deno.test("a sharer's serving line does not say 'No one downloading' while a relayed get comes back after the relay's quota, and says it once the get has the file", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "shared.bin", FILE_SIZE);
  await using lab = trackerWithRelay({ sessionQuota: 1 * MIB });
  await using node = await hiddenSharer(lab.tracker.address, file);
  using serving = watchServing(node);
  await get(node.meta.id, lab.tracker.address, dir.path);
  assert(lab.relay.stats().paired >= 2, "the get came back for a new session");
  // Mid-get: something sent, not yet the whole file.
  const during = serving.shown.filter((_, i) =>
    serving.sentThen[i] > 0 && serving.sentThen[i] < FILE_SIZE
  );
  assert(
    during.length > 0 && !during.some((text) => text.startsWith("No one")),
    `mid-get: ${during.join("\n")}`,
  );
  // The whole file went to it: gone from the line with its connection.
  await pollUntil(
    3_000,
    () => Promise.resolve(node.downloaders().length === 0),
  );
  await pollUntil(
    3_000,
    () => Promise.resolve(serving.shown.at(-1)?.startsWith("No one") === true),
  );
});
