import { join } from "node:path";
import { assert, assertEquals } from "../../assert.ts";
import { randomFile, sha256File, tempDir } from "../../fixtures.ts";
import {
  isolatedEnv,
  PromptProcess,
  startTracker,
} from "../../_prompt_process.ts";
import { readyLine, spawnEntry } from "../../../scripts/_child.ts";

/** Flags of every prompt here: its own port, on loopback only. */
const LOOPBACK = ["--host", "127.0.0.1", "--port", "0"];

Deno.test("a script's share is hashed and registered before its next line: link and unshare by name find it, and quit exits 0", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "pf one.txt", 300_000);
  const id = await sha256File(file);
  await using tracker = await startTracker();
  const env = await isolatedEnv(dir.path, tracker.address);
  const link = `p2p://${tracker.address}/v1/pub/${id}`;

  await using linked = new PromptProcess(LOOPBACK, env);
  await linked.type(`share "${file}"\nlink "pf one.txt"\nquit\n`);
  assertEquals((await linked.end()).code, 0, linked.output);
  assert(
    linked.lines.includes(`pf one.txt (${id.slice(0, 16)}): ${link}`),
    linked.output,
  );
  assert(linked.output.includes("Unregistered 1 file. Bye."), linked.output);

  // The end of input quits just as quietly.
  await using unshared = new PromptProcess(LOOPBACK, env);
  await unshared.type(`share "${file}"\nunshare "pf one.txt"\nstatus\n`);
  assertEquals((await unshared.end()).code, 0, unshared.output);
  const stopped = unshared.lines.indexOf(
    `Stopped sharing pf one.txt (${id.slice(0, 16)}).`,
  );
  assert(
    stopped >= 0 && unshared.lines[stopped + 1] === "Shared: nothing.",
    unshared.output,
  );
  assertEquals(unshared.lines.at(-2), "Bye.", unshared.output);
});

Deno.test("a script's get saves the file before its next line, and quit then neither asks nor takes a later line as its answer", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "pf two.bin", 300_000);
  const id = await sha256File(file);
  await using tracker = await startTracker();
  const sharerHome = join(dir.path, "sharer");
  const getterHome = join(dir.path, "getter");
  await Deno.mkdir(sharerHome);
  await Deno.mkdir(getterHome);
  // A script's share keeps serving after its line.
  await using sharer = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(sharerHome, tracker.address),
  );
  await sharer.type(`share "${file}"\n`);
  await sharer.waitFor(new RegExp(`full ID ${id}$`), 20_000);

  const out = join(dir.path, "dl2");
  await using getter = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(getterHome, tracker.address),
  );
  await getter.type(`get ${id.slice(0, 16)} --out ${out}\nquit\nstatus\n`);
  assertEquals((await getter.end(30_000)).code, 0, getter.output);
  assertEquals(await sha256File(join(out, "pf two.bin")), id);
  assert(
    /^Saved .*pf two\.bin .*SHA-256 verified/m.test(getter.output),
    getter.output,
  );
  // Nothing asked, nothing answered, nothing after quit run.
  assert(!/\[y\/N\]|Not quitting/.test(getter.output), getter.output);
  assert(!getter.output.includes("Totals:"), getter.output);
  // The saved file was shared until quit unregistered it.
  assertEquals(getter.lines.at(-2), "Unregistered 1 file. Bye.");

  await sharer.type("quit\n");
  assertEquals((await sharer.end()).code, 0, sharer.output);
});

Deno.test("a prompt whose tracker cannot be used says why once at start: down, or a team tracker without its secret", async () => {
  await using dir = await tempDir();
  // A port nothing listens on: connections to it are refused at once.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const nobody = `127.0.0.1:${closed.addr.port}`;
  closed.close();
  await using down = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(dir.path, nobody),
  );
  assertEquals(
    await down.waitFor(/cannot be used/, 15_000),
    `The tracker ${nobody} cannot be used (connection refused): sharing and lookups through it fail until it can; or restart this prompt with --tracker HOST:PORT.`,
  );
  await down.type("quit\n");
  assertEquals((await down.end()).code, 0, down.output);
  assertEquals(
    down.lines.filter((text) => text.includes("cannot be used")).length,
    1,
  );

  // A team tracker is up: it wants its secret, it is not "down".
  const secret = join(dir.path, "team.secret");
  await Deno.writeTextFile(secret, "a team secret long enough to be one\n", {
    mode: 0o600,
  });
  await using team = spawnEntry("tracker.ts", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-relay",
    "--secret-file",
    secret,
  ]);
  const ready = await readyLine(team, /listening on/);
  const teamAddress = ready.slice(ready.lastIndexOf(" ") + 1);
  await using outsider = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(dir.path, teamAddress),
  );
  const line = await outsider.waitFor(/cannot be used/, 15_000);
  assert(
    line.includes("it is a team tracker and needs the team's secret"),
    line,
  );
  await outsider.type("quit\n");
  assertEquals((await outsider.end()).code, 0, outsider.output);
});

Deno.test("share --private of a file already shared publicly prints a private link and says it is public too", async () => {
  await using dir = await tempDir();
  const file = await randomFile(dir.path, "both.bin", 100_000);
  await using tracker = await startTracker();
  const env = await isolatedEnv(dir.path, tracker.address);
  await using prompt = new PromptProcess(LOOPBACK, env);
  await prompt.type(`share "${file}"\nshare --private "${file}"\nquit\n`);
  assertEquals((await prompt.end()).code, 0, prompt.output);
  const links = prompt.lines.filter((line) =>
    line.startsWith("  Share this link: ")
  );
  assertEquals(links.length, 2, prompt.output);
  assert(links[0].includes("/v1/pub/"), links[0]);
  assert(links[1].includes("/v1/priv/"), links[1]);
  assert(
    prompt.output.includes("It was already shared publicly"),
    prompt.output,
  );
});

Deno.test("search at the prompt with no text, empty quotes or only spaces says to use list, and the prompt goes on", async () => {
  await using dir = await tempDir();
  await using tracker = await startTracker();
  await using prompt = new PromptProcess(
    LOOPBACK,
    await isolatedEnv(dir.path, tracker.address),
  );
  await prompt.type('search ""\nsearch "   "\nsearch\nlist\nquit\n');
  // A piped prompt exits 1 when a command failed.
  assertEquals((await prompt.end()).code, 1, prompt.output);
  const said = "Give some text to search for, or use 'list' to see every file.";
  const lines = prompt.lines.map((line) => line.trim());
  assertEquals(lines.filter((line) => line.endsWith(said)).length, 3);
  assert(
    prompt.output.lastIndexOf("No files.") > prompt.output.lastIndexOf(said),
    prompt.output,
  );
});
