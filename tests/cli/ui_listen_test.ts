/**
 * `peer ui` whose page cannot be served where `--ui-host` and `--ui-port`
 * say (a port in use, an address not on this machine, a name that does not
 * resolve) says so in one sentence naming those flags: not an "Unexpected
 * error", nor `--port`, which is the peer's.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";
import { assertOneLine, runPeerIn } from "./_cli.ts";
import { tempDir } from "../fixtures.ts";

/** Runs `peer ui --no-open` with `args`, in a folder and home of its own. */
async function ui(args: string[]) {
  await using dir = await tempDir();
  return await runPeerIn(dir.path, ["ui", "--no-open", ...args], 20_000);
}

Deno.test("peer ui on a --ui-port in use names --ui-port, exit 1", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = busy.addr.port;
  const result = await ui(["--ui-host", "127.0.0.1", "--ui-port", `${port}`]);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    `Cannot serve the page on port ${port}: it is in use; choose another with --ui-port (0 picks a free one).`,
  );
});

Deno.test("peer ui on a --ui-host not of this machine names --ui-host, exit 1", async () => {
  const result = await ui(["--ui-host", "192.0.2.1"]);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    "Cannot serve the page on 192.0.2.1: it is not an address of this machine; use --ui-host 127.0.0.1 (this machine only), 0.0.0.0 (all addresses) or one of this machine's addresses.",
  );
});

Deno.test("peer ui on a --ui-host that does not resolve names --ui-host, exit 1", async () => {
  const result = await ui(["--ui-host", "nosuchhost.invalid"]);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    'Cannot serve the page on "nosuchhost.invalid": it is neither an IP address nor a host name this machine can look up; use --ui-host 127.0.0.1 (this machine only), 0.0.0.0 (all addresses) or one of this machine\'s addresses.',
  );
});
