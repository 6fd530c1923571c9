/**
 * `deno run -A scripts/smoke.ts DIR`: proves that the `peer` and `tracker`
 * executables in DIR work on this machine. It checks `--help` and
 * `--version`, then starts the tracker on 127.0.0.1, shares a small file of
 * random bytes, gets it into another folder and compares the bytes. The
 * release workflow runs it on each Linux binary before publishing.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { Child } from "./_child.ts";
import { VERSION } from "../lib/protocol/version.ts";

/** Size of the file shared and fetched. */
export const SMOKE_FILE_BYTES = 3 * 1024 * 1024 + 12_345;
/** Longest wait for any one step. */
export const SMOKE_STEP_TIMEOUT_MS = 30_000;

/** Runs the smoke test against `dir`; throws a sentence on the first failure. */
export async function smoke(dir: string): Promise<void> {
  const exe = Deno.build.os === "windows" ? ".exe" : "";
  const peer = join(dir, `peer${exe}`);
  const tracker = join(dir, `tracker${exe}`);
  for (
    const [bin, usage] of [[peer, "Usage: peer"], [tracker, "Usage: tracker"]]
  ) {
    const help = await run(bin, ["--help"]);
    if (!help.includes(usage)) {
      throw new Error(`${bin} --help printed: ${help}`);
    }
    const version = (await run(bin, ["--version"])).trim();
    if (version !== VERSION) {
      throw new Error(`${bin} --version printed "${version}", not ${VERSION}.`);
    }
  }
  const work = await Deno.makeTempDir({ prefix: "p2p-smoke-" });
  const children: Child[] = [];
  try {
    const env = { P2P_HOME: join(work, "home"), NO_COLOR: "1" };
    const file = join(work, "smoke file.bin");
    const bytes = crypto.getRandomValues(new Uint8Array(65536));
    const hash = createHash("sha256");
    using out = await Deno.open(file, { write: true, create: true });
    for (let left = SMOKE_FILE_BYTES; left > 0; left -= bytes.length) {
      const chunk = bytes.subarray(0, Math.min(left, bytes.length));
      hash.update(chunk);
      await out.write(chunk);
    }
    const id = hash.digest("hex");
    const server = start(tracker, ["--host", "127.0.0.1", "--port", "0"], env);
    children.push(server);
    const listening = await server.waitForLine(
      /listening on/,
      SMOKE_STEP_TIMEOUT_MS,
    );
    const address = listening.slice(listening.lastIndexOf(" ") + 1);
    const sharer = start(peer, [
      "share",
      file,
      "--json",
      "--tracker",
      address,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ], env);
    children.push(sharer);
    const shared = JSON.parse(
      await sharer.waitForLine(/^\{/, SMOKE_STEP_TIMEOUT_MS),
    );
    if (shared.id !== id) {
      throw new Error(`peer share printed ID ${shared.id}, not ${id}.`);
    }
    const getter = start(peer, [
      "get",
      id,
      "--json",
      "--tracker",
      address,
      "--out",
      join(work, "out"),
    ], env);
    children.push(getter);
    const status = await getter.finished();
    if (status.code !== 0) {
      throw new Error(
        `peer get exited ${status.code}: ${getter.stderr.join(" ")}`,
      );
    }
    const saved = JSON.parse(getter.stdout.join(""));
    const copy = createHash("sha256").update(await Deno.readFile(saved.path))
      .digest("hex");
    if (copy !== id) {
      throw new Error(`The fetched file's SHA-256 is ${copy}, not ${id}.`);
    }
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await Deno.remove(work, { recursive: true });
  }
}

function start(
  bin: string,
  args: string[],
  env: Record<string, string>,
): Child {
  return new Child(new Deno.Command(bin, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn());
}

async function run(bin: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(bin, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(SMOKE_STEP_TIMEOUT_MS),
  }).output();
  return new TextDecoder().decode(result.stdout);
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir || Deno.args.length > 1) {
    console.error(
      "Usage: deno run -A scripts/smoke.ts DIR (the folder holding peer and tracker).",
    );
    Deno.exit(2);
  }
  try {
    await smoke(dir);
    console.log(
      `Smoke test passed: ${dir}/peer and ${dir}/tracker ${VERSION} shared and fetched ${SMOKE_FILE_BYTES} bytes.`,
    );
  } catch (error) {
    console.error(`Smoke test failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
