import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, runWithInput } from "./_cli.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  runEntry,
  shareArgs,
  spawnEntry,
  spawnSharer,
  spawnTracker,
} from "../../scripts/_child.ts";
import { parseShareLink } from "../../lib/protocol/share_link.ts";

const NO_SHARER =
  "This link's secret does not match any sharer: nobody shares its file right now, or the link is not the one its sharer printed.";

/** `link` with one character of its secret changed (still well formed). */
function wrongSecret(link: string): string {
  const at = link.indexOf("/priv/") + "/priv/".length;
  const swapped = link[at] === "A" ? "B" : "A";
  return link.slice(0, at) + swapped + link.slice(at + 1);
}

Deno.test("peer share prints a public link first, and peer get LINK fetches the file byte-identical without --tracker", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "public.bin", 700_000);
  const id = await sha256File(file);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  await using sharer = spawnEntry(
    "peer.ts",
    shareArgs(file, tracker.address, [], { json: false }),
  );
  const line = await sharer.waitForLine(/Share this link:/, READY_TIMEOUT_MS);
  const link = `p2p://${tracker.address}/v1/pub/${id}`;
  assertEquals(line, `  Share this link: ${link}`);
  await sharer.waitForLine(/full ID:/, READY_TIMEOUT_MS);
  const text = sharer.stdout.join("\n");
  assert(text.startsWith("Sharing public.bin (684 KiB)\n"), text);
  assert(text.includes(`short ID: ${id.slice(0, 16)}`), text);
  assert(!text.includes("privately"), text);

  const out = join(dir.path, "out");
  // No --tracker and no P2P_TRACKER: the link names the tracker.
  const get = await runEntry("peer.ts", ["get", link, "--out", out]);
  assertEquals(get.code, 0, get.stderr);
  assertEquals(
    await Deno.readFile(join(out, "public.bin")),
    await Deno.readFile(file),
  );
});

Deno.test("peer share --private prints a private link; get LINK fetches it; list and search never show it", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "secret plans.bin", 500_000);
  const id = await sha256File(file);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const shared = await spawnSharer(file, tracker.address, ["--private"]);
  await using _sharer = shared.child;
  assertEquals(shared.id, id);
  assertEquals(shared.private, true);
  const link = parseShareLink(shared.link);
  assertEquals(link.kind, "private");
  assert(link.kind === "private" && link.shortId === id.slice(0, 16));
  assertEquals(link.trackers.map((t) => `${t.host}:${t.port}`), [
    tracker.address,
  ]);

  const list = await runEntry("peer.ts", [
    "list",
    "--json",
    "--tracker",
    tracker.address,
  ]);
  assertEquals(list.code, 0, list.stderr);
  assertEquals(JSON.parse(list.stdout).files, []);
  const search = await runEntry("peer.ts", [
    "search",
    "plans",
    "--tracker",
    tracker.address,
  ]);
  assertEquals(search.code, 0, search.stderr);
  assertEquals(search.stdout.trim(), "No files.");
  // Nor does asking for its ID find it.
  const byId = await runEntry("peer.ts", [
    "get",
    id,
    "--tracker",
    tracker.address,
    "--wait",
    "0",
    "--out",
    join(dir.path, "by-id"),
  ]);
  assertEquals(byId.code, 1, byId.stderr);

  const out = join(dir.path, "out");
  const get = await runEntry("peer.ts", [
    "get",
    shared.link,
    "--out",
    out,
    "--json",
  ]);
  assertEquals(get.code, 0, get.stderr);
  const result = JSON.parse(get.stdout);
  assertEquals(result.id, id);
  assertEquals(result.private, true);
  assertEquals(result.path, join(out, "secret plans.bin"));
  assertEquals(await sha256File(result.path), id);
});

Deno.test("peer get - reads the link from standard input, and peer get with no argument from P2P_LINK", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "piped.bin", 300_000);
  const id = await sha256File(file);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const shared = await spawnSharer(file, tracker.address, ["--private"]);
  await using _sharer = shared.child;

  const piped = join(dir.path, "piped");
  const fromStdin = await runWithInput(
    "peer.ts",
    ["get", "-", "--out", piped],
    `\n  \n${shared.link}\nignored second line\n`,
  );
  assertEquals(fromStdin.code, 0, fromStdin.stderr);
  assertEquals(await sha256File(join(piped, "piped.bin")), id);

  const env = join(dir.path, "env");
  const fromEnv = await runEntry("peer.ts", ["get", "--out", env], {
    env: { P2P_LINK: shared.link },
  });
  assertEquals(fromEnv.code, 0, fromEnv.stderr);
  assertEquals(await sha256File(join(env, "piped.bin")), id);

  const empty = await runWithInput("peer.ts", ["get", "-"], "\n\n");
  assertEquals(empty.code, 2, empty.stderr);
  assert(/standard input/i.test(assertOneLine(empty.stderr)), empty.stderr);
  const none = await runEntry("peer.ts", ["get"], { env: { P2P_LINK: "" } });
  assertEquals(none.code, 2, none.stderr);
  assert(assertOneLine(none.stderr).includes("P2P_LINK"), none.stderr);
});

