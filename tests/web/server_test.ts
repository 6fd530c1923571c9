/**
 * The page's server for real: a tracker, a peer session and the web server
 * on 127.0.0.1, asked over HTTP (and a raw socket, where fetch would fix the
 * Host header), with files compared byte for byte.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  pollUntil,
  randomFile,
  sha256File,
  sha256sum,
  sharer,
  tempDir,
  testTracker,
  within,
} from "../fixtures.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import { PeerNode } from "../../lib/app/peer_node.ts";
import { Session } from "../../lib/app/session.ts";
import { startWebUi, type WebUi } from "../../lib/web/server.ts";
import type { WebState } from "../../lib/web/state.ts";
import { MAX_JSON_BYTES } from "../../lib/web/routes.ts";
import { knownName } from "../../lib/web/_tracked.ts";
import {
  DownloadError,
  incompleteError,
} from "../../lib/download/_download_error.ts";
import { STATIC_FILES } from "../../lib/web/static_files.ts";

const TOKEN = "test-token-0123456789abcdef0123456789abcdef";

/** How the fixture's peer runs, besides its defaults. */
interface FixtureOptions {
  /** Piece bytes a second it uploads. @default {no limit} */
  uploadLimit?: number;
  /** Ms between checks of its idle shared files. @default {FILE_CHECK_INTERVAL_MS} */
  checkIntervalMs?: number;
}

/**
 * A tracker, a session on a peer and the page's server on it, all closed on
 * dispose; the node's notes go to the page, as `peer ui` sends them.
 */
async function webFixture(options: FixtureOptions = {}) {
  const dir = await tempDir();
  const tracker = testTracker();
  const trackerAddress = { host: "127.0.0.1", port: tracker.address.port };
  const page: { ui?: WebUi } = {};
  const node = await PeerNode.start({
    tracker: trackerAddress,
    host: "127.0.0.1",
    port: 0,
    uploadLimit: options.uploadLimit,
    checkIntervalMs: options.checkIntervalMs,
    onDropped: (meta, reason) =>
      page.ui?.note(`Stopped sharing ${meta.name}: ${reason}.`),
  });
  const session = new Session(node, {
    tracker: trackerAddress,
    outDir: join(dir.path, "downloads"),
  });
  const ui: WebUi = await startWebUi(session, {
    tracker: trackerAddress,
    dropDir: join(dir.path, "dropped"),
    token: TOKEN,
  });
  page.ui = ui;
  const base = `http://127.0.0.1:${ui.port}`;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, ...init.headers },
    });
  const state = async (): Promise<WebState> =>
    await (await api("/api/state")).json();
  return {
    dir: dir.path,
    tracker,
    trackerAddress,
    session,
    ui,
    base,
    api,
    state,
    async [Symbol.asyncDispose]() {
      await ui.close();
      await node.close();
      await tracker.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/**
 * The page's event stream: `next` reads events until a state passes
 * `test` (or a note, with `notes`), and resolves with it.
 */
async function eventStream(web: { api: (path: string) => Promise<Response> }) {
  const events = await web.api("/api/events");
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const notes: string[] = [];
  /** Each note event's data as sent: `{ text }`, or `{ text, error: true }`. */
  const sent: { text: string; error?: boolean }[] = [];
  const next = async (test: (state: WebState) => boolean) => {
    for (;;) {
      const end = buffered.indexOf("\n\n");
      if (end >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const [, type, data] = /^event: (\w+)\ndata: (.*)$/s.exec(event) ??
          [];
        if (type === "note") {
          notes.push(JSON.parse(data).text);
          sent.push(JSON.parse(data));
        }
        const state = type === "state" ? JSON.parse(data) : undefined;
        if (state && test(state)) return state as WebState;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("The event stream ended.");
      buffered += value;
    }
  };
  return {
    next,
    notes,
    sent,
    [Symbol.asyncDispose]: () => reader.cancel(),
  };
}

/** Shares `path` through the page; resolves once the state lists it shared. */
async function shareThroughPage(
  web: Awaited<ReturnType<typeof webFixture>>,
  path: string,
  isPrivate = false,
): Promise<{ number: number; state: WebState }> {
  const answer = await web.api(
    ...post("/api/share", { path, private: isPrivate }),
  );
  assertEquals(answer.status, 202);
  const { number } = await answer.json();
  let state = await web.state();
  await pollUntil(10_000, async () => {
    state = await web.state();
    return state.finished.some((f) => f.number === number);
  });
  return { number, state };
}

/** Sends `text` over a raw TCP connection and returns the status code of the answer. */
async function rawStatus(port: number, text: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(text));
    const buffer = new Uint8Array(4096);
    const n = await within(conn.read(buffer), 5_000, "the answer");
    const head = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  } finally {
    conn.close();
  }
}

Deno.test("web: every file of lib/web/static/ is served, and every module the page imports is one of them", async () => {
  const folder = new URL("../../lib/web/static/", import.meta.url);
  const served = Object.values(STATIC_FILES);
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  assertEquals(names.sort(), [...served].sort());
  for (const name of served.filter((n) => n.endsWith(".js"))) {
    const text = await Deno.readTextFile(new URL(name, folder));
    for (const [, imported] of text.matchAll(/from "\.\/([^"]+)"/g)) {
      assert(served.includes(imported), `${name} imports ${imported}`);
    }
  }
});

