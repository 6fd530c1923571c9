import { assert, assertEquals } from "./assert.ts";
import { PieceScheduler } from "../lib/piece_scheduler.ts";

Deno.test("PieceScheduler hands out pieces lowest first, skipping those it has", () => {
  const scheduler = new PieceScheduler(5, [1]);
  assertEquals([scheduler.next(), scheduler.next(), scheduler.next()], [
    0,
    2,
    3,
  ]);
});

Deno.test("PieceScheduler hands a released piece out again before new ones", () => {
  const scheduler = new PieceScheduler(4);
  scheduler.next();
  scheduler.next();
  scheduler.release(1);
  scheduler.release(0);
  assertEquals([scheduler.next(), scheduler.next(), scheduler.next()], [
    0,
    1,
    2,
  ]);
});

Deno.test("PieceScheduler wakes waiters on release and when finished", async () => {
  const scheduler = new PieceScheduler(1);
  const index = scheduler.next()!;
  assertEquals(scheduler.next(), undefined);
  const waiting = scheduler.waitForWork();
  scheduler.release(index);
  await waiting;
  assertEquals(scheduler.next(), 0);
  const done = scheduler.waitForWork();
  scheduler.complete(0);
  await done;
  assert(scheduler.finished && scheduler.over);
});

Deno.test("PieceScheduler stops handing out pieces once stopped", async () => {
  const scheduler = new PieceScheduler(3);
  const waiting = scheduler.waitForWork();
  scheduler.stop();
  await waiting;
  assertEquals(scheduler.next(), undefined);
  assert(scheduler.over && !scheduler.finished);
});

Deno.test("PieceScheduler of an empty file is finished at once", () => {
  assert(new PieceScheduler(0).finished);
});
