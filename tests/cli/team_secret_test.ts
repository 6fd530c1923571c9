import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import { randomFile, sha256File, tempDir } from "../fixtures.ts";
import {
  type Child,
  READY_TIMEOUT_MS,
  runEntry,
  shareArgs,
  spawnEntry,
} from "../../scripts/_child.ts";
import { UsageError } from "../../lib/app/usage_error.ts";
import { peerTeamKey, trackerTeamKey } from "../../lib/cli/team_secret.ts";
import { deriveTeamPsk } from "../../lib/secure/share_keys.ts";

const SECRET = "correct horse battery staple";
/** How a secret file should be written: readable by its owner alone. */
const PRIVATE = { mode: 0o600 };

Deno.test("trackerTeamKey() writes a new secret (mode 600) when the file is missing and never overwrites one", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "team.secret");
  const first = trackerTeamKey(path);
  assertEquals(first.created, true);
  const text = await Deno.readTextFile(path);
  assert(/^[A-Za-z0-9_-]{40,}\n$/.test(text), JSON.stringify(text));
  assertEquals(first.psk, deriveTeamPsk(text));
  if (Deno.build.os !== "windows") {
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  }
  const again = trackerTeamKey(path);
  assertEquals(again.created, false);
  assertEquals(again.psk, first.psk);
  assertEquals(await Deno.readTextFile(path), text);
});

Deno.test("trackerTeamKey() and peerTeamKey() refuse a short secret, a folder and a missing folder in one sentence", async () => {
  await using dir = await tempDir();
  const short = join(dir.path, "short");
  await Deno.writeTextFile(short, "  too short  \n", PRIVATE);
  for (
    const [run, pattern] of [
      [() => trackerTeamKey(short), /too short.*--secret-file/],
      [() => peerTeamKey({ file: short }), /too short.*--secret-file/],
      [() => peerTeamKey({ env: "short" }), /too short.*P2P_TEAM_SECRET/],
      [() => trackerTeamKey(dir.path), /is a folder|it is a folder/],
      [
        () => trackerTeamKey(join(dir.path, "no", "file")),
        /its folder does not exist/,
      ],
      [
        () => peerTeamKey({ file: join(dir.path, "missing") }),
        /no such file.*copy it from the tracker's machine/,
      ],
    ] as const
  ) {
    const error = assertThrows(run, UsageError);
    assert(pattern.test(error.message), error.message);
    assert(/^[A-Z].*\.$/.test(error.message), error.message);
    assertEquals(error.message.split("\n").length, 1);
  }
});

Deno.test("peerTeamKey() takes --secret-file before P2P_TEAM_SECRET, trims the secret, and gives none without either", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "team.secret");
  await Deno.writeTextFile(file, `${SECRET}\n`, PRIVATE);
  const key = deriveTeamPsk(SECRET);
  assertEquals(peerTeamKey({ file, env: "another secret, long enough" }), key);
  assertEquals(peerTeamKey({ env: `  ${SECRET}\n` }), key);
  assertEquals(peerTeamKey({}), undefined);
  assertEquals(peerTeamKey({ env: "  " }), undefined);
});

/**
 * A tracker child with `--secret-file path`, once it listens; with
 * `typedIn`, started as `deno task` starts it from that folder (INIT_CWD).
 */
async function teamTracker(
  path: string,
  typedIn?: string,
): Promise<{ child: Child; address: string }> {
  const child = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--secret-file",
    path,
  ], typedIn === undefined ? {} : { env: { INIT_CWD: typedIn } });
  const line = await child.waitForLine(/listening on/, READY_TIMEOUT_MS);
  return { child, address: line.slice(line.lastIndexOf(" ") + 1) };
}

