import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../../assert.ts";
import { randomFile, sha256File, tempDir } from "../../fixtures.ts";
import {
  READY_TIMEOUT_MS,
  shareArgs,
  spawnEntry,
  spawnSharer,
} from "../../../scripts/_child.ts";
import {
  ask,
  PromptProcess,
  sleep,
  startTracker,
} from "../../_prompt_process.ts";
import { UsageError } from "../../../lib/app/usage_error.ts";
import {
  type CommandContext,
  parseGetArgs,
  parseShareArgs,
  runCommand,
} from "../../../lib/cli/prompt/commands.ts";
import type { Session } from "../../../lib/app/session.ts";
import {
  complete,
  type CompletionSource,
  encode,
  splitWords,
} from "../../../lib/cli/prompt/completion.ts";
import {
  History,
  holdsSecret,
  MAX_HISTORY,
} from "../../../lib/cli/prompt/history.ts";
import { dataDir } from "../../../lib/app/data_dir.ts";
import { Transfers } from "../../../lib/app/transfers.ts";
import {
  describeTransfer,
  transferBar,
} from "../../../lib/cli/prompt/transfer_lines.ts";
import {
  HAS_SCRIPT,
  screenOf,
  statusOnScreen,
  waitForScreen,
} from "./_screen.ts";

const ID_A = "a1".repeat(32);
const ID_B = "b2".repeat(32);

function source(overrides: Partial<CompletionSource> = {}): CompletionSource {
  return {
    known: () => [
      { id: ID_A.slice(0, 16), name: "movie.mp4" },
      { id: ID_B.slice(0, 16), name: "my notes.txt" },
      { id: "c3".repeat(8), name: "evil\u001b[2J" },
    ],
    shared: () => [{ id: ID_A.slice(0, 16), name: "movie.mp4" }],
    transfers: () => [{ id: "#3", name: "movie.mp4" }],
    readDir: (path) =>
      Promise.resolve(
        path === "."
          ? [
            { name: "report.pdf", isDirectory: false },
            { name: "read me.txt", isDirectory: false },
            { name: "records", isDirectory: true },
            { name: ".hidden", isDirectory: false },
          ]
          : path === "/home/ann/"
          ? [{ name: "photo.jpg", isDirectory: false }]
          : [],
      ),
    home: "/home/ann",
    ...overrides,
  };
}

Deno.test("complete() offers command names for the first word", async () => {
  assertEquals(await complete("sh", source()), [["share "], "sh"]);
  assertEquals(await complete("s", source()), [
    ["share ", "search ", "status "],
    "s",
  ]);
  assertEquals(await complete("", source()), [
    [
      "share ",
      "unshare ",
      "link ",
      "get ",
      "list ",
      "search ",
      "status ",
      "peers ",
      "cancel ",
      "doctor ",
      "ui ",
      "help ",
      "quit ",
    ],
    "",
  ]);
});

Deno.test("complete() offers file paths after share, escaping spaces", async () => {
  assertEquals(await complete("share re", source()), [
    ["read\\ me.txt ", "records/", "report.pdf "],
    "re",
  ]);
  assertEquals(await complete("share read\\ ", source()), [
    ["read\\ me.txt "],
    "read\\ ",
  ]);
  assertEquals(await complete('share "read', source()), [
    ['"read me.txt" '],
    '"read',
  ]);
  assertEquals(await complete("share ~/ph", source()), [
    ["~/photo.jpg "],
    "~/ph",
  ]);
  assertEquals(await complete("share .h", source()), [[".hidden "], ".h"]);
  assertEquals(await complete("share nothing/x", source()), [
    [],
    "nothing/x",
  ]);
});

Deno.test("complete() offers known IDs and names after get, never a name the terminal would garble", async () => {
  const [ids] = await complete("get a1", source());
  assertEquals(ids, [ID_A.slice(0, 16)]);
  assertEquals(await complete("get mo", source()), [["movie.mp4 "], "mo"]);
  assertEquals(await complete("get my", source()), [
    ["my\\ notes.txt "],
    "my",
  ]);
  const [all] = await complete("get ", source());
  assert(!all.some((word) => word.includes("\u001b")), JSON.stringify(all));
  assertEquals(await complete("get x --", source()), [
    ["--out ", "--force "],
    "--",
  ]);
  assertEquals((await complete("get x --out re", source()))[0], [
    "read\\ me.txt ",
    "records/",
    "report.pdf ",
  ]);
  assertEquals((await complete("peers mov", source()))[0], ["movie.mp4 "]);
});

