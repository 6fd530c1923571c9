import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import {
  PERMISSIONS,
  runEntry,
  spawnEntry,
  spawnTracker,
} from "../../scripts/_child.ts";
import { runPermission } from "../../lib/cli/run_permission.ts";
import {
  checkPeerBinary,
  compileAll,
  compileReadiness,
  PEER_V8_FLAGS,
  TARGETS,
  TRACKER_V8_FLAGS,
} from "../../scripts/compile.ts";
import { VERSION } from "../../lib/protocol/version.ts";

const FULL_ID = "ab".repeat(32);

const HELP_CASES: [string, string[], string][] = [
  ["tracker.ts", ["--help"], "Usage: tracker"],
  ["peer.ts", ["--help"], "Usage: peer"],
  ["peer.ts", ["share", "--help"], "Usage: peer share"],
  ["peer.ts", ["get", "--help"], "Usage: peer get"],
  ["peer.ts", ["list", "--help"], "Usage: peer list"],
  ["peer.ts", ["search", "--help"], "Usage: peer search"],
];

for (const [entry, args, usage] of HELP_CASES) {
  Deno.test(`${entry} ${args.join(" ")} prints usage and exits 0`, async () => {
    const result = await runEntry(entry, args);
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.includes(usage), result.stdout);
    assertEquals(result.stderr, "");
  });
}

Deno.test("peer --help names every command", async () => {
  const { stdout } = await runEntry("peer.ts", ["--help"]);
  for (const command of ["share", "get", "list", "search"]) {
    assert(stdout.includes(command), `${command} missing from: ${stdout}`);
  }
});

for (const id of ["xyz", "0123456789abcde", "g".repeat(64), "a".repeat(65)]) {
  Deno.test(`peer get ${id.slice(0, 20)} fails with exit 2 and one line, before any network`, async () => {
    // The tracker address is unroutable: touching the network would hang.
    const result = await runEntry("peer.ts", [
      "get",
      id,
      "--tracker",
      "192.0.2.1:5000",
    ], { timeoutMs: 15_000 });
    assertEquals(result.code, 2, result.stderr);
    const line = assertOneLine(result.stderr);
    assert(/file ID/i.test(line) || /hex/.test(line), line);
  });
}

Deno.test("peer with an unknown command fails with exit 2 and one line", async () => {
  const result = await runEntry("peer.ts", ["fetch", FULL_ID]);
  assertEquals(result.code, 2);
  assert(assertOneLine(result.stderr).includes('"fetch"'), result.stderr);
});

Deno.test("peer get with an unknown option fails with exit 2 and one line", async () => {
  const result = await runEntry("peer.ts", ["get", FULL_ID, "--bogus"]);
  assertEquals(result.code, 2);
  assert(assertOneLine(result.stderr).includes("--bogus"), result.stderr);
});

Deno.test("peer share of a missing file fails with one line", async () => {
  const result = await runEntry("peer.ts", [
    "share",
    "/no/such/file.bin",
    "--tracker",
    "192.0.2.1:5000",
  ]);
  assertEquals(result.code, 2);
  assert(assertOneLine(result.stderr).includes("no such file"), result.stderr);
});

Deno.test("a malformed --tracker or P2P_TRACKER is reported in one line", async () => {
  const flag = await runEntry("peer.ts", ["list", "--tracker", "host:99999"]);
  assertEquals(flag.code, 2);
  assert(assertOneLine(flag.stderr).includes("--tracker"), flag.stderr);
  const env = await runEntry("peer.ts", ["list"], {
    env: { P2P_TRACKER: "bad host:1" },
  });
  assertEquals(env.code, 2);
  assert(assertOneLine(env.stderr).includes("P2P_TRACKER"), env.stderr);
});

Deno.test("peer get --wait 0 with no tracker running names the tracker and fails within seconds", async () => {
  const address = `127.0.0.1:${freePort()}`;
  const started = performance.now();
  // With a wait (the default too) the tracker is asked again meanwhile.
  const result = await runEntry("peer.ts", [
    "get",
    FULL_ID.toUpperCase(),
    "--tracker",
    address,
    "--wait",
    "0",
  ], { timeoutMs: 20_000 });
  const seconds = (performance.now() - started) / 1000;
  assert(result.code !== 0, "exit code should be non-zero");
  assert(assertOneLine(result.stderr).includes(address), result.stderr);
  assert(seconds < 10, `took ${seconds} s`);
});

