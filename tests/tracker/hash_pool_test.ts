/**
 * The tracker's piece-hash store: small lists packed in one buffer, large
 * ones apart, views that never change, and the buffer shrinking once most
 * of it is freed.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { HashPool, POOLED_HASH_BYTES } from "../../lib/tracker/hash_pool.ts";

function list(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

Deno.test("HashPool gives back what was stored, small and large, and compares it", () => {
  const pool = new HashPool();
  const small = list(64, 1);
  const large = list(POOLED_HASH_BYTES + 32, 2);
  pool.store(0, small);
  pool.store(5_000, large);
  pool.store(1, new Uint8Array(0));
  small.fill(9); // The pool keeps a copy.
  assertEquals(pool.get(0), list(64, 1));
  assertEquals(pool.get(5_000), list(POOLED_HASH_BYTES + 32, 2));
  assertEquals([pool.length(0), pool.length(1)], [64, 0]);
  assert(pool.equals(0, list(64, 1)));
  assert(!pool.equals(0, list(64, 3)));
  assert(!pool.equals(0, list(32, 1)));
  assert(pool.equals(5_000, list(POOLED_HASH_BYTES + 32, 2)));
});

Deno.test("HashPool views stay unchanged while lists are freed, stored and compacted", () => {
  const pool = new HashPool();
  for (let h = 0; h < 20_000; h++) pool.store(h, list(32, h & 255));
  const grownTo = pool.pooledCapacity;
  const view = pool.get(12_345);
  for (let h = 0; h < 20_000; h++) if (h % 100 !== 0) pool.free(h);
  for (let h = 0; h < 20_000; h += 100) pool.store(h + 1, list(32, 7));
  assertEquals(view, list(32, 12_345 & 255));
  for (let h = 0; h < 20_000; h += 100) {
    assertEquals(pool.get(h), list(32, h & 255));
    assertEquals(pool.get(h + 1), list(32, 7));
  }
  assert(
    pool.pooledCapacity < grownTo / 4,
    `${pool.pooledCapacity} of ${grownTo}`,
  );
});