Deno.test("complete() offers shared files after unshare and link, --private after share, and transfers after cancel", async () => {
  assertEquals((await complete("unshare ", source()))[0], [
    ID_A.slice(0, 16),
    "movie.mp4 ",
  ]);
  assertEquals((await complete("link mo", source()))[0], ["movie.mp4 "]);
  assertEquals((await complete("share --p", source()))[0], ["--private "]);
  assertEquals((await complete("cancel #", source()))[0], ["#3"]);
  assertEquals((await complete("quit --f", source()))[0], ["--force"]);
  assertEquals((await complete("list x", source()))[0], []);
});

Deno.test("encode() writes words the prompt splits back unchanged", () => {
  for (const name of ["a b", 'it"s', "it's", "back\\slash", "plain"]) {
    for (const quote of ["", '"', "'"]) {
      if (quote === "'" && name.includes("'")) continue;
      const word = encode(name, quote, true);
      assertEquals(splitWords(`share ${word}`), ["share", name], word);
    }
  }
});

Deno.test("dataDir() prefers P2P_HOME, then XDG_DATA_HOME, then ~/.local/share", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(dataDir(env({ P2P_HOME: "/p", HOME: "/h" })), "/p");
  assertEquals(dataDir(env({ XDG_DATA_HOME: "/x", HOME: "/h" })), "/x/p2p");
  assertEquals(dataDir(env({ HOME: "/h" })), "/h/.local/share/p2p");
  assertEquals(dataDir(env({})), undefined);
});

Deno.test("History keeps commands between runs, bounded, without blanks, repeats or lines starting with a space", async () => {
  await using dir = await tempDir();
  const folder = join(dir.path, "data");
  const first = await History.load(folder);
  assertEquals(first.lines, []);
  for (const line of ["list", "list", "", "  ", " secret", "get x  "]) {
    first.add(line);
  }
  await first.flush();
  const second = await History.load(folder);
  assertEquals(second.lines, ["list", "get x"]);
  assertEquals(second.newestFirst(), ["get x", "list"]);
  for (let i = 0; i < MAX_HISTORY + 10; i++) second.add(`status ${i}`);
  await second.flush();
  const third = await History.load(folder);
  assertEquals(third.lines.length, MAX_HISTORY);
  assertEquals(third.lines.at(-1), `status ${MAX_HISTORY + 9}`);
  const text = await Deno.readTextFile(join(folder, "history"));
  assertEquals(text.split("\n").length, MAX_HISTORY + 1);
});

Deno.test("History without a folder or with an unwritable one works in memory", async () => {
  const before = await fileText(historyIn(dataDir()));
  const memory = await History.load(undefined);
  assertEquals(memory.path, undefined);
  memory.add("list");
  await memory.flush();
  assertEquals(memory.lines, ["list"]);
  // No folder means no file at all, not the default data folder.
  assertEquals(await fileText(historyIn(dataDir())), before);
  await using dir = await tempDir();
  const file = join(dir.path, "not-a-folder");
  await Deno.writeTextFile(file, "");
  const broken = await History.load(file);
  broken.add("list");
  await broken.flush();
  assertEquals(broken.lines, ["list"]);
});

const PUBLIC_LINK = `p2p://10.0.0.5:5000/v1/pub/${ID_A}`;
const PRIVATE_LINK =
  "p2p://10.0.0.5:5000/v1/priv/hAcqbkCidDSRgoRp6cro1g/a1a1a1a1a1a1a1a1";

Deno.test("holdsSecret() is true for private links, damaged ones and anything shaped like a link but not public", () => {
  for (
    const line of [
      `get ${PRIVATE_LINK}`,
      `get "${PRIVATE_LINK}" --out x`,
      `get ${PRIVATE_LINK.slice(0, -3)}`,
      `get ${PRIVATE_LINK.replace("p2p://", "p2p//")}`,
      `get ${PRIVATE_LINK.replace("p2p://", "")}`,
      `GET ${PRIVATE_LINK.toUpperCase()}`,
    ]
  ) {
    assert(holdsSecret(line), line);
  }
  for (
    const line of [
      `get ${PUBLIC_LINK}`,
      `get '${PUBLIC_LINK}'`,
      `get ${ID_A.slice(0, 16)}`,
      "share ~/p2p/notes.txt",
      "list",
    ]
  ) {
    assert(!holdsSecret(line), line);
  }
});

