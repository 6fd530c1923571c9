import { assert, assertEquals } from "../assert.ts";
import { assertOneLine, freePort } from "./_cli.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  Child,
  ROOT,
  runEntry,
  spawnEntry,
  spawnTracker,
} from "../../scripts/_child.ts";
import { editDistance, suggest } from "../../lib/cli/suggest.ts";
import { VERSION } from "../../lib/protocol/version.ts";

const FULL_ID = "ab".repeat(32);
const COMMANDS = ["share", "get", "list", "search"];

Deno.test("suggest() finds swapped, missing and extra letters, and nothing for far words", () => {
  assertEquals(suggest("lsit", COMMANDS), "list");
  assertEquals(suggest("serach", COMMANDS), "search");
  assertEquals(suggest("shar", COMMANDS), "share");
  assertEquals(suggest("gett", COMMANDS), "get");
  assertEquals(suggest("fetch", COMMANDS), undefined);
  assertEquals(suggest("x", COMMANDS), undefined);
  assertEquals(editDistance("abc", "abc"), 0);
  assertEquals(editDistance("ab", "ba"), 1);
  assertEquals(editDistance("", "get"), 3);
});

Deno.test("a mistyped option's suggestion is on the same line, with no escaped newline", async () => {
  const result = await runEntry("peer.ts", ["get", FULL_ID, "--otu", "x"]);
  assertEquals(result.code, 2);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assert(!lines[0].includes("\\x0a"), lines[0]);
  assertEquals(
    lines[0],
    'Unknown option "--otu": Did you mean "--out"? Run "peer get --help" for usage.',
  );
});

Deno.test("a mistyped command gets a suggestion", async () => {
  const result = await runEntry("peer.ts", ["lsit"]);
  assertEquals(result.code, 2);
  assert(result.stderr.includes('Did you mean "peer list"?'), result.stderr);
  assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
});

for (
  const args of [
    ["list", "extra"],
    ["doctor", "extra"],
    ["ui", "extra"],
    ["get", FULL_ID, "another"],
    ["search", "--tracker", "127.0.0.1:1"],
  ]
) {
  Deno.test(`peer ${args.join(" ")} refuses what it cannot use with exit 2 and one line`, async () => {
    const result = await runEntry("peer.ts", args);
    assertEquals(result.code, 2, result.stderr);
    assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
  });
}

Deno.test("peer --version and tracker --version print the one version", async () => {
  for (const entry of ["peer.ts", "tracker.ts"]) {
    for (const flag of ["--version", "-V"]) {
      const result = await runEntry(entry, [flag]);
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout.trim(), VERSION);
    }
  }
  assert(/^\d+\.\d+\.\d+$/.test(VERSION), VERSION);
});

Deno.test("peer --version and tracker --version with a word beside them fail with exit 2 and one line, printing no version", async () => {
  const cases: [string, string[]][] = [
    ["peer.ts", ["--version", "extra"]],
    ["peer.ts", ["extra", "--version"]],
    ["peer.ts", ["-V", "list"]],
    ["tracker.ts", ["--version", "extra"]],
  ];
  for (const [entry, args] of cases) {
    const result = await runEntry(entry, args);
    assertEquals(
      result.code,
      2,
      `${entry} ${args.join(" ")}: ${result.stdout}`,
    );
    assertEquals(result.stdout, "");
    const line = assertOneLine(result.stderr);
    assert(line.includes("extra") || line.includes("list"), line);
  }
  const peer = await runEntry("peer.ts", ["--version", "extra"]);
  assertEquals(
    peer.stderr.trim(),
    '--version takes no arguments; remove "extra".',
  );
});

Deno.test("peer search with empty or blank text fails with exit 2 and one sentence pointing to peer list, before asking any tracker", async () => {
  for (const words of [[""], ["  "], [" ", ""]]) {
    const result = await runEntry("peer.ts", [
      "search",
      ...words,
      "--tracker",
      `127.0.0.1:${freePort()}`,
    ]);
    assertEquals(result.code, 2, JSON.stringify(words));
    assertEquals(
      assertOneLine(result.stderr),
      "Give some text to search for, or use 'peer list' to see every file.",
    );
    assertEquals(result.stdout, "");
  }
});

