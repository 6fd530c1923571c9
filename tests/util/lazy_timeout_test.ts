import { assert, assertEquals } from "../assert.ts";
import { LazyTimeout } from "../../lib/util/lazy_timeout.ts";
import { delay } from "../_hostile.ts";

/** A LazyTimeout that records when it expired. */
function recorder(): { timeout: LazyTimeout; fired: number[] } {
  const fired: number[] = [];
  const timeout = new LazyTimeout(() => fired.push(performance.now()));
  return { timeout, fired };
}

Deno.test("LazyTimeout expires once, not before its time", async () => {
  const { timeout, fired } = recorder();
  using _ = timeout;
  const started = performance.now();
  timeout.start(40);
  assert(timeout.running);
  await delay(120);
  assert(!timeout.running);
  assertEquals(fired.length, 1);
  assert(fired[0] - started >= 40, `expired after ${fired[0] - started} ms`);
});

Deno.test("LazyTimeout started again waits from the new start", async () => {
  const { timeout, fired } = recorder();
  using _ = timeout;
  timeout.start(60);
  await delay(30);
  const restarted = performance.now();
  timeout.start(60);
  await delay(40);
  assertEquals(fired.length, 0, "expired at its first time");
  await delay(100);
  assertEquals(fired.length, 1);
  assert(fired[0] - restarted >= 60, `expired after ${fired[0] - restarted}`);
});

Deno.test("LazyTimeout moved earlier expires at the earlier time", async () => {
  const { timeout, fired } = recorder();
  using _ = timeout;
  timeout.start(60_000);
  timeout.start(20);
  for (let i = 0; i < 100 && fired.length === 0; i++) await delay(10);
  assertEquals(fired.length, 1);
});

Deno.test("LazyTimeout stopped does not expire, and can start again", async () => {
  const { timeout, fired } = recorder();
  using _ = timeout;
  timeout.start(20);
  timeout.stop();
  assert(!timeout.running);
  await delay(60);
  assertEquals(fired.length, 0);
  timeout.start(20);
  await delay(80);
  assertEquals(fired.length, 1);
});

Deno.test("LazyTimeout disposed ignores later starts", async () => {
  const { timeout, fired } = recorder();
  timeout.start(20);
  timeout.dispose();
  timeout.start(10);
  await delay(60);
  assertEquals(fired.length, 0);
});

Deno.test("LazyTimeout stopped does not keep the process alive", async () => {
  // The system timer stays set after stop(); if it kept the event loop
  // going, this child would live for a minute.
  const module =
    new URL("../../lib/util/lazy_timeout.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { LazyTimeout } from "${module}";
       const timeout = new LazyTimeout(() => console.log("expired"));
       timeout.start(60_000);
       timeout.stop();`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const exited = await Promise.race([
    child.output().then(() => true),
    delay(15_000).then(() => false),
  ]);
  if (!exited) child.kill();
  assert(exited, "the child did not exit within 15 s");
});