Deno.test("History never keeps a line with a private link, in the file or when loading one, and keeps public links", async () => {
  await using dir = await tempDir();
  const folder = join(dir.path, "data");
  const history = await History.load(folder);
  for (
    const line of [
      `get ${PRIVATE_LINK}`,
      `get ${PUBLIC_LINK}`,
      `get ${PRIVATE_LINK.slice(0, 30)}`,
      "status",
    ]
  ) {
    history.add(line);
  }
  await history.flush();
  assertEquals(history.lines, [`get ${PUBLIC_LINK}`, "status"]);
  const text = await Deno.readTextFile(join(folder, "history"));
  assertEquals(text, `get ${PUBLIC_LINK}\nstatus\n`);
  // A file written before (or by hand) loses such lines on loading.
  await Deno.writeTextFile(
    join(folder, "history"),
    `list\nget ${PRIVATE_LINK}\nhelp\n`,
  );
  assertEquals((await History.load(folder)).lines, ["list", "help"]);
});

function historyIn(folder: string | undefined): string | undefined {
  return folder === undefined ? undefined : join(folder, "history");
}

async function fileText(path: string | undefined): Promise<string | null> {
  if (path === undefined) return null;
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

Deno.test("help lines every description up in one column, at least two spaces after the longest command", async () => {
  const printed: string[] = [];
  const context: CommandContext = {
    session: {} as Session,
    print: (text) => printed.push(text),
    note: () => {},
    background: () => {},
    drawBars: () => {},
    ui: () => Promise.resolve(""),
  };
  assertEquals(await runCommand("help", context), "continue");
  const [title, ...rows] = printed;
  assert(title.startsWith("Commands"), title);
  const columns = new Set<number>();
  const commands: string[] = [];
  for (const row of rows) {
    // A command (words with single spaces), then 2+ spaces, then the text.
    const match = /^ {2}(\S+(?: \S+)*)?( {2,})(\S.*)$/.exec(row);
    assert(match, `no gap of two spaces before the description: "${row}"`);
    if (match[1]) commands.push(match[1].split(" ")[0]);
    columns.add(row.length - match[3].length);
    assert([...row].length < 80, `too wide for 80 columns: "${row}"`);
  }
  assertEquals(columns.size, 1, printed.join("\n"));
  assertEquals(commands, [
    "share",
    "unshare",
    "link",
    "get",
    "list",
    "search",
    "status",
    "peers",
    "cancel",
    "doctor",
    "ui",
    "help",
    "quit",
  ]);
});

Deno.test("Transfers finds work by number, ID prefix or name and totals downloads", () => {
  let now = 0;
  const transfers = new Transfers(() => now);
  const hash = transfers.start({ kind: "hash", name: "a.bin" });
  const get = transfers.start({ kind: "get", name: ID_B, id: ID_B });
  assert(
    describeTransfer(hash).includes("starting"),
    describeTransfer(hash),
  );
  now = 1000;
  get.update({ done: 512, total: 1024, peers: 2, name: "b.bin" });
  assertEquals(get.bytesPerSecond, 512);
  assertEquals(
    describeTransfer(get),
    "#2 getting b.bin  50.0%  512 B / 1.0 KiB  512 B/s  ETA 1s  2 peers",
  );
  assertEquals(transfers.find("#1"), [hash]);
  assertEquals(transfers.find("2"), [get]);
  assertEquals(transfers.find("B2B2"), [get]);
  assertEquals(transfers.find("a.bin"), [hash]);
  assertEquals(transfers.find("zzz"), []);
  assertEquals(transfers.downloaded, 512);
  transfers.finish(get, 1024);
  transfers.finish(get, 1024);
  assertEquals(transfers.downloaded, 1024);
  hash.cancel();
  assert(hash.signal.aborted && hash.cancelled);
  const line = transferBar(hash, 60, false);
  assert([...line].length < 60 && line.startsWith("[---"), line);
});

Deno.test("parseShareArgs() reads --private anywhere, -- before a path starting with -, and rejects mistakes in one sentence", () => {
  assertEquals(parseShareArgs(["a", "b"]), {
    paths: ["a", "b"],
    private: false,
  });
  assertEquals(parseShareArgs(["a", "--private"]), {
    paths: ["a"],
    private: true,
  });
  assertEquals(parseShareArgs(["--", "--private"]), {
    paths: ["--private"],
    private: false,
  });
  for (const args of [[], ["--private"], ["a", "--bogus"]]) {
    const error = assertThrows(() => parseShareArgs(args), UsageError);
    assert(/^[A-Z"-].*\.$/.test(error.message), error.message);
  }
});

Deno.test("parseGetArgs() reads --out and --force and rejects mistakes in one sentence", () => {
  assertEquals(parseGetArgs(["abc"], "downloads"), {
    ref: "abc",
    outDir: "downloads",
    force: false,
  });
  assertEquals(parseGetArgs(["--force", "abc", "--out", "d"], "x"), {
    ref: "abc",
    outDir: "d",
    force: true,
  });
  assertEquals(parseGetArgs(["abc", "--out=e"], "x").outDir, "e");
  for (const args of [[], ["a", "b"], ["a", "--bogus"], ["a", "--out"]]) {
    const error = assertThrows(() => parseGetArgs(args, "x"), UsageError);
    assert(/^[A-Z"-].*\.$/.test(error.message), error.message);
  }
  // `peer get -o FILE` names the saved file: here -o is refused, not taken
  // as the folder.
  for (const args of [["a", "-o", "b.bin"], ["a", "--output=b.bin"]]) {
    const error = assertThrows(() => parseGetArgs(args, "x"), UsageError);
    assert(error.message.includes("the file keeps its name"), error.message);
  }
});

// ---------------------------------------------------------------------------
// Real processes: a tracker, prompts on piped stdin, prompts on a terminal.

Deno.test("prompts on piped stdin share a file, get it before the next line runs, get it again, unshare it and quit with exit 0", async () => {
  await using dir = await tempDir();
  const size = 3 * 1024 * 1024;
  const source = await randomFile(dir.path, "big file.bin", size);
  const id = await sha256File(source);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
  const common = ["--host", "127.0.0.1", "--port", "0"];
  await using sharer = new PromptProcess(common, env);
  await sharer.type(`share "${source}"\n`);
  await sharer.waitFor(new RegExp(`full ID ${id}`), 20_000);

  const out = join(dir.path, "out");
  await using getter = new PromptProcess([...common, "--out", out], env);
  await getter.type("list\n");
  await getter.waitFor(/big file\.bin/);
  // A script reads its next line once the get has saved the file.
  const answer = await ask(getter, `get ${id.slice(0, 16)}\nstatus`, 20_000);
  const saved = answer.findIndex((line) =>
    /^Saved .*big file\.bin .*SHA-256 verified/.test(line)
  );
  assert(
    saved >= 0 && saved < answer.indexOf("Transfers: none."),
    answer.join("\n"),
  );
  assertEquals(
    answer.find((line) => line.startsWith("Totals: ")),
    "Totals: up 0 B, down 3.0 MiB.",
  );
  assertEquals(await sha256File(join(out, "big file.bin")), id);
  // A finished download stays shared until unshare.
  assert(
    answer.some((line) => /^Shared \(1\), serving on /.test(line)) &&
      answer.some((line) =>
        new RegExp(`${id.slice(0, 16)} .*big file\\.bin$`).test(line)
      ),
    answer.join("\n"),
  );
  // Getting it again finds it here, where it was saved.
  await getter.type(`get ${id.slice(0, 16)}\n`);
  assertEquals(
    await getter.waitFor(/is already here/),
    `big file.bin (${id.slice(0, 16)}) is already here: ${
      join(out, "big file.bin")
    }`,
  );
  await getter.type(`unshare ${id.slice(0, 16)}\n`);
  const after = await ask(getter, "status");
  assert(after.includes("Shared: nothing."), after.join("\n"));
  await sharer.type("status\n");
  await sharer.waitFor(/Totals: up 3\.\d MiB, down 0 B\./);

  await getter.type("quit\n");
  assertEquals((await getter.end()).code, 0, getter.output);
  await sharer.type("quit\n");
  assertEquals((await sharer.end()).code, 0, sharer.output);
  assert(sharer.output.includes("Unregistered 1 file."), sharer.output);
});

Deno.test("a prompt on piped stdin finishes hashing at end of input and exits 1 after a failed command, and SIGTERM unregisters and exits 0", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "one.bin", 3 * 1024 * 1024);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
  const common = ["--host", "127.0.0.1", "--port", "0"];
  await using ended = new PromptProcess(common, env);
  await ended.type(`share ${file}\nbogus\n`);
  assertEquals((await ended.end()).code, 1, ended.output);
  assert(
    /^Unknown command "bogus": type "help"/m.test(ended.output),
    ended.output,
  );
  assert(ended.output.includes("Sharing one.bin (3.0 MiB)"), ended.output);
  assert(ended.output.includes("Unregistered 1 file."), ended.output);

  await using stopped = new PromptProcess(common, env);
  await stopped.type(`share ${file}\n`);
  await stopped.waitFor(/^Sharing one\.bin/);
  Deno.kill(stopped.pid, "SIGTERM");
  assertEquals(
    (await stopped.exited()).code,
    0,
    `${stopped.output} stderr: ${stopped.stderr}`,
  );
  assert(stopped.output.includes("Unregistered 1 file."), stopped.output);
});

Deno.test("a prompt on piped stdin says a file it shares is already here, greets without Ctrl-D, and exits 0 when every command succeeded", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "mine.bin", 64 * 1024);
  const id = await sha256File(file);
  const short = id.slice(0, 16);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    env,
  );
  await prompt.type(`share ${file}\n`);
  await prompt.waitFor(new RegExp(`^Sharing mine\\.bin .*full ID ${id}$`));
  const elsewhere = join(dir.path, "elsewhere");
  await prompt.type(
    `get ${short}\nget mine.bin --out ${elsewhere}\nhelp\n`,
  );
  await prompt.waitFor(/^ {2}quit /);
  assertEquals((await prompt.end()).code, 0, prompt.output);
  const here = `mine.bin (${short}) is already here: ${file}`;
  assertEquals(
    prompt.lines.filter((line) => line.includes("already here")),
    [here, here],
  );
  assert(!prompt.output.includes("Nobody is sharing"), prompt.output);
  assertEquals(await fileText(join(elsewhere, "mine.bin.part")), null);
  const greeting = prompt.lines[0];
  assert(
    /^Serving on \S+ with tracker \S+\. Type "help" for commands, "quit" to leave\.$/
      .test(greeting),
    greeting,
  );
});

