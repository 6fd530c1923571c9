/**
 * The prompt's `doctor` checks what `peer doctor` checks of what its node
 * has on: with the DHT on (asked only of a node on 127.0.0.1), a DHT line;
 * what it has off, it says is off and by what, as `peer doctor` does, and
 * a prompt started without being told what turned them off (not by `peer`)
 * names the variable when it is set, else the flag. Real processes: a
 * tracker, a prompt.
 *
 * @module
 */

import { assert, assertEquals } from "../../assert.ts";
import { PERMISSIONS, ROOT } from "../../../scripts/_child.ts";
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

/**
 * Runs `doctor` then `quit` at a prompt started by `runPrompt` with only
 * `options` (not by `peer`), on 127.0.0.1 port 0 with no history, its
 * environment `env`; its LAN and DHT lines.
 */
async function bareDoctor(
  tracker: string,
  options: { lan?: boolean },
  env: Record<string, string>,
): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PERMISSIONS["peer.ts"],
      `${ROOT}tests/cli/prompt/_bare_prompt.ts`,
      JSON.stringify({ host: LOCAL, port: 0, dataDir: null, ...options }),
      tracker,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("doctor\nquit\n"));
  await writer.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const { code, stdout, stderr } = await child.output();
    const output = new TextDecoder().decode(stdout);
    assertEquals(code, 0, output + new TextDecoder().decode(stderr));
    return output.split("\n").filter((line) => /^(LAN|DHT)/.test(line));
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("doctor at a prompt not started by peer says LAN discovery and the DHT are off, by the flag or the variable set", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  const env = await isolatedEnv(dir.path, tracker.address);
  assertEquals(
    await bareDoctor(tracker.address, { lan: false }, {
      ...env,
      P2P_NO_LAN: "",
      P2P_NO_DHT: "",
    }),
    [
      "LAN discovery: off (--no-lan), not checked.",
      "DHT: off (--no-dht), not checked.",
    ],
  );
  assertEquals(
    await bareDoctor(tracker.address, {}, { ...env, P2P_NO_DHT: "" }),
    [
      "LAN discovery: off (P2P_NO_LAN is set), not checked.",
      "DHT: off (--no-dht), not checked.",
    ],
  );
});