Deno.test("tracker --secret-file creates the file and says peers need it; peers without the secret get one sentence and exit 1", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "team.secret");
  const tracker = await teamTracker(path);
  await using _tracker = tracker.child;
  assertEquals(
    tracker.child.stdout[0],
    `Created the team secret file ${path}: peers need a copy of it (peer --secret-file PATH) or P2P_TEAM_SECRET set to the secret in it.`,
  );
  assert((await Deno.readTextFile(path)).trim().length >= 16);

  const without = await runEntry("peer.ts", [
    "list",
    "--tracker",
    tracker.address,
  ], { env: { P2P_TEAM_SECRET: "" } });
  assertEquals(without.code, 1, without.stderr);
  assertEquals(
    assertOneLine(without.stderr),
    `Cannot use tracker at ${tracker.address}: it is a team tracker and needs the team's secret (--secret-file or P2P_TEAM_SECRET).`,
  );
  const wrong = await runEntry("peer.ts", [
    "list",
    "--tracker",
    tracker.address,
  ], { env: { P2P_TEAM_SECRET: "not the team's secret at all" } });
  assertEquals(wrong.code, 1, wrong.stderr);
  assertEquals(
    assertOneLine(wrong.stderr),
    `Cannot use tracker at ${tracker.address}: the team secret given does not match this tracker's.`,
  );
  const short = await runEntry("peer.ts", [
    "list",
    "--tracker",
    tracker.address,
  ], { env: { P2P_TEAM_SECRET: "short" } });
  assertEquals(short.code, 2, short.stderr);
  assert(assertOneLine(short.stderr).includes("too short"), short.stderr);
});

/** Where this Deno keeps its cache, so a child with another HOME finds it. */
async function denoDir(): Promise<string> {
  const set = Deno.env.get("DENO_DIR");
  if (set) return set;
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
}

Deno.test("a peer with a team secret (--secret-file or P2P_TEAM_SECRET) is told an open tracker takes none, exits 1, and lists without it", async () => {
  await using dir = await tempDir();
  const home = {
    HOME: dir.path,
    P2P_HOME: dir.path,
    XDG_DATA_HOME: dir.path,
    XDG_CONFIG_HOME: dir.path,
    DENO_DIR: await denoDir(),
  };
  const path = join(dir.path, "team.secret");
  await Deno.writeTextFile(path, `${SECRET}\n`, PRIVATE);
  await using tracker = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
  ], { env: home });
  const line = await tracker.waitForLine(/listening on/, READY_TIMEOUT_MS);
  const address = line.slice(line.lastIndexOf(" ") + 1);
  const list = ["list", "--tracker", address];
  for (
    const [args, env] of [
      [[...list, "--secret-file", path], { P2P_TEAM_SECRET: "" }],
      [list, { P2P_TEAM_SECRET: SECRET }],
    ] as const
  ) {
    const run = await runEntry("peer.ts", [...args], {
      env: { ...home, ...env },
    });
    assertEquals(run.code, 1, run.stderr);
    assertEquals(
      assertOneLine(run.stderr),
      `Cannot use tracker at ${address}: it is an open tracker and takes no team secret: leave out --secret-file (or unset P2P_TEAM_SECRET) for it.`,
    );
  }
  const open = await runEntry("peer.ts", list, {
    env: { ...home, P2P_TEAM_SECRET: "" },
  });
  assertEquals(open.code, 0, open.stderr);
  assertEquals(open.stdout.trim(), "No files.");
});

Deno.test("a restarted team tracker keeps its secret file, and says nothing about creating it", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "team.secret");
  await Deno.writeTextFile(path, `${SECRET}\n`, PRIVATE);
  const tracker = await teamTracker(path);
  await using _tracker = tracker.child;
  assert(
    !tracker.child.stdout.some((line) => /secret file/.test(line)),
    tracker.child.stdout.join("\n"),
  );
  assertEquals(await Deno.readTextFile(path), `${SECRET}\n`);
  const list = await runEntry("peer.ts", [
    "list",
    "--tracker",
    tracker.address,
    "--secret-file",
    path,
  ]);
  assertEquals(list.code, 0, list.stderr);
  assertEquals(list.stdout.trim(), "No files.");
});

