import { assert, assertEquals, assertThrows } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import { DIRECT_ALIGN, DirectFile } from "../../lib/storage/direct_file.ts";

/** A file of `size` zero bytes in `dir`, and what DirectFile.open needs. */
async function target(dir: string, size: number) {
  const path = `${dir}/f.part`;
  await Deno.writeFile(path, new Uint8Array(size));
  const { dev, ino } = await Deno.stat(path);
  return { path, dev, ino, maxBytes: 4 * DIRECT_ALIGN };
}

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

Deno.test("DirectFile writes and reads aligned pieces at their offsets, past the page cache on Linux", async () => {
  await using dir = await tempDir();
  const size = 16 * DIRECT_ALIGN;
  const t = await target(dir.path, size);
  const writer = DirectFile.open(t);
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
  // Pieces next to each other, in one write.
  const d = bytes(DIRECT_ALIGN, 4);
  const e = bytes(2 * DIRECT_ALIGN, 5);
  assert(writer.write(12 * DIRECT_ALIGN, [d, e]));
  const expected = new Uint8Array(size);
  expected.set(a, 8 * DIRECT_ALIGN);
  expected.set(b, 0);
  expected.set(c, 15 * DIRECT_ALIGN);
  expected.set(d, 12 * DIRECT_ALIGN);
  expected.set(e, 13 * DIRECT_ALIGN);
  // Read back direct, and the usual way.
  assertEquals(writer.read(8 * DIRECT_ALIGN, a.length), a);
  assertEquals(writer.read(0, 2 * DIRECT_ALIGN), expected.slice(0, 8192));
  assertThrows(() => writer.read(15 * DIRECT_ALIGN, 2 * DIRECT_ALIGN));
  writer.close();
  assertEquals(await Deno.readFile(t.path), expected);
});

Deno.test("DirectFile declines what cannot go direct and leaves the file untouched", async () => {
  await using dir = await tempDir();
  const t = await target(dir.path, 16 * DIRECT_ALIGN);
  const writer = DirectFile.open(t);
  if (!writer) return;
  const cases: [number, Uint8Array][] = [
    [100, bytes(DIRECT_ALIGN, 1)], // offset not aligned
    [0, bytes(DIRECT_ALIGN - 1, 2)], // length not aligned (a short last piece)
    [0, bytes(8 * DIRECT_ALIGN, 3)], // larger than its staging buffer
  ];
  for (const [offset, data] of cases) {
    assertEquals(writer.write(offset, data), false, `offset ${offset}`);
    assertEquals(writer.read(offset, data.length), undefined);
  }
  // Pieces that together are larger than its staging buffer.
  assertEquals(
    writer.write(0, [bytes(4 * DIRECT_ALIGN, 5), bytes(4 * DIRECT_ALIGN, 6)]),
    false,
  );
  writer.close();
  assertEquals(writer.write(0, bytes(DIRECT_ALIGN, 4)), false, "closed");
  assertEquals(writer.read(0, DIRECT_ALIGN), undefined, "closed");
  assertEquals(await Deno.readFile(t.path), new Uint8Array(16 * DIRECT_ALIGN));
});

Deno.test("DirectFile refuses a path that is no longer the caller's file", async () => {
  await using dir = await tempDir();
  const t = await target(dir.path, DIRECT_ALIGN);
  // Replaced after the caller opened it.
  await Deno.writeFile(`${t.path}.new`, new Uint8Array(DIRECT_ALIGN));
  await Deno.rename(`${t.path}.new`, t.path);
  const replacement = await Deno.stat(t.path);
  assert(replacement.ino !== t.ino, "the replacement has the same inode");
  assertEquals(DirectFile.open(t), undefined);
  assertEquals(await Deno.readFile(t.path), new Uint8Array(DIRECT_ALIGN));
});
