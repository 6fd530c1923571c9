import { assert, assertEquals } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { runEntry, spawnTracker } from "../../scripts/_child.ts";
import { spawnUiPeer } from "../../scripts/_browser.ts";
import { isLoopbackHost } from "../../lib/net/address.ts";

Deno.test("peer ui serves its page on 127.0.0.1 only, answers it, and stops on SIGTERM with exit 0", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  try {
    await using ui = await spawnUiPeer(tracker.address, dir.path);
    const url = new URL(ui.url);
    assertEquals(url.hostname, "127.0.0.1");
    assert(/^#token=[A-Za-z0-9_-]{43}$/.test(url.hash), url.hash);
    assert(!ui.child.stdout.some((l) => l.startsWith("Warning")));
    const page = await fetch(url.origin);
    assertEquals(page.status, 200);
    assert((await page.text()).includes("<title>p2p</title>"));
    // Another loopback address of this machine: nothing listens there.
    const elsewhere = await Deno.connect({
      hostname: "127.0.0.2",
      port: Number(url.port),
    }).then((conn) => {
      conn.close();
      return "connected";
    }, () => "refused");
    assertEquals(elsewhere, "refused");
    const status = await ui.child.stop("SIGTERM");
    assertEquals(status.code, 0, ui.child.stderr.join("\n"));
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("peer ui --ui-host serves the page at that address, which its Host check accepts", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  try {
    await using ui = await spawnUiPeer(tracker.address, dir.path, [
      "--ui-host",
      "127.0.0.2",
    ]);
    const url = new URL(ui.url);
    assertEquals(url.hostname, "127.0.0.2");
    const token = url.hash.slice("#token=".length);
    const state = await fetch(`${url.origin}/api/state`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(state.status, 200);
    assertEquals((await state.json()).shared, []);
    // Loopback still: no warning about the network.
    assert(!ui.child.stdout.some((l) => l.startsWith("Warning")));
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("peer ui tells the page, as well as the terminal, of a tracker that could not be used", async () => {
  await using dir = await tempDir();
  const tracker = await spawnTracker();
  const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `127.0.0.1:${gone.addr.port}`;
  gone.close();
  try {
    await using ui = await spawnUiPeer(`${tracker.address},${dead}`, dir.path);
    const url = new URL(ui.url);
    const headers = {
      authorization: `Bearer ${url.hash.slice("#token=".length)}`,
    };
    const events = await fetch(`${url.origin}/api/events`, { headers });
    const reader = events.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    const listed = await fetch(`${url.origin}/api/list`, { headers });
    assertEquals(listed.status, 200);
    await listed.body?.cancel();
    const expected =
      `The tracker at ${dead} could not be used (connection refused): what only it knows is missing until it is back.`;
    let seen = "";
    const deadline = setTimeout(() => reader.cancel(), 10_000);
    try {
      while (!seen.includes(JSON.stringify(expected))) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
    } finally {
      clearTimeout(deadline);
      await reader.cancel();
    }
    assert(seen.includes(`event: note`), seen);
    // The note event's text (flagged an error since 49ce46e).
    assert(seen.includes(`"text":${JSON.stringify(expected)}`), seen);
    await ui.child.waitForLine(/could not be used/, 5_000);
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("isLoopbackHost() knows this machine's own names and nothing else", () => {
  for (
    const host of [
      "127.0.0.1",
      "127.1.2.3",
      "localhost",
      "::1",
      "[::1]",
      "::ffff:127.0.0.1",
    ]
  ) {
    assert(isLoopbackHost(host), host);
  }
  for (
    const host of [
      "0.0.0.0",
      "::",
      "10.0.0.5",
      "192.168.1.2",
      "example.com",
      "128.0.0.1",
      "127.0.0.1.example.com",
    ]
  ) {
    assert(!isLoopbackHost(host), host);
  }
});

Deno.test("peer ui refuses a bad --ui-port or --ui-host in one sentence with exit 2", async () => {
  for (
    const args of [
      ["--ui-port", "70000"],
      ["--ui-port", "web"],
      ["--ui-host", "not a host!"],
    ]
  ) {
    const { code, stderr } = await runEntry("peer.ts", [
      "ui",
      "--no-open",
      ...args,
    ]);
    assertEquals(code, 2, `${args.join(" ")}: ${stderr}`);
    const lines = stderr.trim().split("\n");
    assertEquals(lines.length, 1, stderr);
    assert(!/\bat\b.*:\d+:\d+/.test(stderr), stderr);
  }
});
