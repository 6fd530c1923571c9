/**
 * Turns of requests by address group: answered at once while quiet; past
 * the budget, one per group in turn, every one served, and all let go on
 * close.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { FairTurns } from "../../lib/tracker/_fair_turns.ts";

/** Busy-waits `ms`: a request's synchronous work. */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Spinning on purpose.
  }
}

/** One request of `group`: waits its turn, works `ms`, notes its name. */
async function request(
  turns: FairTurns,
  group: string,
  name: string,
  ms: number,
  order: string[],
): Promise<void> {
  const turn = turns.take(group);
  if (turn) await turn;
  try {
    work(ms);
    order.push(name);
  } finally {
    turns.done();
  }
}

Deno.test("FairTurns lets a request go at once while nobody waits", async () => {
  // A slice long enough that a loaded machine cannot end it between the two.
  const turns = new FairTurns(60_000);
  try {
    assertEquals(turns.take("a"), undefined);
    turns.done();
    assertEquals(turns.take("b"), undefined);
    turns.done();
  } finally {
    turns.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
});

Deno.test("FairTurns serves a group with one request within a round of a burst from another, and serves the whole burst", async () => {
  const turns = new FairTurns(2);
  const order: string[] = [];
  try {
    const all = [];
    for (let i = 0; i < 40; i++) {
      all.push(request(turns, "flood", `f${i}`, 0.5, order));
    }
    all.push(request(turns, "honest", "h", 0.5, order));
    await Promise.all(all);
  } finally {
    turns.close();
  }
  assertEquals(order.length, 41);
  const honest = order.indexOf("h");
  // The budget lets the first few go at once; then turns alternate.
  assert(honest < 10, `the honest request went ${honest + 1}th of 41`);
  assertEquals(
    order.filter((name) => name !== "h"),
    Array.from({ length: 40 }, (_, i) => `f${i}`),
  );
});

Deno.test("FairTurns lets every waiting request go when closed", async () => {
  const turns = new FairTurns(0);
  const order: string[] = [];
  assertEquals(turns.take("a"), undefined);
  const waiting = [
    request(turns, "b", "b", 0, order),
    request(turns, "c", "c", 0, order),
  ];
  turns.close();
  turns.done();
  await Promise.all(waiting);
  assertEquals(order.sort(), ["b", "c"]);
});