Deno.test("a prompt on piped stdin exits 1 when a command running in the background failed", async () => {
  await using dir = await tempDir();
  const env = { P2P_TRACKER: "127.0.0.1:1", P2P_HOME: dir.path };
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    env,
  );
  await prompt.type(`share ${join(dir.path, "missing.bin")}\nstatus\n`);
  assertEquals((await prompt.end()).code, 1, prompt.output);
  assert(/^Cannot share ".*missing\.bin"/m.test(prompt.output), prompt.output);
});

/** Size of the sparse file whose hashing outlasts typing at the prompt. */
const SLOW_HASH_SIZE = 2 * 1024 * 1024 * 1024;

Deno.test({
  name:
    "on a terminal, status answers while a get runs in the background, showing its percent and peers",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const file = await randomFile(dir.path, "slow.bin", 2 * 1024 * 1024);
    const id = await sha256File(file);
    await using tracker = await startTracker();
    const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
    const common = ["--host", "127.0.0.1", "--port", "0"];
    await using sharer = new PromptProcess(common, env);
    await sharer.type(`share ${file}\n`);
    await sharer.waitFor(new RegExp(`full ID ${id}`), 20_000);
    const out = join(dir.path, "out");
    // The limit stretches the get over seconds, so status comes mid-way.
    await using prompt = new PromptProcess(
      [...common, "--out", out, "--download-limit", "256K"],
      env,
      true,
    );
    await prompt.waitFor(/Serving on/);
    await prompt.type(`get ${id}\r`);
    await prompt.waitForOutput(/#1 getting/);
    let midway: string | undefined;
    for (let asked = 0; asked < 100 && !midway; asked++) {
      const rows = await statusOnScreen(prompt);
      midway = rows.find((row) =>
        /^ {2}#1 getting slow\.bin\s+[1-9]\d?\.\d%.* peers?$/.test(row)
      );
      if (/Saved /.test(prompt.output)) break;
      await sleep(100);
    }
    assert(midway, `no status line caught mid-transfer: ${prompt.output}`);
    await prompt.waitForOutput(/Saved [^\n]*SHA-256 verified/, 30_000);
    assertEquals(await sha256File(join(out, "slow.bin")), id);
    await prompt.type("quit\r");
    assertEquals((await prompt.end()).code, 0, prompt.output);
  },
});