Deno.test("peer get --help says a link may come from standard input or P2P_LINK, and why", async () => {
  const help = await runEntry("peer.ts", ["get", "--help"]);
  assertEquals(help.code, 0, help.stderr);
  const text = help.stdout.replace(/\s+/g, " ");
  assert(text.includes('"peer get -"'), help.stdout);
  assert(text.includes("P2P_LINK"), help.stdout);
  assert(text.includes("process list"), help.stdout);
});

const PRIVATE =
  "p2p://127.0.0.1:5000/v1/priv/hAcqbkCidDSRgoRp6cro1g/94d8de470891d4d9";

for (
  const [what, link, sentence] of [
    [
      "a truncated private link",
      PRIVATE.slice(0, -4),
      "This share link's file ID is damaged (it should be 16 characters of 0-9 and a-f).",
    ],
    [
      "a link cut after its tracker",
      "p2p://127.0.0.1:5000",
      "This share link is cut short: it ends after the tracker address.",
    ],
    [
      "a mistyped kind",
      PRIVATE.replace("/priv/", "/prvi/"),
      'This share link is damaged: "prvi" should say "pub" or "priv".',
    ],
    [
      "a mistyped scheme",
      PRIVATE.replace("p2p://", "p2p:/"),
      'This is not a share link: a share link starts with "p2p://".',
    ],
  ]
) {
  Deno.test(`peer get with ${what} says what is wrong in one sentence, exit 2, before any network`, async () => {
    // An unroutable --tracker: touching the network would hang.
    const result = await runEntry("peer.ts", [
      "get",
      link,
      "--tracker",
      "192.0.2.1:5000",
    ], { timeoutMs: 15_000 });
    assertEquals(result.code, 2, result.stderr);
    assertEquals(assertOneLine(result.stderr), sentence);
  });
}

Deno.test("peer get of a private link whose secret matches nobody says so in one sentence, exit 1", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "kept.bin", 100_000);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const shared = await spawnSharer(file, tracker.address, ["--private"]);
  await using _sharer = shared.child;
  const out = join(dir.path, "out");
  const result = await runEntry("peer.ts", [
    "get",
    wrongSecret(shared.link),
    "--wait",
    "0",
    "--out",
    out,
  ]);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(assertOneLine(result.stderr), NO_SHARER);
  // Nothing was received: the folder the get made for it is gone again.
  assertEquals(await Deno.stat(out).catch(() => "gone"), "gone");
});

Deno.test("peer get LINK with another --tracker uses the link's tracker and says so", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "named.bin", 100_000);
  const id = await sha256File(file);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const shared = await spawnSharer(file, tracker.address);
  await using _sharer = shared.child;
  assertEquals(shared.link, `p2p://${tracker.address}/v1/pub/${id}`);
  assertEquals(shared.private, false);
  const out = join(dir.path, "out");
  const result = await runEntry("peer.ts", [
    "get",
    shared.link,
    "--tracker",
    "192.0.2.1:5000",
    "--out",
    out,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    `Using the tracker the link names, ${tracker.address}, not --tracker 192.0.2.1:5000.`,
  );
  assertEquals(await sha256File(join(out, "named.bin")), id);
});

Deno.test("peer share --private --quiet prints only the link; --quiet alone only the ID", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "q.bin", 50_000);
  const id = await sha256File(file);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const common = shareArgs(file, tracker.address, ["--quiet"], {
    json: false,
  });
  await using quiet = spawnEntry("peer.ts", common);
  await quiet.waitForLine(new RegExp(`^${id}$`), READY_TIMEOUT_MS);
  await using secret = spawnEntry("peer.ts", [...common, "--private"]);
  const line = await secret.waitForLine(/^p2p:/, READY_TIMEOUT_MS);
  const link = parseShareLink(line);
  assert(link.kind === "private" && link.shortId === id.slice(0, 16), line);
  assertEquals(secret.stdout.length, 1, secret.stdout.join("\n"));
});

Deno.test("a link whose tracker is down is not told to set --tracker, and a private link waiting says its file is not shared now", async () => {
  await using dir = await tempDir();
  const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `127.0.0.1:${gone.addr.port}`;
  gone.close();
  const link = `p2p://${dead}/v1/pub/${"cd".repeat(32)}`;
  // With no wait: the default one would ask the tracker again meanwhile.
  const down = await runEntry("peer.ts", [
    "get",
    link,
    "--wait",
    "0",
    "--out",
    join(dir.path, "out"),
  ]);
  assertEquals(down.code, 1, down.stderr);
  assertEquals(
    assertOneLine(down.stderr),
    `Cannot reach tracker at ${dead}: connection refused. Is it running? The link names it: ask whoever gave you the link.`,
  );
  const tracker = await spawnTracker();
  try {
    const sharer = await spawnSharer(
      await randomFile(dir.path, "p.bin", 1000),
      tracker.address,
      ["--private"],
    );
    await sharer.child.stop();
    const waited = await runEntry("peer.ts", [
      "get",
      sharer.link,
      "--wait",
      "2s",
      "--out",
      join(dir.path, "out"),
    ]);
    assertEquals(waited.code, 1, waited.stderr);
    assertEquals(
      waited.stderr.trim().split("\n")[0],
      "This link's file is not shared now: waiting for a sharer (2s left, --wait to change).",
    );
  } finally {
    await tracker.child.stop();
  }
});
