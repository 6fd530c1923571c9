/**
 * The prompt's `doctor` checks what `peer doctor` checks of what its node
 * has on: with the DHT on (asked only of a node on 127.0.0.1), a DHT line;
 * what it has off, it says is off and by what, as `peer doctor` does. Real
 * processes: a tracker, a prompt.
 *
 * @module
 */

import { assert, assertEquals } from "../../assert.ts";
import { tempDir } from "../../fixtures.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";
import { DhtDiscovery } from "../../../lib/discovery/dht.ts";

const LOCAL = "127.0.0.1";

Deno.test("doctor at the prompt checks the DHT when the prompt has it on, and says the LAN is off, by P2P_NO_LAN", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  await using node = await DhtDiscovery.start({
    port: 1,
    udpPort: 0,
    host: LOCAL,
    bootstrap: [],
  });
  assert(node, "no DHT node on 127.0.0.1");
  const env = {
    ...await isolatedEnv(dir.path, tracker.address),
    P2P_NO_DHT: "",
  };
  await using prompt = new PromptProcess([
    "--host",
    LOCAL,
    "--port",
    "0",
    "--dht-bootstrap",
    `${LOCAL}:${node.udpPort}`,
  ], env);
  await prompt.type("doctor\nquit\n");
  await prompt.end(30_000);
  assert(
    prompt.lines.includes(
      "DHT: 1 of 1 bootstrap node answered within 3 s: this peer can join the DHT and find peers without a tracker.",
    ),
    prompt.output,
  );
  assertEquals(
    prompt.lines.filter((line) => line.startsWith("LAN")),
    ["LAN discovery: off (P2P_NO_LAN is set), not checked."],
    prompt.output,
  );
});

Deno.test("doctor at the prompt says the DHT is off, by --no-dht, where it said nothing of it", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  const env = {
    ...await isolatedEnv(dir.path, tracker.address),
    P2P_NO_DHT: "",
  };
  await using prompt = new PromptProcess(
    ["--host", LOCAL, "--port", "0", "--no-dht"],
    env,
  );
  await prompt.type("doctor\nquit\n");
  await prompt.end(30_000);
  assertEquals(
    prompt.lines.filter((line) => /^(LAN|DHT)/.test(line)),
    [
      "LAN discovery: off (P2P_NO_LAN is set), not checked.",
      "DHT: off (--no-dht), not checked.",
    ],
    prompt.output,
  );
});

Deno.test("doctor at the prompt names the flag, as peer doctor does, when both --no-lan and P2P_NO_LAN are set", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  const env = {
    ...await isolatedEnv(dir.path, tracker.address),
    P2P_NO_LAN: "1",
    P2P_NO_DHT: "1",
  };
  await using prompt = new PromptProcess(
    ["--host", LOCAL, "--port", "0", "--no-lan"],
    env,
  );
  await prompt.type("doctor\nquit\n");
  await prompt.end(30_000);
  assertEquals(
    prompt.lines.filter((line) => /^(LAN|DHT)/.test(line)),
    [
      "LAN discovery: off (--no-lan), not checked.",
      "DHT: off (P2P_NO_DHT is set), not checked.",
    ],
    prompt.output,
  );
});