Deno.test("with --secret-file or P2P_TEAM_SECRET, peers share and get through a team tracker, by ID and by link", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "team.secret");
  const tracker = await teamTracker(path);
  await using _tracker = tracker.child;
  const secret = (await Deno.readTextFile(path)).trim();
  const file = await randomFile(dir.path, "team.bin", 400_000);
  const id = await sha256File(file);
  // The option before the command, as a global option.
  await using sharer = spawnEntry("peer.ts", [
    "--secret-file",
    path,
    ...shareArgs(file, tracker.address),
  ]);
  const shared = JSON.parse(await sharer.waitForLine(/^\{/, READY_TIMEOUT_MS));
  assertEquals(shared.id, id);
  await using privateSharer = spawnEntry(
    "peer.ts",
    shareArgs(file, tracker.address, ["--private", "--secret-file", path]),
  );
  const hidden = JSON.parse(
    await privateSharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
  );

  const env = { P2P_TEAM_SECRET: secret };
  const byId = await runEntry("peer.ts", [
    "get",
    id.slice(0, 16),
    "--tracker",
    tracker.address,
    "--out",
    join(dir.path, "by-id"),
  ], { env });
  assertEquals(byId.code, 0, byId.stderr);
  assertEquals(await sha256File(join(dir.path, "by-id", "team.bin")), id);

  const byLink = await runEntry("peer.ts", [
    "get",
    hidden.link,
    "--secret-file",
    path,
    "--out",
    join(dir.path, "by-link"),
  ]);
  assertEquals(byLink.code, 0, byLink.stderr);
  assertEquals(await sha256File(join(dir.path, "by-link", "team.bin")), id);

  // The link alone is not enough at a team tracker.
  const outsider = await runEntry("peer.ts", [
    "get",
    shared.link,
    "--out",
    join(dir.path, "outsider"),
  ], { env: { P2P_TEAM_SECRET: "" } });
  assertEquals(outsider.code, 1, outsider.stderr);
  assert(
    assertOneLine(outsider.stderr).includes("needs the team's secret"),
    outsider.stderr,
  );
});

Deno.test("tracker --secret-file with a relative path means the folder the command was typed in (INIT_CWD), as for peer", async () => {
  await using dir = await tempDir();
  const secret = "kept-team-secret-0123456789abcdef";
  await Deno.writeTextFile(
    join(dir.path, "team.secret"),
    `${secret}\n`,
    PRIVATE,
  );
  const tracker = await teamTracker("team.secret", dir.path);
  await using _tracker = tracker.child;
  // The user's file was read, not a new one made beside the program.
  assert(
    !tracker.child.stdout.some((line) => line.startsWith("Created")),
    tracker.child.stdout.join("\n"),
  );
  assertEquals(
    await Deno.readTextFile(join(dir.path, "team.secret")),
    `${secret}\n`,
  );
  const listed = await runEntry("peer.ts", [
    "list",
    "--tracker",
    tracker.address,
  ], { env: { P2P_TEAM_SECRET: secret } });
  assertEquals(listed.code, 0, listed.stderr);
});

Deno.test("a team secret file others may read gets a warning once, and an empty --secret-file one sentence", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "open.secret");
  await Deno.writeTextFile(path, `${SECRET}\n`);
  await Deno.chmod(path, 0o644);
  const tracker = await teamTracker(path);
  await using _tracker = tracker.child;
  const warning =
    `Warning: other users of this machine may read the team secret file "${path}"; make it private with: chmod 600 "${path}"`;
  assertEquals(tracker.child.stderr, [warning]);
  const list = await runEntry("peer.ts", [
    "list",
    "--secret-file",
    path,
    "--tracker",
    tracker.address,
  ]);
  assertEquals(list.code, 0, list.stderr);
  assertEquals(list.stderr.trim(), warning);
  for (const entry of ["peer.ts", "tracker.ts"]) {
    const empty = await runEntry(entry, [
      ...(entry === "peer.ts" ? ["list"] : []),
      "--secret-file",
      "",
    ]);
    assertEquals(empty.code, 2, empty.stderr);
    assertEquals(
      assertOneLine(empty.stderr),
      "--secret-file needs a path: give the file that holds the team's secret.",
    );
  }
});