Deno.test("peer list takes the tracker from P2P_TRACKER", async () => {
  const address = `127.0.0.1:${freePort()}`;
  const result = await runEntry("peer.ts", ["list"], {
    env: { P2P_TRACKER: address },
    timeoutMs: 20_000,
  });
  assert(result.code !== 0);
  assert(assertOneLine(result.stderr).includes(address), result.stderr);
});

Deno.test("tracker on port 0 answers peer list and search, and exits 0 on SIGTERM", async () => {
  const started = await spawnTracker();
  await using tracker = started.child;
  const address = started.address;
  const list = await runEntry("peer.ts", ["list", "--tracker", address]);
  assertEquals(list.code, 0, list.stderr);
  assertEquals(list.stdout.trim(), "No files.");
  const search = await runEntry("peer.ts", [
    "search",
    "nothing",
    "--json",
    "--tracker",
    address,
  ]);
  assertEquals(search.code, 0, search.stderr);
  assertEquals(JSON.parse(search.stdout), { files: [], version: VERSION });
  const status = await tracker.stop("SIGTERM");
  assertEquals(status.code, 0);
});

Deno.test("tracker --port in use fails with one line", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const result = await runEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    String(listener.addr.port),
  ]);
  assertEquals(result.code, 1);
  assert(assertOneLine(result.stderr).includes("--port"), result.stderr);
});

Deno.test("deno task peer and tracker run with the V8 flags the compiled binaries and the tests bake in", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  for (
    const [name, flags] of [
      ["peer", PEER_V8_FLAGS],
      ["tracker", TRACKER_V8_FLAGS],
    ] as const
  ) {
    const task: string = config.tasks[name];
    for (const flag of flags) {
      assert(task.split(" ").includes(flag), `${flag} missing from: ${task}`);
      assert(PERMISSIONS[`${name}.ts`].includes(flag), `${flag}: ${name}.ts`);
      const target = TARGETS.find((t) => t.name === name)!;
      assert(target.runtimeFlags?.includes(flag), `${flag}: compiled ${name}`);
    }
  }
});

Deno.test("deno task peer and the tests' peer may run every program the compiled peer may", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  const allowed = (flags: string[]) =>
    flags.find((flag) => flag.startsWith("--allow-run="))!
      .slice("--allow-run=".length).split(",");
  const wanted = allowed([runPermission("linux")]);
  assert(wanted.includes("/usr/bin/sync"), wanted.join(","));
  for (const flags of [config.tasks.peer.split(" "), PERMISSIONS["peer.ts"]]) {
    const have = allowed(flags);
    for (const program of wanted) {
      assert(have.includes(program), `${program} missing from: ${have}`);
    }
  }
});

Deno.test("deno task compile builds binaries and dist/peer --help works (skipped when no runtime)", async (t) => {
  const readiness = await compileReadiness();
  if (!readiness.ready) {
    console.log(`SKIPPED compiling: ${readiness.reason}`);
    await t.step({
      name: `compile skipped: ${readiness.reason}`,
      ignore: true,
      fn: () => {},
    });
    return;
  }
  await compileAll();
  await checkPeerBinary();
});