Deno.test("peer share A B serves both from one node, one ID line each (A named again counts once), and get --json carries the version", async () => {
  await using dir = await tempDir();
  const a = await randomFile(dir.path, "a.bin", 70_000);
  const b = await randomFile(dir.path, "b.bin", 90_000);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  // The same file named twice (once as ./a.bin) is shared once.
  await using sharer = spawnEntry("peer.ts", [
    "share",
    a,
    `${dir.path}/./a.bin`,
    b,
    a,
    "--json",
    "--tracker",
    tracker.address,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  await sharer.waitForLine(/"b\.bin"/, 30_000);
  const shared = sharer.stdout.filter((line) => line.startsWith("{")).map(
    (line) => JSON.parse(line),
  );
  assertEquals(shared.map((s) => s.name), ["a.bin", "b.bin"]);
  assertEquals(shared[0].address, shared[1].address);
  assertEquals(shared[0].version, VERSION);
  for (const [file, meta] of [[a, shared[0]], [b, shared[1]]]) {
    const got = await runEntry("peer.ts", [
      "get",
      meta.id,
      "--json",
      "--tracker",
      tracker.address,
      "--out",
      `${dir.path}/out`,
    ]);
    assertEquals(got.code, 0, got.stderr);
    const result = JSON.parse(got.stdout);
    assertEquals(result.version, VERSION);
    assertEquals(await sha256File(result.path), await sha256File(file));
  }
});

Deno.test("peer share of a missing second file fails before serving anything", async () => {
  await using dir = await tempDir();
  const a = await randomFile(dir.path, "a.bin", 1000);
  const result = await runEntry("peer.ts", [
    "share",
    a,
    `${dir.path}/missing.bin`,
    "--tracker",
    "127.0.0.1:1",
  ]);
  assertEquals(result.code, 2);
  assert(result.stderr.includes("missing.bin"), result.stderr);
  assert(!result.stdout.includes("Sharing"), result.stdout);
});

Deno.test("deno task --config from another folder resolves the file to share and --out against the user's folder", async () => {
  await using dir = await tempDir();
  await randomFile(dir.path, "here.bin", 40_000);
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  const task = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", `${ROOT}deno.json`, "peer", ...args],
      cwd: dir.path,
      // deno task keeps an INIT_CWD it inherits (this suite runs under
      // one), so start from a clean environment as a user's shell would.
      clearEnv: true,
      env: {
        ...pick("PATH", "HOME", "DENO_DIR", "P2P_HOME", "XDG_DATA_HOME"),
        NO_COLOR: "1",
        P2P_TRACKER: tracker.address,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  await using sharer = new Child(
    task(["share", "here.bin", "--json", "--host", "127.0.0.1", "--port", "0"])
      .spawn(),
  );
  const shared = JSON.parse(await sharer.waitForLine(/^\{/, 30_000));
  assertEquals(shared.name, "here.bin");
  const got = await task(["get", shared.id, "--json", "--out", "saved"])
    .output();
  const text = new TextDecoder().decode(got.stdout);
  assertEquals(got.code, 0, new TextDecoder().decode(got.stderr));
  assertEquals(JSON.parse(text).path, "saved/here.bin", text);
  assertEquals(
    await sha256File(`${dir.path}/saved/here.bin`),
    await sha256File(`${dir.path}/here.bin`),
  );
});

/** The named environment variables that are set. */
function pick(...names: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
  Deno.test(`peer get stopped by ${signal} exits ${code} with one line`, async () => {
    const tracker = await spawnTracker();
    await using _tracker = tracker.child;
    await using dir = await tempDir();
    const get = spawnEntry("peer.ts", [
      "get",
      FULL_ID,
      "--tracker",
      tracker.address,
      "--out",
      dir.path,
      "--wait",
      "1m",
    ]);
    const deadline = performance.now() + 20_000;
    while (!get.stderr.some((line) => line.includes("waiting for a sharer"))) {
      assert(performance.now() < deadline, get.stderr.join("\n"));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const status = await get.stop(signal);
    assertEquals(status.code, code, get.stderr.join("\n"));
    const last = get.stderr.at(-1) ?? "";
    assert(last.startsWith("Download stopped"), get.stderr.join("\n"));
  });
}

Deno.test("peer share that never registered does not claim to unregister", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "lonely.bin", 1000);
  const result = await runEntry("peer.ts", [
    "share",
    file,
    "--tracker",
    `127.0.0.1:${freePort()}`,
    "--port",
    "0",
  ]);
  assertEquals(result.code, 1, result.stderr);
  assert(result.stderr.includes("Cannot reach tracker"), result.stderr);
  assert(!result.stderr.includes("unregistering"), result.stderr);
});

Deno.test("a bad port names its flag, and the tracker refuses --relay-port with --no-relay and --metrics-port on the relay's port", async () => {
  const cases: [string, string[], string][] = [
    [
      "tracker.ts",
      ["--metrics-port", "-5"],
      'Cannot use --metrics-port: "-5" is not a port number from 0 to 65535.',
    ],
    [
      "tracker.ts",
      ["--relay-port", "70000"],
      'Cannot use --relay-port: "70000" is not a port number from 0 to 65535.',
    ],
    [
      "peer.ts",
      ["ui", "--port", "x1"],
      'Cannot use --port: "x1" is not a port number from 0 to 65535.',
    ],
    [
      "tracker.ts",
      ["--port", "7711", "--no-relay", "--relay-port", "7712"],
      "--relay-port and --no-relay do not go together: leave out one of them.",
    ],
    [
      "tracker.ts",
      ["--port", "7711", "--metrics-port", "7712"],
      "Cannot use port 7712 for --metrics-port: the relay listens there (--relay-port, else the tracker's port + 1); choose another.",
    ],
  ];
  for (const [entry, args, sentence] of cases) {
    const result = await runEntry(entry, args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertEquals(assertOneLine(result.stderr), sentence);
  }
});

Deno.test("a usage error is its one sentence even with --verbose: no stack trace", async () => {
  for (
    const [entry, args] of [
      ["peer.ts", ["list", "-q", "-v", "--tracker", "bad host!"]],
      ["peer.ts", ["search", "", "--verbose"]],
      ["tracker.ts", ["--port", "x", "--verbose"]],
    ] as const
  ) {
    const result = await runEntry(entry, [...args]);
    assertEquals(result.code, 2, result.stderr);
    assertOneLine(result.stderr);
  }
});

Deno.test("with --json a failure ends stdout with its sentence and exit code as JSON", async () => {
  const tracker = await spawnTracker();
  await using _tracker = tracker.child;
  await using dir = await tempDir();
  const result = await runEntry("peer.ts", [
    "get",
    FULL_ID,
    "--json",
    "--wait",
    "0",
    "--tracker",
    tracker.address,
    "--out",
    dir.path,
  ]);
  assertEquals(result.code, 1, result.stderr);
  const sentence = assertOneLine(result.stderr);
  assertEquals(JSON.parse(result.stdout.trim().split("\n").at(-1)!), {
    error: sentence,
    exitCode: 1,
    version: VERSION,
  });
  const usage = await runEntry("peer.ts", ["list", "--json", "extra"]);
  assertEquals(usage.code, 2);
  assertEquals(JSON.parse(usage.stdout).exitCode, 2);
});
