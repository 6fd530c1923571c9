import { userInfo } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import {
  REAL_DATA_DIR_ENV,
  TEST_ROOT_ENV,
  TEST_ROOT_PREFIX,
} from "../scripts/test.ts";
import { History, HISTORY_FILE } from "../lib/cli/prompt/history.ts";
import { dataDir } from "../lib/app/data_dir.ts";

const FOLDERS = [
  "HOME",
  "P2P_HOME",
  "XDG_DATA_HOME",
  "XDG_CONFIG_HOME",
  "XDG_CACHE_HOME",
];

function inside(path: string, folder: string): boolean {
  const rel = relative(resolve(folder), resolve(path));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Bytes of `path`, or null when there is no such file. */
async function bytesOf(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

Deno.test("tests run with HOME, P2P_HOME and the XDG folders in a temporary folder made for the run", async () => {
  const root = Deno.env.get(TEST_ROOT_ENV);
  assert(
    root,
    `${TEST_ROOT_ENV} is not set: run the tests with "deno task test", which gives them a home of their own.`,
  );
  assert(
    (await Deno.stat(root)).isDirectory &&
      root.split(/[\\/]/).at(-1)!.startsWith(TEST_ROOT_PREFIX),
    `${root} is not a folder made for this run`,
  );
  const realHome = userInfo().homedir;
  assert(!inside(root, realHome), `${root} is inside the real home`);
  for (const name of FOLDERS) {
    const folder = Deno.env.get(name);
    assert(
      folder && inside(folder, root),
      `${name}=${folder} is not in ${root}`,
    );
    assert((await Deno.stat(folder)).isDirectory, `${name} is not a folder`);
  }
  assert(Deno.env.get("HOME") !== realHome, "HOME is the real home");
  const denoDir = Deno.env.get("DENO_DIR");
  assert(denoDir && !inside(denoDir, root), "DENO_DIR is not the real cache");
});

Deno.test("history saved where the prompt keeps it lands in the run's folder, and the real history is untouched", async () => {
  const root = Deno.env.get(TEST_ROOT_ENV);
  assert(root, `${TEST_ROOT_ENV} is not set: run "deno task test"`);
  const real = Deno.env.get(REAL_DATA_DIR_ENV) ??
    join(userInfo().homedir, ".local", "share", "p2p");
  const realHistory = join(real, HISTORY_FILE);
  const before = await bytesOf(realHistory);
  const folder = dataDir();
  assert(folder && inside(folder, root), `dataDir() is ${folder}`);
  const history = await History.load(folder);
  history.add(`isolation check ${crypto.randomUUID()}`);
  await history.flush();
  assertEquals(history.path, join(folder, HISTORY_FILE));
  assert((await Deno.readTextFile(history.path!)).includes("isolation check"));
  assertEquals(await bytesOf(realHistory), before, realHistory);
});
