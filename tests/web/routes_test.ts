/**
 * What the page's API answers to list, search and cancel, for real: a
 * tracker (open, crowded past its answer cap, or a team's), a peer session
 * and the web server on 127.0.0.1, asked over HTTP.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  pollUntil,
  randomFile,
  sharer,
  tempDir,
  testTracker,
} from "../fixtures.ts";
import { startPeerSession } from "../../lib/cli/peer_session.ts";
import { startWebUi } from "../../lib/web/server.ts";
import type { WebState } from "../../lib/web/state.ts";
import { startTracker, type TrackerServer } from "../../lib/tracker/server.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { deriveTeamPsk } from "../../lib/secure/share_keys.ts";
import {
  HASH_BYTES,
  MAX_FILES_PER_ANSWER,
  MIN_PIECE_SIZE,
} from "../../lib/protocol/limits.ts";

const TOKEN = "test-token-0123456789abcdef0123456789abcdef";
const EMPTY_SEARCH =
  "Give some text to search for, or use List all to see every file.";

/** A session on `tracker` and the page's server on it, closed on dispose. */
async function webOn(tracker: TrackerServer) {
  const dir = await tempDir();
  const trackerAddress = { host: "127.0.0.1", port: tracker.address.port };
  const peer = await startPeerSession({
    tracker: trackerAddress,
    host: "127.0.0.1",
    port: 0,
    outDir: join(dir.path, "downloads"),
    note: () => {},
  });
  const ui = await startWebUi(peer.session, {
    tracker: trackerAddress,
    dropDir: join(dir.path, "dropped"),
    token: TOKEN,
  });
  const api = (path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${ui.port}${path}`, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { authorization: `Bearer ${TOKEN}` },
    });
  return {
    dir: dir.path,
    trackerAddress,
    api,
    state: async (): Promise<WebState> =>
      await (await api("/api/state")).json(),
    async [Symbol.asyncDispose]() {
      await ui.close();
      await peer[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** The status and body of an answer. */
async function answer(response: Response) {
  return { status: response.status, body: await response.json() };
}

Deno.test("web: a search with no text or only spaces is a 400 with one sentence pointing to List all; a real search is answered", async () => {
  await using tracker = testTracker();
  await using web = await webOn(tracker);
  for (const query of ["", "?q=", "?q=%20%20", "?q=%09"]) {
    assertEquals(await answer(await web.api(`/api/search${query}`)), {
      status: 400,
      body: { error: EMPTY_SEARCH },
    }, query);
  }
  assertEquals(await answer(await web.api("/api/search?q=x")), {
    status: 200,
    body: { files: [] },
  });
});

Deno.test("web: list and search say in more how many files the tracker left out past its answer cap", async () => {
  await using tracker = testTracker();
  const client = await TrackerClient.connect(tracker.address);
  const past = 12;
  try {
    await Promise.all(
      Array.from(
        { length: MAX_FILES_PER_ANSWER + past },
        (_, i) =>
          client.register({
            id: `e${i.toString(16).padStart(4, "0")}`.padEnd(64, "0"),
            // Short, so that 500 fit one frame.
            name: `c${i}.b`,
            size: MIN_PIECE_SIZE,
            pieceSize: MIN_PIECE_SIZE,
            pieceHashes: new Uint8Array(HASH_BYTES).fill(3),
          }, 6000),
      ),
    );
    await using web = await webOn(tracker);
    const listed = await answer(await web.api("/api/list"));
    assertEquals(listed.status, 200);
    assertEquals(listed.body.files.length, MAX_FILES_PER_ANSWER);
    assertEquals(listed.body.more, past);
    const found = await answer(await web.api("/api/search?q=C"));
    assertEquals(found.body.more, past);
    const few = await answer(await web.api("/api/search?q=c7.b"));
    assertEquals(few.body, { files: few.body.files });
    assertEquals(few.body.files.length, 1);
  } finally {
    client.close();
  }
});

Deno.test("web: list and search on a team tracker without its secret are a 502 saying it needs the team's secret", async () => {
  const tracker = startTracker({
    host: "127.0.0.1",
    port: 0,
    teamPsk: deriveTeamPsk("a team secret long enough to be one"),
  });
  try {
    await using web = await webOn(tracker);
    for (const path of ["/api/list", "/api/search?q=x"]) {
      const { status, body } = await answer(await web.api(path));
      assertEquals(status, 502, path);
      assert(
        body.error.includes("it is a team tracker and needs the team's secret"),
        body.error,
      );
      assert(!body.error.includes("\n"), body.error);
    }
  } finally {
    await tracker.close();
  }
});

Deno.test("web: cancel stops a running get (twice is no mistake); a saved one or an unknown number is a 400 in the page's words", async () => {
  await using tracker = testTracker();
  await using web = await webOn(tracker);
  assertEquals(await answer(await web.api("/api/cancel", { number: 99 })), {
    status: 400,
    body: { error: "No transfer #99 is running: there is nothing to cancel." },
  });

  // Nobody shares this ID: the get waits until cancelled.
  const waiting = await answer(
    await web.api("/api/get", { ref: "ab".repeat(32) }),
  );
  assertEquals(waiting.status, 202);
  const { number } = waiting.body;
  const cancel = () => web.api("/api/cancel", { number });
  assertEquals(await answer(await cancel()), { status: 200, body: {} });
  await pollUntil(
    10_000,
    async () =>
      (await web.state()).finished.some((f) =>
        f.number === number && f.outcome === "cancelled"
      ),
  );
  assertEquals(await answer(await cancel()), { status: 200, body: {} });

  await using files = await tempDir();
  const source = await randomFile(files.path, "clip.bin", 40_000);
  await using other = await sharer(web.trackerAddress, [source]);
  const got = await answer(
    await web.api("/api/get", { ref: other.shared()[0].id }),
  );
  await pollUntil(
    20_000,
    async () =>
      (await web.state()).finished.some((f) =>
        f.number === got.body.number && f.outcome === "saved"
      ),
  );
  assertEquals(
    await answer(await web.api("/api/cancel", { number: got.body.number })),
    {
      status: 400,
      body: {
        error:
          `#${got.body.number} clip.bin is already saved: there is nothing to cancel.`,
      },
    },
  );
});

Deno.test("web: a get cancelled before anything arrived takes away the folder it created to save into; one that was there stays", async () => {
  await using tracker = testTracker();
  await using web = await webOn(tracker);
  const cancelled = async (outDir: string) => {
    // Nobody shares this ID: the get waits until cancelled.
    const got = await answer(
      await web.api("/api/get", { ref: "dd".repeat(32), outDir }),
    );
    assertEquals(got.status, 202, JSON.stringify(got.body));
    const { number } = got.body;
    assertEquals(await answer(await web.api("/api/cancel", { number })), {
      status: 200,
      body: {},
    });
    await pollUntil(
      10_000,
      async () =>
        (await web.state()).finished.some((f) =>
          f.number === number && f.outcome === "cancelled"
        ),
    );
  };
  const made = join(web.dir, "new", "deeper");
  await cancelled(made);
  await pollUntil(
    10_000,
    async () => !(await Deno.stat(join(web.dir, "new")).catch(() => false)),
  );

  const there = join(web.dir, "there");
  await Deno.mkdir(there);
  await cancelled(there);
  assert((await Deno.stat(there)).isDirectory, "a folder that was there stays");
});
