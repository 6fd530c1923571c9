import { join } from "node:path";
import { assertOneLine, freePort } from "./_cli.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { runEntry } from "../../scripts/_child.ts";
import { tempDir } from "../fixtures.ts";
import {
  parseHost,
  parseSearchText,
  USAGE_EXIT_CODE,
} from "../../lib/cli/args.ts";
import { UsageError } from "../../lib/app/usage_error.ts";
import { explainError, FAILURE_EXIT_CODE } from "../../lib/cli/errors.ts";
import { OutDirError, prepareOutDir } from "../../lib/cli/out_dir.ts";
import { formatAddress } from "../../lib/net/connection.ts";
import { ListenError, listenOn } from "../../lib/net/listener.ts";
import { MAX_SEARCH_CHARS } from "../../lib/protocol/limits.ts";
import { startPeerServer } from "../../lib/swarm/peer_server.ts";
import { startTracker } from "../../lib/tracker/server.ts";
import { ShareLinkError } from "../../lib/protocol/share_link.ts";
import {
  HandshakeRefusedError,
  PlainPeerError,
} from "../../lib/secure/secret_stream.ts";

/** A documentation address (RFC 5737): never one of this machine's. */
const NOT_HERE = "192.0.2.1";
/** A name that never resolves (RFC 6761). */
const NO_SUCH_NAME = "nosuchhost.invalid";
const NOT_A_HOST = "not a host!";
const FULL_ID = "ab".repeat(32);

/** The error `listenOn` throws for `host`:`port`. */
function listenFailure(host: string, port = 0): ListenError {
  try {
    listenOn({ host, port }).close();
  } catch (error) {
    assert(error instanceof ListenError, `got ${error}`);
    return error;
  }
  throw new Error(`Listening on ${host}:${port} worked`);
}

const NOT_HERE_SENTENCE =
  `Cannot listen on ${NOT_HERE}: it is not an address of this machine; use --host 0.0.0.0 (all addresses) or one of this machine's addresses.`;
const NO_SUCH_NAME_SENTENCE =
  `Cannot listen on "${NO_SUCH_NAME}": it is neither an IP address nor a host name this machine can look up; use --host 0.0.0.0 (all addresses) or one of this machine's addresses.`;
const NOT_A_HOST_SENTENCE =
  `Cannot use "${NOT_A_HOST}" for --host: it is not an IP address (four numbers from 0 to 255, like 192.168.1.20) or a host name; give an address such as 0.0.0.0 (all addresses) or 127.0.0.1.`;
const SEARCH_SENTENCE =
  `The search text has 300 characters, over the limit of ${MAX_SEARCH_CHARS}: search for a shorter part of the name.`;

function notATracker(address: string): string {
  return `${address} is a peer, not a tracker: point --tracker (or P2P_TRACKER) at the tracker's address.`;
}

// --- (b) and (c): listening, explained without running a command ---

Deno.test("explainError says an address not on this machine is not one of its addresses, and what to use", () => {
  const explained = explainError(listenFailure(NOT_HERE), "peer share");
  assertEquals(explained, {
    message: NOT_HERE_SENTENCE,
    exitCode: FAILURE_EXIT_CODE,
    unexpected: false,
  });
});

Deno.test("a peer server asked to listen on an address not on this machine fails with that sentence", () => {
  let error: unknown;
  try {
    startPeerServer({ host: NOT_HERE, port: 0, lookup: () => undefined });
  } catch (thrown) {
    error = thrown;
  }
  assertEquals(explainError(error, "peer share").message, NOT_HERE_SENTENCE);
});

Deno.test("explainError names the port in use and --port", () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const explained = explainError(
    listenFailure("127.0.0.1", busy.addr.port),
    "tracker",
  );
  assertEquals(explained, {
    message:
      `Cannot listen on port ${busy.addr.port}: it is in use; choose another with --port (0 picks a free one).`,
    exitCode: FAILURE_EXIT_CODE,
    unexpected: false,
  });
});

Deno.test("explainError calls a --host that is no host name a usage error (exit 2)", () => {
  const explained = explainError(listenFailure(NOT_A_HOST), "peer share");
  assertEquals(explained, {
    message: NOT_A_HOST_SENTENCE,
    exitCode: USAGE_EXIT_CODE,
    unexpected: false,
  });
});