function post(path: string, body: unknown): [string, RequestInit] {
  return [path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  }];
}

Deno.test("web: the page and every answer carry the CSP, no framing and nosniff; the page's files are served", async () => {
  await using web = await webFixture();
  for (const [path, name] of Object.entries(STATIC_FILES)) {
    const response = await fetch(`${web.base}${path}`);
    assertEquals(response.status, 200, path);
    const type = name.endsWith(".js")
      ? "text/javascript"
      : name.endsWith(".css")
      ? "text/css"
      : "text/html";
    assert(response.headers.get("content-type")!.startsWith(type), path);
    await response.body?.cancel();
    assert(
      response.headers.get("content-security-policy")!.includes(
        "script-src 'self'",
      ),
    );
    assertEquals(response.headers.get("x-frame-options"), "DENY");
    assertEquals(response.headers.get("x-content-type-options"), "nosniff");
  }
  const missing = await fetch(`${web.base}/nothing`);
  await missing.body?.cancel();
  assertEquals(missing.status, 404);
  assert(web.ui.url.startsWith(`http://127.0.0.1:${web.ui.port}/#token=`));
});

Deno.test("web: a request without the token, to a foreign Host (raw socket) or from a foreign Origin changes nothing", async () => {
  await using web = await webFixture();
  const file = await randomFile(web.dir, "secret.bin", 70_000);
  const body = JSON.stringify({ path: file });
  const share = (headers: string) =>
    `POST /api/share HTTP/1.1\r\n${headers}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  const port = web.ui.port;
  // DNS rebinding: the attacker's name resolved to 127.0.0.1.
  assertEquals(
    await rawStatus(
      port,
      share(`Host: evil.example:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n`),
    ),
    421,
  );
  assertEquals(await rawStatus(port, share(`Host: evil.example\r\n`)), 421);
  assertEquals(
    await rawStatus(port, share(`Host: 127.0.0.1:${port}\r\n`)),
    401,
  );
  assertEquals(
    await rawStatus(
      port,
      share(`Host: 127.0.0.1:${port}\r\nAuthorization: Bearer wrong\r\n`),
    ),
    401,
  );
  assertEquals(
    await rawStatus(
      port,
      share(
        `Host: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nOrigin: http://evil.example\r\n`,
      ),
    ),
    403,
  );
  const noToken = await fetch(`${web.base}/api/share`, {
    method: "POST",
    body,
  });
  assertEquals(noToken.status, 401);
  await noToken.body?.cancel();
  const stateless = await fetch(`${web.base}/api/state`);
  assertEquals(stateless.status, 401);
  await stateless.body?.cancel();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const state = await web.state();
  assertEquals(state.shared, []);
  assertEquals(state.transfers, []);
  assertEquals(web.session.shared(), []);
  // The same call from the page itself works.
  const ok = await web.api(...post("/api/share", { path: file }));
  assertEquals(ok.status, 202);
  await ok.body?.cancel();
  await pollUntil(10_000, async () => (await web.state()).shared.length === 1);
  assertEquals((await web.state()).shared[0].id, await sha256sum(file));
});

Deno.test("web: a dropped file is stored under a safe name inside the drop folder, shared, and its ID is sha256sum's", async () => {
  await using web = await webFixture();
  await using files = await tempDir();
  const bytes = await Deno.readFile(
    await randomFile(files.path, "x.bin", 300_000),
  );
  const upload = await web.api(
    `/api/upload?name=${encodeURIComponent("../../escape.bin")}&private=0`,
    { method: "PUT", body: bytes },
  );
  assertEquals(upload.status, 202, await upload.clone().text());
  const { number } = await upload.json();
  assert(Number.isInteger(number));
  await pollUntil(
    10_000,
    async () => (await web.state()).finished.length === 1,
  );
  const dropped = [...Deno.readDirSync(join(web.dir, "dropped"))].map((e) =>
    e.name
  );
  assertEquals(dropped, [".._.._escape.bin"]);
  const stored = join(web.dir, "dropped", dropped[0]);
  const state = await web.state();
  assertEquals(state.shared[0].id, await sha256sum(stored));
  assertEquals(state.shared[0].id, await sha256File(stored));
  assertEquals(state.shared[0].name, ".._.._escape.bin");
  assert(state.shared[0].link?.startsWith("p2p://"));
  assertEquals(state.finished[0].outcome, "shared");
  // Nothing was written beside the drop folder.
  for (const entry of Deno.readDirSync(web.dir)) {
    assert(["dropped", "downloads"].includes(entry.name), entry.name);
  }
  for (const outside of ["escape.bin", "../escape.bin", "../../escape.bin"]) {
    assert(!existsSync(join(web.dir, "dropped", outside)), outside);
  }
});