Deno.test("peer share --json and peer get --json round-trip a file; share exits 0 and unregisters on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2p-cli-test-" });
  try {
    const source = `${dir}/naïve file.bin`;
    const bytes = new Uint8Array(600_000);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    await Deno.writeFile(source, bytes);
    const started = await spawnTracker();
    await using _tracker = started.child;
    const address = started.address;
    const env = { P2P_TRACKER: address };
    await using sharer = spawnEntry("peer.ts", [
      "share",
      source,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--piece-size",
      "64K",
      "--json",
    ], { env });
    const shared = JSON.parse(await sharer.waitForLine(/^\{/, 20_000));
    assertEquals(shared.size, bytes.length);
    assertEquals(shared.pieceSize, 65536);
    assertEquals(shared.shortId, shared.id.slice(0, 16));

    const get = await runEntry("peer.ts", [
      "get",
      shared.shortId.toUpperCase(),
      "--out",
      `${dir}/out`,
      "--json",
    ], { env });
    assertEquals(get.code, 0, get.stderr);
    const result = JSON.parse(get.stdout);
    assertEquals(result.id, shared.id);
    assertEquals(result.peers.length, 1);
    assertEquals(result.peers[0].bytes, bytes.length);
    assertEquals(await Deno.readFile(result.path), bytes);
    assertEquals(result.path, `${dir}/out/naïve file.bin`);

    assertEquals((await sharer.stop("SIGTERM")).code, 0);
    const list = await runEntry("peer.ts", ["list", "--json"], { env });
    assertEquals(JSON.parse(list.stdout).files, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("peer get --wait 0 of an ID nobody shares fails at once with one line naming it", async () => {
  const started = await spawnTracker();
  await using _tracker = started.child;
  const address = started.address;
  const result = await runEntry("peer.ts", [
    "get",
    FULL_ID,
    "--tracker",
    address,
    "--wait",
    "0",
  ]);
  assertEquals(result.code, 1);
  assert(assertOneLine(result.stderr).includes(FULL_ID), result.stderr);
});

for (const args of [[], ["share"], ["get"], ["list"], ["search"]]) {
  Deno.test(`peer ${args.join(" ") || "(prompt)"} --help offers --quiet and --verbose`, async () => {
    const { stdout } = await runEntry("peer.ts", [...args, "--help"]);
    assert(stdout.includes("--quiet") && stdout.includes("--verbose"), stdout);
  });
}

Deno.test("tracker --help offers --quiet and --verbose; peer get --help offers --force", async () => {
  const tracker = await runEntry("tracker.ts", ["--help"]);
  assert(tracker.stdout.includes("--quiet"), tracker.stdout);
  assert(tracker.stdout.includes("--verbose"), tracker.stdout);
  const get = await runEntry("peer.ts", ["get", "--help"]);
  assert(get.stdout.includes("--force"), get.stdout);
});

Deno.test("the prompt on a port in use fails with one line and exit 1", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const result = await runEntry("peer.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    String(busy.addr.port),
  ]);
  assertEquals(result.code, 1, result.stderr);
  assert(assertOneLine(result.stderr).includes("--port"), result.stderr);
});

Deno.test("peer get --force replaces a file of the same name; without it the copy is numbered; escape sequences in names are printed escaped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2p-cli-test-" });
  try {
    const name = "evil\x1b[2Jname.bin";
    const bytes = crypto.getRandomValues(new Uint8Array(50_000));
    await Deno.writeFile(`${dir}/${name}`, bytes);
    await using tracker = spawnEntry("tracker.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ]);
    const line = await tracker.waitForLine(/listening on/, 20_000);
    const env = { P2P_TRACKER: line.slice(line.lastIndexOf(" ") + 1) };
    await using sharer = spawnEntry("peer.ts", [
      "share",
      `${dir}/${name}`,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ], { env });
    const idLine = await sharer.waitForLine(/short ID:/, 20_000);
    const id = idLine.trim().split(/\s+/).pop()!;
    assert(sharer.stdout.join("\n").includes("evil\\x1b[2Jname.bin"));
    assert(!sharer.stdout.join("\n").includes("\x1b"), "raw ESC printed");

    const list = await runEntry("peer.ts", ["list"], { env });
    assert(list.stdout.includes("evil\\x1b[2Jname.bin"), list.stdout);
    assert(!list.stdout.includes("\x1b"), "raw ESC in list");

    const out = `${dir}/out`;
    await Deno.mkdir(out);
    const first = await runEntry("peer.ts", ["get", id, "--out", out], { env });
    assertEquals(first.code, 0, first.stderr);
    assert(!first.stdout.includes("\x1b"), "raw ESC in get output");
    const [savedName] = (await Array.fromAsync(Deno.readDir(out))).map((e) =>
      e.name
    );
    await Deno.writeTextFile(`${out}/${savedName}`, "old contents");
    const numbered = await runEntry("peer.ts", ["get", id, "--out", out], {
      env,
    });
    assertEquals(numbered.code, 0, numbered.stderr);
    assertEquals((await Array.fromAsync(Deno.readDir(out))).length, 2);
    const forced = await runEntry("peer.ts", [
      "get",
      id,
      "--out",
      out,
      "--force",
    ], { env });
    assertEquals(forced.code, 0, forced.stderr);
    assertEquals((await Array.fromAsync(Deno.readDir(out))).length, 2);
    assertEquals(await Deno.readFile(`${out}/${savedName}`), bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