Deno.test({
  name:
    "on a terminal, live bars redraw above the prompt without garbling the line being typed, and a one-shot get draws its bar",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    // Hashing must outlast typing "sta" by several redraws, even on a busy
    // machine: a sparse file costs no disk, and hashing 2 GiB takes seconds.
    const slow = join(dir.path, "slow.bin");
    await Deno.writeFile(slow, new Uint8Array());
    await Deno.truncate(slow, SLOW_HASH_SIZE);
    await using tracker = await startTracker();
    const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
    await using prompt = new PromptProcess(["--port", "0"], env, true);
    await prompt.waitFor(/Serving on/);
    await prompt.type(`share ${slow}\r`);
    await prompt.waitForOutput(/#1 hashing slow\.bin/);
    await prompt.type("sta");
    // A bar drawn after the echo, with the input redrawn under it.
    await prompt.waitForOutput(/\] #1 hashing slow\.bin[^\n]*\n[^\n]*p2p> sta/);
    await prompt.waitForOutput(/Sharing slow\.bin/, 60_000);
    // The prompt is redrawn after the message, maybe in a later write.
    await waitForScreen(prompt, "p2p> sta");
    const screen = screenOf(prompt.output);
    const last = screen.findLastIndex((line) => line !== "");
    assertEquals(screen[last], "p2p> sta", screen.join("\n"));
    // The message and its link (each wrapped at 100 columns) sit right
    // above the prompt.
    const message = screen.findIndex((l) => l.startsWith("Sharing slow.bin"));
    assert(
      message >= last - 4 &&
        /full ID [0-9a-f]{64} {2}Share this link: p2p:\/\/\S+\/v1\/pub\/[0-9a-f]{64}$/
          .test(screen.slice(message, last).join("")),
      screen.join("\n"),
    );
    assert(
      !screen.some((line) => line.startsWith("[")),
      `bars left on screen:\n${screen.join("\n")}`,
    );
    await prompt.type("tus\r");
    await prompt.waitFor(/^Shared \(1\)/);

    // A one-shot get on a terminal draws its own live bar.
    const file = await randomFile(dir.path, "big.bin", 512 * 1024 * 1024);
    await prompt.type(`share ${file}\r`);
    await prompt.waitFor(/Sharing big\.bin/, 20_000);
    const id =
      /Sharing big\.bin.*?full ID ([0-9a-f]{64})/s.exec(prompt.output)![1];
    const out = join(dir.path, "out");
    await using get = new PromptProcess(["get", id, "--out", out], env, true);
    assertEquals((await get.exited(30_000)).code, 0, get.output);
    assert(
      /\[[#-]{12}\] big\.bin\s+\d+\.\d%.*ETA.*peer/.test(get.output),
      JSON.stringify(get.output.slice(0, 2000)),
    );
    assert(/Saved .*SHA-256 verified/.test(get.output), get.output);
    assertEquals(await sha256File(join(out, "big.bin")), id);

    await prompt.type("quit\r");
    assertEquals((await prompt.end()).code, 0, prompt.output);
  },
});

Deno.test({
  name:
    "on a terminal, Tab completes commands, Ctrl-C clears the line and history is kept between runs",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    await using tracker = await startTracker();
    const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
    {
      await using prompt = new PromptProcess(["--port", "0"], env, true);
      await prompt.waitFor(/Serving on/);
      await prompt.type("sta\t");
      await waitForScreen(prompt, "p2p> status");
      await prompt.type("\x03");
      await sleep(100);
      await prompt.type("list\r");
      await prompt.waitFor(/No files\./);
      assert(!/Unknown command/.test(prompt.output), prompt.output);
      await prompt.type("sh\t");
      await waitForScreen(prompt, "p2p> share");
      await prompt.type("\x03help\r");
      await prompt.waitFor(/^Commands/);
      await prompt.type("quit\r");
      assertEquals((await prompt.end()).code, 0, prompt.output);
    }
    assertEquals(
      await Deno.readTextFile(join(dir.path, "history")),
      "list\nhelp\nquit\n",
    );
    await using again = new PromptProcess(["--port", "0"], env, true);
    await again.waitFor(/Serving on/);
    // Up twice: the command before "quit" comes back, and runs.
    await again.type("\x1b[A");
    await sleep(50);
    await again.type("\x1b[A");
    await waitForScreen(again, "p2p> help");
    await again.type("\r");
    await again.waitFor(/^Commands/);
    await again.type("\x04");
    assertEquals((await again.end()).code, 0, again.output);
  },
});

Deno.test({
  name:
    "on a terminal, quit asks while a transfer runs, and quit --force does not",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    // A tracker that accepts and never answers keeps a get running.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of silent) held.push(conn);
    })();
    try {
      const env = {
        P2P_TRACKER: `127.0.0.1:${silent.addr.port}`,
        P2P_HOME: dir.path,
      };
      await using prompt = new PromptProcess(["--port", "0"], env, true);
      await prompt.waitFor(/Serving on/);
      await prompt.type(`get ${ID_A}\r`);
      await prompt.waitForOutput(/#1 getting/);
      await prompt.type("quit\r");
      await prompt.waitForOutput(
        /1 transfer is running; quit and stop it\? \[y\/N\] /,
      );
      await prompt.type("n\r");
      await prompt.waitFor(/^Not quitting\./);
      await prompt.type("status\r");
      await prompt.waitFor(/#1 getting .*starting/);
      await prompt.type("quit --force\r");
      assertEquals((await prompt.end(10_000)).code, 0, prompt.output);
    } finally {
      silent.close();
      await accepting.catch(() => {});
      for (const conn of held) conn.close();
    }
  },
});