Deno.test("web: Cancel stops a file being sent from the page: the upload is answered cancelled, nothing of it stays in the drop folder, nothing is shared, and its item says cancelled", async () => {
  await using web = await webFixture();
  const dropDir = join(web.dir, "dropped");
  // A sender that sends 64 KiB and then nothing more until the end.
  const stalled = Promise.withResolvers<void>();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(crypto.getRandomValues(new Uint8Array(65_536)));
      await stalled.promise;
      controller.close();
    },
  });
  const sending = web.api("/api/upload?name=slow.bin&private=0&tag=p-1", {
    method: "PUT",
    body,
    headers: { "content-type": "application/octet-stream" },
  });
  try {
    let number = 0;
    await pollUntil(10_000, async () => {
      const upload = (await web.state()).uploads.find((u) => u.done > 0);
      number = upload?.number ?? 0;
      // The sending page's tag comes back, for it to know its upload.
      if (upload) assertEquals(upload.tag, "p-1");
      return upload !== undefined;
    });
    assertEquals((await readdirNames(dropDir)).length, 1, "the part received");
    const cancel = await web.api(...post("/api/cancel", { number }));
    assertEquals(cancel.status, 200);
    await cancel.body?.cancel();
    const answer = await within(sending, 5_000, "the upload's answer");
    assertEquals(answer.status, 200);
    assertEquals(await answer.json(), { cancelled: true });
    const state = await web.state();
    assertEquals(state.uploads, []);
    assertEquals([state.transfers, state.shared], [[], []]);
    const ended = state.finished.find((f) => f.number === number);
    // Its tag too: the page that sends it stops, wherever it was cancelled.
    assertEquals(
      [ended?.kind, ended?.name, ended?.outcome, ended?.resumable, ended?.tag],
      ["upload", "slow.bin", "cancelled", false, "p-1"],
    );
    assertEquals(await readdirNames(dropDir), []);
    // Twice is no mistake, as for any transfer.
    const again = await web.api(...post("/api/cancel", { number }));
    assertEquals(again.status, 200);
    await again.body?.cancel();
    // A tag the page would not make is refused, and nothing is received.
    const badTag = await web.api("/api/upload?name=x.bin&tag=%3Cb%3E", {
      method: "PUT",
      body: "x",
    });
    assertEquals(badTag.status, 400);
    await badTag.body?.cancel();
    assertEquals(await readdirNames(dropDir), []);
  } finally {
    stalled.resolve();
    const answer = await sending.catch(() => undefined);
    if (answer && !answer.bodyUsed) await answer.body?.cancel();
  }
});

