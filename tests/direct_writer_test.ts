import { assert, assertEquals } from "./assert.ts";
import { tempDir } from "./fixtures.ts";
import { DIRECT_ALIGN, DirectWriter } from "../lib/direct_writer.ts";

/** A file of `size` zero bytes in `dir`, and what DirectWriter.open needs. */
async function target(dir: string, size: number) {
  const path = `${dir}/f.part`;
  await Deno.writeFile(path, new Uint8Array(size));
  const { dev, ino } = await Deno.stat(path);
  return { path, dev, ino, maxBytes: 4 * DIRECT_ALIGN };
}

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

Deno.test("DirectWriter writes aligned pieces at their offsets, past the page cache on Linux", async () => {
  await using dir = await tempDir();
  const size = 16 * DIRECT_ALIGN;
  const t = await target(dir.path, size);
  const writer = DirectWriter.open(t);
  if (Deno.build.os !== "linux") {
    // No O_DIRECT in Deno's node:fs elsewhere: the caller writes instead.
    assertEquals(writer, undefined);
    return;
  }
  assert(writer, "O_DIRECT refused on this Linux file system");
  const a = bytes(4 * DIRECT_ALIGN, 1);
  const b = bytes(DIRECT_ALIGN, 2);
  // A view that starts mid-buffer: the writer stages it aligned itself.
  const c = bytes(DIRECT_ALIGN + 3, 3).subarray(3);
  assert(writer.write(8 * DIRECT_ALIGN, a));
  assert(writer.write(0, b));
  assert(writer.write(15 * DIRECT_ALIGN, c));
  writer.close();
  const expected = new Uint8Array(size);
  expected.set(a, 8 * DIRECT_ALIGN);
  expected.set(b, 0);
  expected.set(c, 15 * DIRECT_ALIGN);
  assertEquals(await Deno.readFile(t.path), expected);
});

Deno.test("DirectWriter declines what cannot go direct and leaves the file untouched", async () => {
  await using dir = await tempDir();
  const t = await target(dir.path, 16 * DIRECT_ALIGN);
  const writer = DirectWriter.open(t);
  if (!writer) return;
  const cases: [number, Uint8Array][] = [
    [100, bytes(DIRECT_ALIGN, 1)], // offset not aligned
    [0, bytes(DIRECT_ALIGN - 1, 2)], // length not aligned (a short last piece)
    [0, bytes(8 * DIRECT_ALIGN, 3)], // larger than its staging buffer
  ];
  for (const [offset, data] of cases) {
    assertEquals(writer.write(offset, data), false, `offset ${offset}`);
  }
  writer.close();
  assertEquals(writer.write(0, bytes(DIRECT_ALIGN, 4)), false, "closed");
  assertEquals(await Deno.readFile(t.path), new Uint8Array(16 * DIRECT_ALIGN));
});

Deno.test("DirectWriter refuses a path that is no longer the caller's file", async () => {
  await using dir = await tempDir();
  const t = await target(dir.path, DIRECT_ALIGN);
  // Replaced after the caller opened it.
  await Deno.writeFile(`${t.path}.new`, new Uint8Array(DIRECT_ALIGN));
  await Deno.rename(`${t.path}.new`, t.path);
  const replacement = await Deno.stat(t.path);
  assert(replacement.ino !== t.ino, "the replacement has the same inode");
  assertEquals(DirectWriter.open(t), undefined);
  assertEquals(await Deno.readFile(t.path), new Uint8Array(DIRECT_ALIGN));
});
