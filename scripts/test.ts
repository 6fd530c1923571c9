/**
 * `deno task test [ARGS…]`: runs `deno test --allow-all --parallel tests/`
 * with a home of its own, so no test (nor a peer it spawns) reads or writes
 * the user's real home or data folder. `HOME`, `P2P_HOME` and the
 * `XDG_*_HOME` folders point into a temporary folder made for the run and
 * removed after it; `DENO_DIR` keeps pointing at the real Deno cache, so
 * nothing is downloaded again.
 *
 * Extra arguments go to `deno test`; files or folders among them replace
 * `tests/` (`deno task test tests/cli/ --filter History`). Output is
 * deno test's own, and so is the exit code.
 *
 * @module
 */

import { addSignalListeners } from "../lib/util/signals.ts";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { dataDir } from "../lib/app/data_dir.ts";

/** Names the temporary folder of a run start with. */
export const TEST_ROOT_PREFIX = "p2p-test-run-";
/** Set for the tests to the run's temporary folder. */
export const TEST_ROOT_ENV = "P2P_TEST_ROOT";
/** Set for the tests to the data folder outside the run (to prove it untouched). */
export const REAL_DATA_DIR_ENV = "P2P_TEST_REAL_DATA_DIR";

/** `deno test` flags whose value is the next argument, not a path. */
const VALUE_FLAGS = new Set([
  "--filter",
  "--reporter",
  "--junit-path",
  "--seed",
  "--config",
  "-c",
  "--import-map",
  "--lock",
  "--location",
  "--cert",
  "--ext",
]);

const TESTS = fileURLToPath(new URL("../tests/", import.meta.url));

/** The environment of a run whose temporary folder is `root`. */
export function testEnv(root: string, denoDir: string): Record<string, string> {
  const home = join(root, "home");
  const env: Record<string, string> = {
    HOME: home,
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    P2P_HOME: join(home, ".local", "share", "p2p"),
    // No test multicasts on a real network (the LAN tests make their own).
    P2P_NO_LAN: "1",
    // Nor reaches the public DHT (the DHT tests make their own).
    P2P_NO_DHT: "1",
    DENO_DIR: denoDir,
    [TEST_ROOT_ENV]: root,
  };
  if (Deno.build.os === "windows") {
    env.USERPROFILE = home;
    env.APPDATA = join(home, "AppData", "Roaming");
    env.LOCALAPPDATA = join(home, "AppData", "Local");
  }
  return env;
}

/** The `deno test` arguments for the extra arguments `args`. */
export function testArgs(args: readonly string[], tests: string): string[] {
  const end = args.indexOf("--");
  const flags = end < 0 ? [...args] : args.slice(0, end);
  const rest = end < 0 ? [] : args.slice(end);
  const hasPath = flags.some((arg, i) =>
    !arg.startsWith("-") && !VALUE_FLAGS.has(flags[i - 1])
  );
  return [
    "test",
    "--allow-all",
    "--parallel",
    ...flags,
    ...(hasPath ? [] : [tests]),
    ...rest,
  ];
}

/** Where this Deno keeps its cache (what `deno info --json` calls denoDir). */
async function denoDir(): Promise<string> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const dir = success
    ? JSON.parse(new TextDecoder().decode(stdout)).denoDir
    : undefined;
  if (typeof dir !== "string" || dir === "") {
    throw new Error('Cannot find the Deno cache: "deno info --json" failed.');
  }
  return dir;
}

/** `env` without the product's own variables (every `P2P_` one). */
export function withoutOwnSettings(
  env: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => !name.startsWith("P2P_")),
  );
}

/** Runs the tests as the module documentation says; resolves to the exit code. */
export async function runTests(args: readonly string[]): Promise<number> {
  const cache = await denoDir();
  const root = await Deno.makeTempDir({ prefix: TEST_ROOT_PREFIX });
  try {
    const env = testEnv(root, cache);
    const real = dataDir();
    if (real) env[REAL_DATA_DIR_ENV] = real;
    for (
      const name of ["HOME", "P2P_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"]
    ) {
      await Deno.mkdir(env[name], { recursive: true });
    }
    const tests = relative(Deno.cwd(), TESTS) || ".";
    const child = new Deno.Command(Deno.execPath(), {
      args: testArgs(args, tests),
      // The user's own P2P_* settings (a tracker, a team secret, a link, the
      // bench's plaintext switch) never reach the tests.
      clearEnv: true,
      env: { ...withoutOwnSettings(Deno.env.toObject()), ...env },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // Ctrl-C reaches deno test from the terminal as well: wait for it to
    // stop. SIGTERM is passed on. Either way the folder is removed after.
    const onInt = () => {};
    const onTerm = () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Exited meanwhile.
      }
    };
    const signals = addSignalListeners({ SIGINT: onInt, SIGTERM: onTerm });
    try {
      return (await child.status).code;
    } finally {
      signals[Symbol.dispose]();
    }
  } finally {
    await Deno.remove(root, { recursive: true }).catch((error) =>
      console.error(`Could not remove ${root}: ${error.message}`)
    );
  }
}

if (import.meta.main) {
  Deno.exit(await runTests(Deno.args));
}