Deno.test("explainError says a --host name that does not resolve is neither an address nor a known name (exit 1)", () => {
  const explained = explainError(listenFailure(NO_SUCH_NAME), "peer share");
  assertEquals(explained, {
    message: NO_SUCH_NAME_SENTENCE,
    exitCode: FAILURE_EXIT_CODE,
    unexpected: false,
  });
});

Deno.test("parseHost accepts addresses and names and refuses what is neither", () => {
  for (const host of ["0.0.0.0", "127.0.0.1", "::", "::1", "localhost"]) {
    assertEquals(parseHost(host), host);
  }
  assertEquals(parseHost("[::1]"), "::1");
  // Digits and dots alone are an IPv4 address or a mistake: no host name
  // ends in a number.
  for (
    const text of [
      NOT_A_HOST,
      "",
      " ",
      "a/b",
      "[::1",
      "[localhost]",
      "999.1.1.1",
      "1.2.3",
      "1.2.3.4.",
    ]
  ) {
    let error: unknown;
    try {
      parseHost(text);
    } catch (thrown) {
      error = thrown;
    }
    assert(error instanceof UsageError, `"${text}" was accepted`);
    assert(error.message.includes("--host"), error.message);
  }
});

// --- (d): search text ---

Deno.test("parseSearchText accepts MAX_SEARCH_CHARS characters and refuses one more with a sentence saying the limit", () => {
  const longest = "a".repeat(MAX_SEARCH_CHARS);
  assertEquals(parseSearchText(longest), longest);
  let error: unknown;
  try {
    parseSearchText("a".repeat(300));
  } catch (thrown) {
    error = thrown;
  }
  assert(error instanceof UsageError, `got ${error}`);
  assertEquals(error.message, SEARCH_SENTENCE);
});

// --- (e): the --out folder ---

Deno.test("prepareOutDir creates a missing folder and the folders above it", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "a", "b");
  await prepareOutDir(out);
  assert((await Deno.stat(out)).isDirectory);
  await prepareOutDir(out); // An existing folder is fine.
});

Deno.test("prepareOutDir refuses a --out that is a file as a usage error (exit 2) and leaves the file alone", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "movie.mp4");
  await Deno.writeTextFile(file, "keep me");
  const error = await assertRejects(() => prepareOutDir(file), UsageError);
  assertEquals(explainError(error, "peer get"), {
    message:
      `Cannot save into "${file}": it is a file, not a folder; give --out a folder (a missing one is created).`,
    exitCode: USAGE_EXIT_CODE,
    unexpected: false,
  });
  assertEquals(await Deno.readTextFile(file), "keep me");
});

Deno.test("prepareOutDir names the folder and says a file is in its way (exit 1)", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "file");
  await Deno.writeTextFile(file, "");
  const out = join(file, "sub");
  const error = await assertRejects(() => prepareOutDir(out), OutDirError);
  assertEquals(explainError(error, "peer get"), {
    message:
      `Cannot create the folder "${out}" to save into: part of that path is a file, not a folder; choose another --out.`,
    exitCode: FAILURE_EXIT_CODE,
    unexpected: false,
  });
});

Deno.test({
  name:
    "prepareOutDir says in plain words that /proc/nope cannot be created (exit 1)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const error = await assertRejects(
      () => prepareOutDir("/proc/nope"),
      OutDirError,
    );
    const { message, exitCode } = explainError(error, "peer get");
    assertEquals(exitCode, FAILURE_EXIT_CODE);
    assert(message?.includes('"/proc/nope"'), message);
    // Neither the system's words nor Deno's permission hint.
    assert(!/os error|mkdir|--allow|run again/i.test(message!), message);
  },
});

// --- End to end: the entry files, one sentence each ---