Deno.test({
  name:
    "on a terminal, cancel takes a folder being got by its own name, which Tab completes without the count of files status shows",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const folder = join(dir.path, "multi");
    await Deno.mkdir(folder);
    for (let i = 1; i <= 5; i++) {
      await randomFile(folder, `part${i}.bin`, 256 * 1024);
    }
    await using tracker = await startTracker();
    const sharer = await spawnSharer(folder, tracker.address);
    await using _sharer = sharer.child;
    const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
    // The limit keeps the get running for seconds after its first file.
    await using prompt = new PromptProcess(
      [
        "--port",
        "0",
        "--out",
        join(dir.path, "out"),
        "--download-limit",
        "64K",
      ],
      env,
      true,
    );
    await prompt.waitFor(/Serving on/);
    await prompt.type(`get ${sharer.id}\r`);
    await prompt.waitForOutput(/#1 getting multi \(\d\/5 files\)/, 20_000);
    await prompt.type("cancel mul\t");
    await waitForScreen(prompt, "p2p> cancel multi");
    await prompt.type("\r");
    await prompt.waitForOutput(/Cancelling #1 multi/);
    await prompt.waitForOutput(/Cancelled #1 multi/);
    const rows = await statusOnScreen(prompt);
    assert(rows.includes("Transfers: none."), rows.join("\n"));
    await prompt.type("quit\r");
    assertEquals((await prompt.end()).code, 0, prompt.output);
    assert(!/\[y\/N\]/.test(prompt.output), prompt.output);
  },
});

Deno.test("a prompt on piped stdin shares privately, prints the link, marks it in status, gives it again with link, and refuses peers for it", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "hidden.bin", 100_000);
  const id = await sha256File(file);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    env,
  );
  await prompt.type(`share --private ${file}\n`);
  await prompt.waitFor(
    new RegExp(
      `^Sharing hidden\\.bin \\(97\\.7 KiB\\) privately: .*full ID ${id}$`,
    ),
  );
  const link = (await prompt.waitFor(/^ {2}Share this link: /)).split(": ")[1];
  assert(
    link.startsWith(`p2p://${tracker.address}/v1/priv/`) &&
      link.endsWith(`/${id.slice(0, 16)}`),
    link,
  );
  await prompt.waitFor(/^ {2}Whoever has this link can download the file/);
  const status = await ask(prompt, "status");
  assert(
    status.some((line) => line.endsWith("hidden.bin  (private)")),
    status.join("\n"),
  );
  await prompt.type("link hidden.bin\npeers hidden.bin\nlist\n");
  await prompt.waitFor(/^No files\.$/);
  assert(
    prompt.lines.includes(
      `hidden.bin (${id.slice(0, 16)}), shared privately: ${link}`,
    ),
    prompt.output,
  );
  assert(
    /^"hidden\.bin" is shared privately: .*"peers" cannot ask for it\.$/m
      .test(prompt.output),
    prompt.output,
  );
  // peers failed: a script with a failed command exits 1.
  assertEquals((await prompt.end()).code, 1, prompt.output);
});

