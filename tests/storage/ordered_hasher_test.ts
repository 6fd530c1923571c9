import { createHash } from "node:crypto";
import { assertEquals, assertThrows } from "../assert.ts";
import { OrderedHasher } from "../../lib/storage/ordered_hasher.ts";

function pieces(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => new Uint8Array(size).fill(i));
}

function sha256Hex(parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

Deno.test("OrderedHasher gives the file hash whatever order pieces arrive in", () => {
  const data = pieces(10, 100);
  const readBacks: number[] = [];
  const hasher = new OrderedHasher(data.length, {
    readBack: (index) => {
      readBacks.push(index);
      return data[index];
    },
    windowPieces: 3,
  });
  for (const index of [9, 2, 1, 3, 0, 5, 4, 8, 7, 6]) {
    hasher.add(index, data[index]);
  }
  assertEquals(hasher.digestHex(), sha256Hex(data));
  // Pieces beyond the window were read back from "disk", the others were not.
  assertEquals(readBacks.includes(9), true);
  assertEquals(readBacks.includes(1), false);
});

Deno.test("OrderedHasher refuses to give a digest before every piece is in", () => {
  const hasher = new OrderedHasher(2, { readBack: () => new Uint8Array(0) });
  hasher.add(1, new Uint8Array(1));
  assertThrows(() => hasher.digestHex());
});

Deno.test("OrderedHasher releases every piece buffer exactly once", () => {
  const data = pieces(12, 10);
  const released: Uint8Array[] = [];
  const hasher = new OrderedHasher(data.length, {
    readBack: (index) => data[index].slice(),
    windowPieces: 2,
    release: (piece) => released.push(piece),
  });
  const given = data.map((piece) => piece.slice());
  for (const index of [5, 0, 11, 1, 2, 3, 4, 6, 7, 8, 9, 10]) {
    hasher.add(index, given[index]);
  }
  hasher.add(3, data[3].slice());
  assertEquals(hasher.digestHex(), sha256Hex(data));
  for (const piece of given) {
    assertEquals(released.filter((p) => p === piece).length, 1);
  }
});