Deno.test("peer list with --tracker at a peer's port says it is a peer, not a tracker", async () => {
  const peer = startPeerServer({
    host: "127.0.0.1",
    port: 0,
    lookup: () => undefined,
  });
  try {
    const address = formatAddress(peer.address);
    const result = await runEntry("peer.ts", ["list", "--tracker", address]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(assertOneLine(result.stderr), notATracker(address));
  } finally {
    await peer.close();
  }
});

Deno.test("peer share with --tracker at a peer's port says it is a peer, not a tracker", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "f.bin");
  await Deno.writeFile(file, new Uint8Array(1000));
  const peer = startPeerServer({
    host: "127.0.0.1",
    port: 0,
    lookup: () => undefined,
  });
  try {
    const address = formatAddress(peer.address);
    const result = await runEntry("peer.ts", [
      "share",
      file,
      "--tracker",
      address,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--quiet",
    ]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(assertOneLine(result.stderr), notATracker(address));
  } finally {
    await peer.close();
  }
});

/** `peer share` of a small file with `--host host`; the tracker is never reached. */
async function shareOn(host: string) {
  await using dir = await tempDir();
  const file = join(dir.path, "f.bin");
  await Deno.writeFile(file, new Uint8Array(1000));
  return await runEntry("peer.ts", [
    "share",
    file,
    "--tracker",
    `127.0.0.1:${freePort()}`,
    "--host",
    host,
    "--port",
    "0",
  ]);
}

Deno.test("peer share --host with an address not on this machine fails with one sentence (exit 1)", async () => {
  const result = await shareOn(NOT_HERE);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(assertOneLine(result.stderr), NOT_HERE_SENTENCE);
});

Deno.test("tracker --host with an address not on this machine fails with one sentence (exit 1)", async () => {
  const result = await runEntry("tracker.ts", [
    "--host",
    NOT_HERE,
    "--port",
    "0",
  ]);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(assertOneLine(result.stderr), NOT_HERE_SENTENCE);
});

Deno.test("tracker whose relay port (its port + 1, or --relay-port) is in use names the relay, --relay-port and --no-relay (exit 1)", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = busy.addr.port;
  const beside = await runEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    String(taken - 1),
  ]);
  assertEquals(beside.code, 1, beside.stderr);
  assertEquals(
    assertOneLine(beside.stderr),
    `Cannot listen on port ${taken} for the relay (the tracker's port + 1): it is in use; choose another with --relay-port (0 picks a free one), or turn the relay off with --no-relay.`,
  );
  const chosen = await runEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--relay-port",
    String(taken),
  ]);
  assertEquals(chosen.code, 1, chosen.stderr);
  assertEquals(
    assertOneLine(chosen.stderr),
    `Cannot listen on port ${taken} for the relay: it is in use; choose another with --relay-port (0 picks a free one), or turn the relay off with --no-relay.`,
  );
});

Deno.test("tracker on a port in use by another tracker (its relay beside it) names the tracker's port and --port; --relay-port equal to --port is a usage error", async () => {
  // Two ports side by side, both taken: what another tracker and its relay hold.
  let held: Deno.TcpListener[] = [];
  for (let tries = 0; tries < 20 && held.length < 2; tries++) {
    const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const next = Deno.listen({
        hostname: "127.0.0.1",
        port: first.addr.port + 1,
      });
      held = [first, next];
    } catch {
      first.close();
    }
  }
  assertEquals(held.length, 2, "two free ports side by side");
  const port = held[0].addr.port;
  try {
    const result = await runEntry("tracker.ts", [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      `Cannot listen on port ${port}: it is in use; choose another with --port (0 picks a free one).`,
    );
  } finally {
    for (const listener of held) listener.close();
  }
  const same = await runEntry("tracker.ts", [
    "--port",
    "16500",
    "--relay-port",
    "16500",
  ]);
  assertEquals(same.code, 2, same.stderr);
  assertEquals(
    assertOneLine(same.stderr),
    "Cannot use port 16500 for --relay-port: the tracker listens there; choose another.",
  );
});

Deno.test("peer share --host with a name that does not resolve fails with one sentence naming --host (exit 1)", async () => {
  const result = await shareOn(NO_SUCH_NAME);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(assertOneLine(result.stderr), NO_SUCH_NAME_SENTENCE);
});

Deno.test("tracker --host with a name that does not resolve fails with one sentence naming --host (exit 1)", async () => {
  const result = await runEntry("tracker.ts", ["--host", NO_SUCH_NAME]);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(assertOneLine(result.stderr), NO_SUCH_NAME_SENTENCE);
});