/** The names in `dir`, hidden ones too; none when it is missing. */
async function readdirNames(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

Deno.test("web: a dropped copy is deleted by Stop sharing, and a drop of content already shared (dropped before, or shared from its path) is deleted and noted, with no second copy", async () => {
  await using web = await webFixture();
  await using stream = await eventStream(web);
  await using files = await tempDir();
  const original = await randomFile(files.path, "secret.txt", 50_000);
  const bytes = await Deno.readFile(original);
  const droppedDir = join(web.dir, "dropped");
  const inDrop = () => [...Deno.readDirSync(droppedDir)].map((e) => e.name);
  const drop = async () => {
    const answer = await web.api("/api/upload?name=secret.txt", {
      method: "PUT",
      body: bytes,
    });
    assertEquals(answer.status, 202, await answer.clone().text());
    const { number } = await answer.json();
    await pollUntil(10_000, async () => {
      const state = await web.state();
      return state.finished.some((f) => f.number === number) &&
        state.transfers.length === 0;
    });
  };
  await drop();
  assertEquals(inDrop(), ["secret.txt"]);
  await drop();
  await within(
    stream.next(() => stream.notes.some((n) => n.includes("already shared"))),
    5_000,
    "the already-shared note",
  );
  assertEquals(inDrop(), ["secret.txt"]);
  assertEquals((await web.state()).shared.length, 1);
  const id = (await web.state()).shared[0].id;
  // Stop sharing deletes this run's copy, and only it.
  const stop = await web.api(...post("/api/unshare", { id }));
  assertEquals(stop.status, 200);
  assertEquals(inDrop(), []);
  assert(existsSync(original));
  // Shared from its own path, a dropped copy is not kept either.
  await shareThroughPage(web, original);
  await drop();
  assertEquals(inDrop(), []);
  await web.api(...post("/api/unshare", { id }));
  assert(existsSync(original), "the file shared from its path stays");
});

Deno.test("web: get by ID saves the verified file, its progress comes through the event stream, and a bad ref is one sentence", async () => {
  await using web = await webFixture();
  await using files = await tempDir();
  const source = await randomFile(
    files.path,
    "movie.bin",
    3 * 1024 * 1024 + 17,
  );
  await using other = await sharer(web.trackerAddress, [source]);
  const id = other.shared()[0].id;
  const events = await web.api("/api/events");
  assertEquals(
    events.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  const started = await web.api(...post("/api/get", { ref: id }));
  assertEquals(started.status, 202);
  const { number } = await started.json();
  let seen = "";
  await within(
    (async () => {
      while (!/"outcome":"saved"/.test(seen)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("The event stream ended.");
        seen += value;
      }
    })(),
    20_000,
    "the saved event",
  );
  await reader.cancel();
  assert(seen.startsWith("event: state\ndata: {"), seen.slice(0, 40));
  const state = await web.state();
  const saved = state.finished.find((f) => f.number === number)!;
  assertEquals(saved.outcome, "saved");
  assertEquals(await sha256File(saved.path!), id);
  assertEquals(state.shared.map((s) => s.id), [id]);

  for (
    const [ref, status] of [["zz-not-an-id", 400], ["p2p://broken", 400], [
      "",
      400,
    ]] as const
  ) {
    const answer = await web.api(...post("/api/get", { ref }));
    assertEquals(answer.status, status, ref);
    const { error } = await answer.json();
    assert(
      typeof error === "string" && error.endsWith(".") && !error.includes("\n"),
      error,
    );
  }
});

Deno.test("web: bad API calls are refused with a status and a sentence, and the server stays up", async () => {
  await using web = await webFixture();
  const cases: [string, RequestInit, number][] = [
    ["/api/share", { method: "POST", body: "{not json" }, 400],
    ["/api/share", { method: "POST", body: "[1,2]" }, 400],
    ["/api/share", {
      method: "POST",
      body: JSON.stringify({ path: join(web.dir, "missing") }),
    }, 400],
    [
      "/api/share",
      { method: "POST", body: "x".repeat(MAX_JSON_BYTES + 1) },
      413,
    ],
    [
      "/api/cancel",
      { method: "POST", body: JSON.stringify({ number: 99 }) },
      400,
    ],
    [
      "/api/cancel",
      { method: "POST", body: JSON.stringify({ number: "1" }) },
      400,
    ],
    [
      "/api/resume",
      { method: "POST", body: JSON.stringify({ number: 5 }) },
      400,
    ],
    ["/api/upload?name=", { method: "PUT", body: "x" }, 400],
    ["/api/state", { method: "POST" }, 405],
    ["/api/nothing", {}, 404],
  ];
  for (const [path, init, status] of cases) {
    const answer = await web.api(path, init);
    assertEquals(answer.status, status, `${init.method ?? "GET"} ${path}`);
    const { error } = await answer.json();
    assert(typeof error === "string" && error.length > 0);
  }
  assertEquals((await web.api("/api/state")).status, 200);
});

Deno.test("web: names from peers and the tracker come escaped as the terminal shows them (U+202E cannot turn .exe into .txt); ordinary Unicode stays", async () => {
  await using web = await webFixture();
  await using files = await tempDir();
  const spoof = "\u202etxt.exe";
  const plain = "café 日本 🎉 👩‍💻.bin";
  const source = await randomFile(files.path, spoof, 200_000);
  await randomFile(files.path, plain, 1_000);
  await using other = await sharer(web.trackerAddress, [
    source,
    join(files.path, plain),
  ]);
  const id = other.shared().find((meta) => meta.name === spoof)!.id;
  const listed = await (await web.api("/api/list")).json();
  const names = listed.files.map((f: { name: string }) => f.name).sort();
  assertEquals(names, ["\\u202etxt.exe", plain].sort());
  const found = await (await web.api(
    `/api/search?q=${encodeURIComponent("txt")}`,
  )).json();
  assertEquals(found.files[0].name, "\\u202etxt.exe");
  // The ID the page gets by is sent as it is, and works.
  assertEquals(found.files[0].id, id);
  const started = await web.api(...post("/api/get", { ref: id }));
  assertEquals(started.status, 202);
  const { number } = await started.json();
  await pollUntil(
    20_000,
    async () => (await web.state()).finished.some((f) => f.number === number),
  );
  const text = await (await web.api("/api/state")).text();
  assert(!text.includes("\u202e"), "a raw U+202E in the state");
  const state: WebState = JSON.parse(text);
  const saved = state.finished.find((f) => f.number === number)!;
  assertEquals(saved.outcome, "saved");
  assertEquals(saved.name, "\\u202etxt.exe");
  // (The file is saved without the control: the path needs no escape.)
  assertEquals(await sha256File(saved.path!), id);
  assertEquals(state.shared.map((s) => s.name), ["\\u202etxt.exe"]);
  // The event stream sends the same.
  const events = await web.api("/api/events");
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  const first = (await reader.read()).value ?? "";
  await reader.cancel();
  assert(first.includes("\\\\u202etxt.exe") && !first.includes("\u202e"));
});

Deno.test("web: a get into a file or a forbidden folder is refused at once with one plain sentence, and nothing is left to resume", async () => {
  await using web = await webFixture();
  const file = join(web.dir, "u.bin");
  await Deno.writeTextFile(file, "keep me");
  const id = "ab".repeat(32);
  const outs: [string, RegExp][] = [
    [file, /it is a file, not a folder/],
    [join(file, "sub"), /part of that path is a file, not a folder/],
  ];
  if (Deno.build.os === "linux") {
    // Deno's own refusal when not run with --allow-all, else the system's.
    outs.push(["/proc/nope", /not allowed to write|does not allow new/]);
  }
  for (const [outDir, words] of outs) {
    const answer = await web.api(...post("/api/get", { ref: id, outDir }));
    assertEquals(answer.status, 400, outDir);
    const { error } = await answer.json();
    assert(words.test(error), error);
    assert(error.includes(`"${outDir}"`), error);
    assert(error.endsWith(".") && !error.includes("\n"), error);
    // Neither command-line flags nor the system's or Deno's words.
    assert(!/--|os error|mkdir|allow-all|run again/i.test(error), error);
  }
  assertEquals(await Deno.readTextFile(file), "keep me");
  await new Promise((resolve) => setTimeout(resolve, 200));
  const state = await web.state();
  assertEquals(state.transfers, []);
  assertEquals(state.finished, []);
  // A get that ends before a byte arrived has nothing to resume either.
  const started = await web.api(...post("/api/get", { ref: id }));
  assertEquals(started.status, 202);
  const { number } = await started.json();
  await web.api(...post("/api/cancel", { number })).then((r) => r.text());
  await pollUntil(
    10_000,
    async () => (await web.state()).finished.some((f) => f.number === number),
  );
  const ended = (await web.state()).finished.find((f) => f.number === number)!;
  assertEquals(ended.resumable, false, ended.outcome);
  const resumed = await web.api(...post("/api/resume", { number }));
  assertEquals(resumed.status, 400);
  await resumed.body?.cancel();
});

Deno.test("web: a get of an ID nobody shares yet waits for a sharer (waiting in the event stream's state, not 100% of 0 B), and Cancel ends the wait at once", async () => {
  await using web = await webFixture();
  const id = "c9".repeat(32);
  const events = await web.api("/api/events");
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  /** Reads states from the stream until one passes `test`; resolves to it. */
  let buffered = "";
  const nextState = async (test: (state: WebState) => boolean) => {
    for (;;) {
      const end = buffered.indexOf("\n\n");
      if (end >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = /^event: state\ndata: (.*)$/s.exec(event)?.[1];
        const state = data === undefined ? undefined : JSON.parse(data);
        if (state && test(state)) return state as WebState;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("The event stream ended.");
      buffered += value;
    }
  };
  try {
    const started = await web.api(...post("/api/get", { ref: id }));
    assertEquals(started.status, 202);
    const { number } = await started.json();
    const state = await within(
      nextState((s) => s.transfers.some((t) => t.waiting)),
      10_000,
      "a waiting transfer",
    );
    const [waiting] = state.transfers;
    assertEquals(waiting.number, number);
    assertEquals(waiting.id, id);
    assertEquals([waiting.started, waiting.done, waiting.total], [
      false,
      0,
      0,
    ]);
    assert(
      waiting.waitLeftMs !== null && waiting.waitLeftMs > 4 * 60_000,
      `${waiting.waitLeftMs} ms left`,
    );

    const cancelled = performance.now();
    const answer = await web.api(...post("/api/cancel", { number }));
    assertEquals(answer.status, 200);
    await answer.body?.cancel();
    const ended = await within(
      nextState((s) => s.finished.some((f) => f.number === number)),
      2_000,
      "the cancelled get",
    );
    const took = performance.now() - cancelled;
    assert(took < 2_000, `the wait ended ${took} ms after Cancel`);
    assertEquals(ended.transfers, []);
    const finished = ended.finished.find((f) => f.number === number)!;
    assertEquals([finished.outcome, finished.resumable], ["cancelled", false]);
  } finally {
    await reader.cancel();
  }
});

Deno.test("web: while another peer downloads a shared file, the event stream's state shows its bytes sent and downloaders rise, with no transfer of this peer's running", async () => {
  // 1 MiB at 256 KiB/s: some 4 s of sending, seen at every progress tick.
  await using web = await webFixture({ uploadLimit: 256 * 1024 });
  const size = 1024 * 1024;
  const source = await randomFile(web.dir, "sent.bin", size);
  const { state } = await shareThroughPage(web, source);
  const id = state.shared[0].id;
  await using stream = await eventStream(web);
  await using getter = await startPeerSession({
    tracker: web.trackerAddress,
    host: "127.0.0.1",
    port: 0,
    outDir: join(web.dir, "getter"),
    note: () => {},
  });
  const got = getter.session.get(id);
  const sending = await within(
    stream.next((s) => s.shared[0]?.downloaders === 1),
    10_000,
    "a state with one downloader",
  );
  assertEquals(sending.transfers, []);
  await within(
    stream.next((s) => s.shared[0]?.uploaded > sending.shared[0].uploaded),
    10_000,
    "a state with more bytes sent",
  );
  await got;
  const done = await within(
    stream.next((s) =>
      s.shared[0]?.uploaded === size && s.shared[0].downloaders === 0
    ),
    10_000,
    "a state with every byte sent and nobody downloading",
  );
  assertEquals(done.uploaded, size);
});

Deno.test("web: a shared file that vanishes leaves the event stream's state, with a note saying so", async () => {
  await using web = await webFixture({ checkIntervalMs: 200 });
  const source = await randomFile(web.dir, "vanish.bin", 10_000);
  const { state } = await shareThroughPage(web, source);
  assertEquals(state.shared.map((s) => s.name), ["vanish.bin"]);
  await using stream = await eventStream(web);
  await stream.next(() => true);
  await Deno.remove(source);
  const after = await within(
    stream.next((s) => s.shared.length === 0),
    10_000,
    "a state without the vanished file",
  );
  assertEquals(after.shared, []);
  assert(
    stream.notes.some((n) => n.startsWith("Stopped sharing vanish.bin")),
    stream.notes.join("\n"),
  );
});

Deno.test("web: Resume replaces the cancelled get's item by the resumed one, for a file and a folder: no second Resume of it, and one item once saved", async () => {
  await using web = await webFixture();
  await using files = await tempDir();
  const file = await randomFile(files.path, "slow.bin", 1024 * 1024);
  await Deno.mkdir(join(files.path, "tree"));
  await randomFile(join(files.path, "tree"), "a.bin", 1024 * 1024);
  // 256 KiB/s: some 4 s each, time to cancel once some bytes arrived.
  const node = await PeerNode.start({
    tracker: web.trackerAddress,
    host: "127.0.0.1",
    port: 0,
    uploadLimit: 256 * 1024,
  });
  try {
    const ids = [
      (await node.share(file)).id,
      (await node.shareFolder([join(files.path, "tree")])).meta.id,
    ];
    for (const id of ids) {
      const started = await web.api(...post("/api/get", { ref: id }));
      assertEquals(started.status, 202);
      const { number } = await started.json();
      await pollUntil(10_000, async () => {
        const running = (await web.state()).transfers;
        return running.some((t) => t.number === number && t.done > 0);
      });
      await (await web.api(...post("/api/cancel", { number }))).body?.cancel();
      await pollUntil(10_000, async () => {
        const ended = (await web.state()).finished;
        return ended.some((f) => f.number === number && f.resumable);
      });
      const resumed = await web.api(...post("/api/resume", { number }));
      assertEquals(resumed.status, 202);
      const again = (await resumed.json()).number;
      let state = await web.state();
      assertEquals(state.finished.filter((f) => f.number === number), []);
      assertEquals(state.transfers.map((t) => t.number), [again]);
      // A second click on the old item's Resume starts nothing.
      const twice = await web.api(...post("/api/resume", { number }));
      assertEquals(twice.status, 400);
      await twice.body?.cancel();
      await pollUntil(20_000, async () => {
        state = await web.state();
        return state.finished.some((f) => f.number === again);
      });
      const items = state.finished.filter((f) => f.id === id);
      assertEquals(items.map((f) => [f.number, f.outcome]), [[
        again,
        "saved",
      ]]);
    }
  } finally {
    await node.close();
  }
});

Deno.test("web: Clear takes finished transfers off the list for good (a cleared get cannot be resumed), leaves running ones, and refuses a running one, clearing nothing", async () => {
  await using web = await webFixture();
  await using files = await tempDir();
  const file = await randomFile(files.path, "done.bin", 10_000);
  const shared = await shareThroughPage(web, file);
  const startGet = async (id: string) => {
    const answer = await web.api(...post("/api/get", { ref: id }));
    assertEquals(answer.status, 202);
    return (await answer.json()).number as number;
  };
  const running = await startGet("c7".repeat(32));
  const cancelled = await startGet("c8".repeat(32));
  await web.api(...post("/api/cancel", { number: cancelled }));
  await pollUntil(
    5_000,
    async () =>
      (await web.state()).finished.some((f) => f.number === cancelled),
  );
  const clear = async (body: unknown) => {
    const answer = await web.api(...post("/api/clear", body));
    return { status: answer.status, body: await answer.json() };
  };
  const numbers = async () => {
    const state = await web.state();
    return {
      finished: state.finished.map((f) => f.number),
      running: state.transfers.map((t) => t.number),
    };
  };
  try {
    const refused = await clear({ numbers: [cancelled, running] });
    assertEquals(refused.status, 400);
    assert(refused.body.error.includes("still running"), refused.body.error);
    assertEquals(await numbers(), {
      finished: [cancelled, shared.number],
      running: [running],
    });
    assertEquals((await clear({ numbers: [cancelled] })).status, 200);
    assertEquals(await numbers(), {
      finished: [shared.number],
      running: [running],
    });
    const resumed = await web.api(
      ...post("/api/resume", { number: cancelled }),
    );
    assertEquals(resumed.status, 400);
    await resumed.body?.cancel();
    // What another page cleared already is passed over.
    assertEquals(
      (await clear({ numbers: [shared.number, cancelled] })).status,
      200,
    );
    assertEquals(await numbers(), { finished: [], running: [running] });
    // Only the list changed: the file is still shared.
    assertEquals((await web.state()).shared.length, 1);
    for (const bad of [{}, { numbers: "all" }, { numbers: [1.5] }]) {
      assertEquals((await clear(bad)).status, 400, JSON.stringify(bad));
    }
  } finally {
    await (await web.api(...post("/api/cancel", { number: running }))).body
      ?.cancel();
  }
});

Deno.test("web: sharing a folder notes what it left out, as peer share lists it", async () => {
  await using web = await webFixture();
  const tree = join(web.dir, "tree");
  await Deno.mkdir(tree);
  await randomFile(tree, "kept.bin", 1_000);
  await randomFile(tree, "a:b", 10);
  await Deno.symlink(join(tree, "kept.bin"), join(tree, "link.bin"));
  await using stream = await eventStream(web);
  const { number } = await shareThroughPage(web, tree);
  await within(
    stream.next((s) => s.finished.some((f) => f.number === number)),
    5_000,
    "the shared folder",
  );
  const note = stream.notes.find((n) => n.startsWith("Left out "));
  assert(note, stream.notes.join("\n"));
  assert(
    note.startsWith("Left out 2 entries of tree that cannot be shared: "),
    note,
  );
  assert(note.includes(join(tree, "a:b")), note);
  assert(note.includes(join(tree, "link.bin")), note);
  assert(note.endsWith(".") && !note.includes("\n"), note);
});

Deno.test("web: sharing privately a file shared publicly, or publicly one shared privately, notes it as the prompt warns", async () => {
  await using web = await webFixture();
  const one = await randomFile(web.dir, "one.bin", 1_000);
  const two = await randomFile(web.dir, "two.bin", 1_000);
  await using stream = await eventStream(web);
  await shareThroughPage(web, one);
  await shareThroughPage(web, one, true);
  await shareThroughPage(web, two, true);
  await shareThroughPage(web, two);
  await within(
    stream.next(() => stream.notes.length >= 2),
    5_000,
    "two notes",
  );
  assertEquals(stream.notes, [
    "one.bin was already shared publicly, so anyone with its ID can get it too: to keep it private, use Stop sharing and share it again with Private ticked.",
    "two.bin was shared privately: now it is shared publicly too, so anyone with its ID can get it.",
  ]);
});

Deno.test("web: a relative Save to is refused in one sentence, before any transfer or folder, where it was taken from where peer ui started", async () => {
  await using web = await webFixture();
  const id = "ab".repeat(32);
  const typed = `rel-${crypto.randomUUID()}`;
  for (const outDir of [typed, `./${typed}/sub`, "~not-home"]) {
    const answer = await web.api(...post("/api/get", { ref: id, outDir }));
    assertEquals(answer.status, 400, outDir);
    assertEquals(
      (await answer.json()).error,
      "Give a full path, like /home/you/Downloads, or ~/Downloads.",
    );
  }
  assert(!existsSync(typed), "a folder was made where the test runs");
  const state = await web.state();
  assertEquals([state.transfers, state.finished], [[], []]);
});

Deno.test("web: a tracker that cannot be reached is said in the page's words: restart peer ui with --tracker, not the command line's 'Set --tracker or P2P_TRACKER'", async () => {
  await using web = await webFixture();
  await using stream = await eventStream(web);
  await web.tracker.close();
  const answer = await web.api("/api/list");
  assertEquals(answer.status, 502);
  const { error } = await answer.json();
  assert(error.startsWith("Cannot reach tracker at "), error);
  assert(
    error.endsWith(
      " If the tracker is elsewhere, restart peer ui with --tracker.",
    ),
    error,
  );
  assert(!/P2P_TRACKER|Set --/.test(error), error);
  // The node's notes too.
  web.ui.note(
    "Cannot reach tracker at x:1. Is it running? Set --tracker or P2P_TRACKER.",
  );
  await within(stream.next(() => stream.notes.length > 0), 5_000, "a note");
  assertEquals(stream.notes, [
    "Cannot reach tracker at x:1. Is it running? If the tracker is elsewhere, restart peer ui with --tracker.",
  ]);
});

Deno.test("web: once the tracker is gone, a failed call or a note about it turns trackerReachable false at once, not at the next 30 s check", async () => {
  for (const how of ["call", "note"]) {
    await using web = await webFixture();
    await using stream = await eventStream(web);
    await within(
      stream.next((state) => state.trackerReachable === true),
      10_000,
      "the tracker reachable",
    );
    await web.tracker.close();
    if (how === "call") {
      assertEquals((await web.api("/api/list")).status, 502);
    } else {
      web.ui.note(
        `Cannot reach tracker at 127.0.0.1:${web.trackerAddress.port}.`,
      );
    }
    await within(
      stream.next((state) => state.trackerReachable === false),
      5_000,
      `the tracker not reachable after a ${how}`,
    );
  }
});

Deno.test("web: a share stopped is no longer listed as Shared among the finished (outcome unshared); a failed get by ID is titled by the file's name once known", async () => {
  await using web = await webFixture();
  await using files = await tempDir();
  const file = await randomFile(files.path, "kept.bin", 10_000);
  const { number, state } = await shareThroughPage(web, file);
  assertEquals(state.finished[0].outcome, "shared");
  await web.api(...post("/api/unshare", { id: state.shared[0].id }));
  const after = (await web.state()).finished.find((f) => f.number === number);
  assertEquals(after?.outcome, "unshared");
  const id = "d8f52119ddb220c5".padEnd(64, "0");
  const failed = { kind: "get" as const, id, name: "d8f52119ddb220c5" };
  const none = { known: () => [] };
  // The name comes as a field of the download's error, never read out of
  // its sentence: this one would read as "odd".
  const odd = "odd: 1 of 2 pieces missing.bin";
  const error = incompleteError({
    name: odd,
    pieces: 4,
    missing: 3,
    links: [],
  });
  assertEquals(knownName(none, failed, error), odd);
  assertEquals(
    knownName({ known: () => [{ id, name: "seen.bin" }] }, failed, error),
    odd,
  );
  assertEquals(
    knownName({ known: () => [{ id, name: "seen.bin" }] }, failed, "x"),
    "seen.bin",
  );
  const unnamed = new DownloadError(`Could not download ${odd}: gone.`);
  assertEquals(knownName(none, failed, unnamed), "d8f52119ddb220c5");
});

Deno.test("web: docs/WEB_UI.md and docs/ARCHITECTURE.md's web/ row name every module of the page", async () => {
  const root = new URL("../../docs/", import.meta.url);
  const guide = await Deno.readTextFile(new URL("WEB_UI.md", root));
  const row = (await Deno.readTextFile(new URL("ARCHITECTURE.md", root)))
    .split("\n").find((line) =>
      line.startsWith("| `web/`") && line.includes("static/")
    )!;
  for (const name of Object.values(STATIC_FILES)) {
    if (!name.endsWith(".js")) continue;
    assert(guide.includes(`\`${name}\``), `WEB_UI.md lacks ${name}`);
    assert(row.includes(`\`${name}\``), `ARCHITECTURE.md lacks ${name}`);
  }
});

Deno.test("web: a failure told in the background (a share that failed, a tracker that could not be used) is a note event flagged error: true; other notes are not flagged", async () => {
  await using web = await webFixture();
  await using stream = await eventStream(web);
  await using files = await tempDir();
  const source = await randomFile(files.path, "lonely.bin", 50_000);
  await web.tracker.close();
  const answer = await web.api(...post("/api/share", { path: source }));
  assertEquals(answer.status, 202, await answer.clone().text());
  await within(
    stream.next(() => stream.sent.some((n) => n.text.startsWith("#"))),
    10_000,
    "the share's failure",
  );
  const failure = stream.sent.find((n) => n.text.startsWith("#"))!;
  assert(failure.text.includes("lonely.bin"), failure.text);
  assertEquals(failure.error, true, failure.text);
  web.ui.note(
    "The tracker at 10.0.0.5:5000 could not be used (connection refused); another answered.",
  );
  web.ui.note("Stopped sharing x.bin: it changed.");
  await within(
    stream.next(() => stream.sent.some((n) => n.text.startsWith("Stopped"))),
    5_000,
    "the two notes",
  );
  const tracker = stream.sent.find((n) => n.text.startsWith("The tracker at"));
  assertEquals(tracker?.error, true, tracker?.text);
  const plain = stream.sent.find((n) => n.text.startsWith("Stopped"))!;
  assertEquals(Object.keys(plain), ["text"]);
});
