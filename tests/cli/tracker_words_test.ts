/**
 * What peer says of a --tracker that is not a tracker, in plain words:
 * never the protocol's ("Connection closed inside a record", "Not a p2p
 * secure connection") nor the system's.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import { runEntry, spawnTracker } from "../../scripts/_child.ts";

Deno.test("peer list pointed at a tracker's relay port says it is not a p2p tracker's port, in one plain sentence", async () => {
  const tracker = await spawnTracker();
  try {
    const line = await tracker.child.waitForLine(
      /^Relay listening on /,
      10_000,
    );
    const relay = line.split(" ")[3];
    const result = await runEntry("peer.ts", ["list", "--tracker", relay]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      `Cannot use tracker at ${relay}: it closed the connection during the encryption handshake, as something other than a p2p tracker would, such as a tracker's relay port.`,
    );
  } finally {
    await tracker.child.stop();
  }
});

Deno.test("peer list with a tracker host name that cannot be found names it, in one plain sentence", async () => {
  const result = await runEntry("peer.ts", [
    "list",
    "--tracker",
    "nosuchhost.invalid:5000",
  ]);
  assertEquals(result.code, 1, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    'Cannot reach tracker at nosuchhost.invalid:5000: cannot find the host name "nosuchhost.invalid".',
  );
});
