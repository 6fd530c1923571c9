import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../assert.ts";
import { UsageError } from "../../lib/app/usage_error.ts";
import { readGetTarget } from "../../lib/cli/get_target.ts";
import {
  isLinkText,
  linkTracker,
  parseGetTarget,
} from "../../lib/app/lookup.ts";
import { ShareLinkError } from "../../lib/protocol/share_link.ts";
import { runEntry } from "../../scripts/_child.ts";
import { assertOneLine } from "./_cli.ts";

const ID = "ab".repeat(32);
const PUBLIC = `p2p://10.0.0.5:5000,10.0.0.6:5000/v1/pub/${ID}`;
const PRIVATE =
  "p2p://[::1]:5000/v1/priv/hAcqbkCidDSRgoRp6cro1g/94d8de470891d4d9";

/** A byte stream of `chunks`, as standard input would give them. */
function input(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
}

Deno.test("parseGetTarget() reads links as links, even damaged ones, and the rest as file IDs", () => {
  assertEquals(parseGetTarget(ID.toUpperCase()), { kind: "id", id: ID });
  const pub = parseGetTarget(`  ${PUBLIC}\n`);
  assert(pub.kind === "link" && pub.link.kind === "public");
  assertEquals(linkTracker(pub.link), { host: "10.0.0.5", port: 5000 });
  const priv = parseGetTarget(PRIVATE);
  assert(priv.kind === "link" && priv.link.kind === "private");
  assertEquals(linkTracker(priv.link), { host: "::1", port: 5000 });
  for (const damaged of ["P2P:/x", "p2p//host", "host:5000/v1/pub/ab"]) {
    assert(isLinkText(damaged), damaged);
    assertThrows(() => parseGetTarget(damaged), ShareLinkError);
  }
  assertThrows(() => parseGetTarget("xyz"), UsageError);
});

Deno.test("readGetTarget() reads the first non-empty line of standard input for -, however it is cut in chunks", async () => {
  const got = await readGetTarget("-", {
    stdin: input(
      "\r\n   \n",
      PRIVATE.slice(0, 20),
      PRIVATE.slice(20),
      "\nnext",
    ),
  });
  assert(got.kind === "link" && got.link.kind === "private");
  // A last line without a newline counts.
  assertEquals(await readGetTarget("-", { stdin: input(`\n${ID}`) }), {
    kind: "id",
    id: ID,
  });
  for (const text of ["", "\n \n"]) {
    const error = await assertRejects(
      () => readGetTarget("-", { stdin: input(text) }),
      UsageError,
    );
    assert(error.message.includes("Standard input"), error.message);
  }
  const long = await assertRejects(
    () => readGetTarget("-", { stdin: input("p".repeat(5000)) }),
    UsageError,
  );
  assert(long.message.includes("too long"), long.message);
});

Deno.test("readGetTarget() takes P2P_LINK with no argument, and an argument over it", async () => {
  const fromEnv = await readGetTarget(undefined, { env: PUBLIC });
  assert(fromEnv.kind === "link" && fromEnv.link.kind === "public");
  assertEquals(await readGetTarget(ID, { env: PUBLIC }), {
    kind: "id",
    id: ID,
  });
  for (const env of [undefined, "", "  "]) {
    const error = await assertRejects(
      () => readGetTarget(undefined, { env }),
      UsageError,
    );
    assert(error.message.includes("P2P_LINK"), error.message);
  }
});

Deno.test("readGetTarget() says a bad link or ID came from P2P_LINK, and not on the command line", async () => {
  const cases: [string, string][] = [
    [
      "p2p://10.0.0.5:5000/v1/pub/abc",
      "The link in P2P_LINK is not a valid p2p link: its file ID is damaged (it should be 64 characters of 0-9 and a-f).",
    ],
    [
      "p2p://10.0.0.5:5000",
      "The link in P2P_LINK is not a valid p2p link: it is cut short: it ends after the tracker address.",
    ],
    [
      "P2P:/x",
      'The link in P2P_LINK is not a valid p2p link: a share link starts with "p2p://".',
    ],
    [
      "abcd",
      'P2P_LINK holds no valid share link or file ID: "abcd" has 4 hex characters; a file ID needs 16 to 64.',
    ],
  ];
  for (const [env, said] of cases) {
    const error = await assertRejects(() => readGetTarget(undefined, { env }));
    assertEquals((error as Error).message, said);
    // Typed, the same text is not said to come from P2P_LINK.
    const typed = await assertRejects(() => readGetTarget(env, { env }));
    assert(!(typed as Error).message.includes("P2P_LINK"), env);
  }
  await assertRejects(
    () => readGetTarget(undefined, { env: "p2p://h:1/v1/pub/ab" }),
    ShareLinkError,
  );
});

Deno.test("peer get with a bad link in P2P_LINK fails with exit 2 and one sentence naming P2P_LINK", async () => {
  const result = await runEntry("peer.ts", ["get"], {
    env: { P2P_LINK: "p2p://127.0.0.1:1/v1/pub/abc" },
  });
  assertEquals(result.code, 2, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    "The link in P2P_LINK is not a valid p2p link: its file ID is damaged (it should be 64 characters of 0-9 and a-f).",
  );
});