Deno.test({
  name:
    "on a terminal, get of a public and a private link both save the file, and the history (file and Up) never holds the private link",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using dir = await tempDir();
    const open = await randomFile(dir.path, "open.bin", 200_000);
    const closed = await randomFile(dir.path, "closed.bin", 200_000);
    await using tracker = await startTracker();
    await using publicSharer = spawnEntry(
      "peer.ts",
      shareArgs(open, tracker.address),
    );
    const pub = JSON.parse(
      await publicSharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    await using privateSharer = spawnEntry(
      "peer.ts",
      shareArgs(closed, tracker.address, ["--private"]),
    );
    const priv = JSON.parse(
      await privateSharer.waitForLine(/^\{/, READY_TIMEOUT_MS),
    );
    const secret = priv.link.split("/priv/")[1].split("/")[0];
    const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
    const out = join(dir.path, "out");
    await using prompt = new PromptProcess(
      ["--port", "0", "--out", out],
      env,
      true,
    );
    await prompt.waitFor(/Serving on/);
    await prompt.type(`get ${pub.link}\r`);
    await prompt.waitFor(/Saved .*open\.bin/, 20_000);
    await prompt.type("status\r");
    await prompt.waitFor(/Totals:/);
    await prompt.type(`get ${priv.link}\r`);
    await prompt.waitFor(/Saved .*closed\.bin/, 20_000);
    // Up brings back the command before the private link, not the link.
    await prompt.type("\x1b[A");
    await waitForScreen(prompt, "p2p> status");
    await prompt.type("\x03");
    await sleep(100);
    await prompt.type("quit\r");
    assertEquals((await prompt.end()).code, 0, prompt.output);
    assertEquals(await sha256File(join(out, "open.bin")), pub.id);
    assertEquals(await sha256File(join(out, "closed.bin")), priv.id);
    const history = await Deno.readTextFile(join(dir.path, "history"));
    assertEquals(history, `get ${pub.link}\nstatus\nquit\n`);
    assert(!history.includes(secret), history);
  },
});

Deno.test("ui at the prompt serves the page on the prompt's own session: a file shared at the prompt is on the page, and quit closes both", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "shared.bin", 200_000);
  await using tracker = await startTracker();
  const env = { P2P_TRACKER: tracker.address, P2P_HOME: dir.path };
  await using prompt = new PromptProcess(
    ["--host", "127.0.0.1", "--port", "0"],
    env,
  );
  await prompt.type("ui\n");
  const line = await prompt.waitFor(
    /Web page: http:\/\/127\.0\.0\.1:\d+\/#token=/,
  );
  const url = new URL(line.slice(line.indexOf("http")));
  const headers = {
    authorization: `Bearer ${url.hash.slice("#token=".length)}`,
  };
  const state = async () =>
    await (await fetch(`${url.origin}/api/state`, { headers })).json();
  await prompt.type(`share ${file}\n`);
  const id = await sha256File(file);
  const deadline = performance.now() + 15_000;
  while ((await state()).shared.length === 0) {
    assert(performance.now() < deadline, prompt.output);
    await sleep(20);
  }
  assertEquals((await state()).shared[0].id, id);
  // Asked again, it names the same page.
  await prompt.type("ui\n");
  await prompt.waitForOutput(/Web page: [^\n]*[\s\S]*Web page: /);
  assertEquals(
    prompt.lines.filter((l) => l.includes("Web page: ")).map((l) =>
      l.slice(l.indexOf("http"))
    ),
    [url.href, url.href],
  );
  await prompt.type("quit\n");
  assertEquals((await prompt.end()).code, 0, prompt.output);
  const after = await fetch(url.origin).then(
    (answer) => `answered ${answer.status}`,
    () => "refused",
  );
  assertEquals(after, "refused");
});
