/**
 * What the `tracker` command says as it starts and refuses: `-v` lines
 * stamped with the local time as the peer's are, the addresses to give
 * peers when it listens on every address, relay flags that make no sense
 * with `--no-relay`, and a `--host` that is no address.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import {
  Child,
  PERMISSIONS,
  ROOT,
  runEntry,
  spawnEntry,
} from "../../scripts/_child.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";

const STAMPED =
  /^\d\d:\d\d:\d\d\.\d{3} Tracker: Connection from 127\.0\.0\.1:\d+ accepted/;

Deno.test("tracker -v starts each event line with the local time, as peer -v does", async () => {
  await using tracker = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-relay",
    "-v",
  ]);
  const line = await tracker.waitForLine(/listening on/, 20_000);
  const port = Number(line.slice(line.lastIndexOf(":") + 1));
  const client = await TrackerClient.connect({ host: "127.0.0.1", port });
  try {
    await client.list();
  } finally {
    client.close();
  }
  const event = await tracker.waitForLine(/Connection from/, 10_000, "stderr");
  assert(STAMPED.test(event), event);
});

for (const flag of [["--relay-limit", "1M"], ["--relay-quota", "1G"]]) {
  Deno.test(`tracker --no-relay ${flag[0]} is a usage error, as --relay-port is (exit 2)`, async () => {
    const result = await runEntry("tracker.ts", ["--no-relay", ...flag]);
    assertEquals(result.code, 2, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      `${flag[0]} and --no-relay do not go together: leave out one of them.`,
    );
  });
}

Deno.test("tracker --host with digits and dots that make no IPv4 address is a usage error (exit 2)", async () => {
  for (const host of ["999.1.1.1", "1.2.3", "10.0.0.256"]) {
    const result = await runEntry("tracker.ts", ["--host", host]);
    assertEquals(result.code, 2, `${host}: ${result.stderr}`);
    assertEquals(
      assertOneLine(result.stderr),
      `Cannot use "${host}" for --host: it is not an IP address (four numbers from 0 to 255, like 192.168.1.20) or a host name; give an address such as 0.0.0.0 (all addresses) or 127.0.0.1.`,
    );
  }
  const metrics = await runEntry("tracker.ts", [
    "--metrics-port",
    "0",
    "--metrics-host",
    "999.1.1.1",
  ]);
  assertEquals(metrics.code, 2, metrics.stderr);
  assert(assertOneLine(metrics.stderr).includes("for --metrics-host:"));
});

Deno.test("tracker on 0.0.0.0 names this machine's addresses for peers on other machines", async () => {
  const run = [
    "run",
    ...PERMISSIONS["tracker.ts"],
    `${ROOT}tracker.ts`,
    "--port",
    "0",
    "--no-relay",
  ];
  await using tracker = new Child(
    new Deno.Command(Deno.execPath(), {
      args: run,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  const listening = await tracker.waitForLine(/listening on/, 20_000);
  const port = listening.slice(listening.lastIndexOf(":") + 1);
  assertEquals(listening, `Tracker listening on 0.0.0.0:${port}`);
  const outside = Deno.networkInterfaces().filter((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.") &&
    !i.address.startsWith("169.254.")
  );
  if (outside.length === 0) return; // nothing but loopback here
  const line = await tracker.waitForLine(/^Peers on other machines/, 5_000);
  assert(
    line.startsWith(
      `Peers on other machines use --tracker ${outside[0].address}:${port}`,
    ),
    line,
  );
});
