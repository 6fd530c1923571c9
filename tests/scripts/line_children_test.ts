import { assertEquals } from "../assert.ts";
import {
  lines,
  openChildren,
  shares,
  spawnLineChild,
} from "../../scripts/line_children.ts";

Deno.test("a fleet's connections are split into shares that cover them once, numbered on from the offset", () => {
  assertEquals(shares(10, 3, 5), [
    { count: 4, offset: 5 },
    { count: 4, offset: 9 },
    { count: 2, offset: 13 },
  ]);
  assertEquals(shares(2, 4), [
    { count: 1, offset: 0 },
    { count: 1, offset: 1 },
  ]);
  assertEquals(shares(0, 4), []);
});

Deno.test("lines come out whole however the stream cuts them", async () => {
  const bytes = new TextEncoder().encode("one\ntwo\n\nthree\n");
  for (const cut of [1, 2, 5, bytes.length]) {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += cut) {
          controller.enqueue(bytes.slice(at, at + cut));
        }
        controller.close();
      },
    });
    const got: string[] = [];
    for await (const line of lines(stream)) got.push(line);
    assertEquals(got, ["one", "two", "", "three"], `cut every ${cut}`);
  }
});

Deno.test("line children answer a JSON line for each line they are sent, and stop when their input ends", async () => {
  // A child that says it is ready, then echoes each line back as JSON.
  const script =
    `console.log(JSON.stringify({ ready: true })); const d = new TextDecoder(); for await (const c of Deno.stdin.readable) for (const l of d.decode(c).split("\\n")) if (l) console.log(JSON.stringify({ got: l }));`;
  const children = await openChildren(
    shares(2, 2),
    () =>
      spawnLineChild(Deno.execPath(), ["eval", script], {
        label: "Test child",
        stopMs: 5_000,
      }),
    10_000,
  );
  try {
    assertEquals(children.length, 2);
    for (const child of children) {
      assertEquals(await child.ask("stats", 10_000), { got: "stats" });
    }
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
});