Deno.test("peer share --host with text that is no host name is a usage error (exit 2)", async () => {
  const result = await shareOn(NOT_A_HOST);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(assertOneLine(result.stderr), NOT_A_HOST_SENTENCE);
});

Deno.test("peer share --host with digits and dots that are no IPv4 address is a usage error (exit 2), as the tracker's", async () => {
  const result = await shareOn("999.1.1.1");
  assertEquals(result.code, 2, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    NOT_A_HOST_SENTENCE.replace(NOT_A_HOST, "999.1.1.1"),
  );
});

Deno.test("tracker --host with text that is no host name is a usage error (exit 2)", async () => {
  const result = await runEntry("tracker.ts", ["--host", NOT_A_HOST]);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(assertOneLine(result.stderr), NOT_A_HOST_SENTENCE);
});

Deno.test("peer search with 300 characters is a usage error (exit 2) saying the limit, and the tracker never sees it", async () => {
  const tracker = startTracker({ host: "127.0.0.1", port: 0 });
  try {
    const result = await runEntry("peer.ts", [
      "search",
      "a".repeat(300),
      "--tracker",
      formatAddress(tracker.address),
    ]);
    assertEquals(result.code, 2, result.stderr);
    assertEquals(assertOneLine(result.stderr), SEARCH_SENTENCE);
    assertEquals(tracker.stats().requests, 0);
  } finally {
    await tracker.close();
  }
});

// The tests below pass once peer.ts checks the search text with
// parseSearchText, and lib/cli/get.ts calls prepareOutDir, before the
// tracker is contacted: the tracker given here does not exist.

Deno.test("peer search with 300 characters fails with exit 2 before contacting the tracker", async () => {
  const result = await runEntry("peer.ts", [
    "search",
    "a".repeat(300),
    "--tracker",
    `127.0.0.1:${freePort()}`,
  ]);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(assertOneLine(result.stderr), SEARCH_SENTENCE);
});

Deno.test("peer get --out naming an existing file fails with exit 2 before contacting the tracker", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "movie.mp4");
  await Deno.writeTextFile(file, "keep me");
  const result = await runEntry("peer.ts", [
    "get",
    FULL_ID,
    "--out",
    file,
    "--tracker",
    `127.0.0.1:${freePort()}`,
    "--host",
    "127.0.0.1",
  ]);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    `Cannot save into "${file}": it is a file, not a folder; give --out a folder (a missing one is created).`,
  );
  assertEquals(await Deno.readTextFile(file), "keep me");
});

Deno.test({
  name:
    "peer get --out /proc/nope fails with exit 1 before contacting the tracker, naming the folder in plain words",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const result = await runEntry("peer.ts", [
      "get",
      FULL_ID,
      "--out",
      "/proc/nope",
      "--tracker",
      `127.0.0.1:${freePort()}`,
      "--host",
      "127.0.0.1",
    ]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      // Deno lets it not even look into /proc: whether the folder is
      // there or not, it cannot be written.
      `Cannot save into "/proc/nope": this program is not allowed to write there; choose another --out.`,
    );
  },
});

Deno.test("explainError passes a damaged share link's sentence through as a usage error (exit 2)", () => {
  const sentence = "This share link is cut short: it has no secret.";
  assertEquals(explainError(new ShareLinkError(sentence), "peer get"), {
    message: sentence,
    exitCode: USAGE_EXIT_CODE,
    unexpected: false,
  });
});

Deno.test("explainError words a refused or unencrypted handshake in one sentence, never as unexpected", () => {
  for (
    const error of [
      new HandshakeRefusedError("key-required"),
      new HandshakeRefusedError("unknown-key"),
      new HandshakeRefusedError("no-key-expected"),
      new HandshakeRefusedError("version"),
      new PlainPeerError(),
    ]
  ) {
    const { message, exitCode, unexpected } = explainError(error, "peer");
    assertEquals(exitCode, FAILURE_EXIT_CODE);
    assertEquals(unexpected, false);
    assert(message && /^The other side [^\n]*\.$/.test(message), message);
    // Each refusal in its own words: none is taken for another version.
    if (error instanceof HandshakeRefusedError && error.reason !== "version") {
      assert(!message.includes("version"), message);
    }
  }
});
