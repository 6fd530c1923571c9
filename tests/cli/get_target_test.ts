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
