import { assert, assertEquals } from "../assert.ts";
import { within } from "../fixtures.ts";
import { Bitfield } from "../../lib/protocol/bitfield.ts";
import {
  DOUBLE_UP_AFTER_MS,
  MAX_REQUESTERS,
  PICK_WINDOW,
  PieceScheduler,
  RANDOM_FIRST_PIECES,
} from "../../lib/swarm/piece_scheduler.ts";

const none: ReadonlySet<number> = new Set();

/** A seeded generator, so picks are repeatable. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function field(pieces: number, have: number[]): Bitfield {
  const bits = new Bitfield(pieces);
  for (const index of have) bits.set(index);
  return bits;
}

/** Takes `n` picks from a full peer, each held as outstanding. */
function take(scheduler: PieceScheduler, n: number, have?: Bitfield): number[] {
  const mine = new Set<number>();
  for (let i = 0; i < n; i++) {
    const index = scheduler.next(have, mine);
    if (index === undefined) break;
    mine.add(index);
  }
  return [...mine];
}

Deno.test("PieceScheduler never hands out a piece it has or one already asked for, until the endgame", () => {
  const scheduler = new PieceScheduler(100, {
    have: [1, 50],
    random: seeded(1),
  });
  const picks = take(scheduler, 98);
  assertEquals(picks.length, 98);
  assertEquals(new Set(picks).size, 98);
  assert(!picks.includes(1) && !picks.includes(50));
});

Deno.test("PieceScheduler starts with random pieces, then stays near the lowest missing piece", () => {
  const scheduler = new PieceScheduler(10_000, { random: seeded(7) });
  const mine = new Set<number>();
  const first = scheduler.next(undefined, mine)!;
  // Random first: almost surely not among the first pieces of the file.
  assert(first > PICK_WINDOW, `first pick ${first}`);
  for (let i = 0; i < RANDOM_FIRST_PIECES; i++) scheduler.complete(i * 7 + 100);
  const next = take(scheduler, 8);
  for (const index of next) assert(index < 8 + PICK_WINDOW, `pick ${index}`);
});

Deno.test("PieceScheduler, with only whole files connected, never picks a piece PICK_WINDOW or more past the lowest one nobody asks for", () => {
  const count = 2_000;
  const scheduler = new PieceScheduler(count, { random: seeded(3) });
  const random = seeded(11);
  const asked: number[] = [];
  // The same pieces as `asked`, for the scheduler.
  const mine = new Set<number>();
  let farthest = 0;
  while (!scheduler.finished) {
    // Eight requests in flight; a random one of them completes each turn.
    while (asked.length < 8) {
      let lowest = 0;
      while (scheduler.has(lowest) || mine.has(lowest)) lowest++;
      const index = scheduler.next(undefined, mine);
      if (index === undefined) break;
      if (scheduler.completed >= RANDOM_FIRST_PIECES) {
        farthest = Math.max(farthest, index - lowest);
      }
      asked.push(index);
      mine.add(index);
    }
    const done = asked.splice(Math.floor(random() * asked.length), 1)[0];
    mine.delete(done);
    scheduler.complete(done);
  }
  assert(farthest < PICK_WINDOW, `a pick ${farthest} past the lowest`);
  assert(farthest > PICK_WINDOW / 2, `picks stayed within ${farthest}`);
});

Deno.test("PieceScheduler picks among equally rare pieces at random, so two downloads differ", () => {
  const picks = [1, 2].map((seed) => {
    const scheduler = new PieceScheduler(64, {
      random: seeded(seed),
      have: [60, 61, 62, 63],
    });
    return take(scheduler, 4);
  });
  assert(
    picks[0].join() !== picks[1].join(),
    `same picks ${picks[0]} / ${picks[1]}`,
  );
});

Deno.test("PieceScheduler asks a partial peer only for pieces it has, rarest first", () => {
  const pieces = 40;
  const scheduler = new PieceScheduler(pieces, {
    random: seeded(3),
    have: [0, 1, 2, 3],
  });
  // Two partial peers: A has 4..19, B has 10..39. 4..9 are held by A alone.
  const a = field(pieces, Array.from({ length: 16 }, (_, i) => i + 4));
  const b = field(pieces, Array.from({ length: 30 }, (_, i) => i + 10));
  scheduler.addPeer(a);
  scheduler.addPeer(b);
  const fromA = take(scheduler, 6, a).sort((x, y) => x - y);
  assertEquals(fromA, [4, 5, 6, 7, 8, 9]);
  // B's rarest are 20..39 (B alone), not 10..19 (A and B).
  for (const index of take(scheduler, 10, b)) {
    assert(index >= 20, `asked B for ${index}`);
  }
  // Nothing A has is missing and unasked any more except 10..19.
  for (const index of take(scheduler, 10, a)) {
    assert(index >= 10 && index < 20, `asked A for ${index}`);
  }
});

Deno.test("PieceScheduler follows peers that gain pieces and peers that leave", () => {
  const scheduler = new PieceScheduler(8, { have: [0, 1, 2, 3] });
  const partial = field(8, []);
  scheduler.addPeer(partial);
  assertEquals(scheduler.next(partial, none), undefined);
  partial.set(6);
  scheduler.peerHas(6);
  assertEquals(scheduler.next(partial, none), 6);
  scheduler.removePeer(partial);
  // A full peer alone: every missing piece equally rare.
  assertEquals(take(scheduler, 3).sort(), [4, 5, 7]);
  // Then the endgame: all four are asked for once, so one of them again.
  const [again] = take(scheduler, 1);
  assert([4, 5, 6, 7].includes(again), `endgame pick ${again}`);
});

Deno.test("PieceScheduler endgame: an idle connection doubles up on a piece asked elsewhere, at most MAX_REQUESTERS", () => {
  const scheduler = new PieceScheduler(6, { have: [0, 1, 2, 3, 4] });
  const first = new Set<number>([scheduler.next(undefined, none)!]);
  assertEquals([...first], [5]);
  // Another connection gets the same piece; the asker itself never does.
  assertEquals(scheduler.next(undefined, first), undefined);
  const second = new Set<number>();
  assertEquals(scheduler.next(undefined, second), 5);
  assertEquals(MAX_REQUESTERS, 2);
  assertEquals(scheduler.next(undefined, new Set()), undefined);
  // When it arrives, listeners hear which piece completed.
  const heard: (number | undefined)[] = [];
  scheduler.listen((completed) => heard.push(completed));
  scheduler.complete(5);
  assertEquals(heard, [5]);
  assert(scheduler.finished && scheduler.over);
});

Deno.test("PieceScheduler hands a released piece out again and tells listeners", () => {
  const scheduler = new PieceScheduler(2, { have: [0] });
  let calls = 0;
  const stop = scheduler.listen(() => calls++);
  assertEquals(scheduler.next(undefined, none), 1);
  assertEquals(scheduler.next(undefined, new Set([1])), undefined);
  scheduler.release(1);
  assertEquals(calls, 1);
  assertEquals(scheduler.next(undefined, none), 1);
  stop();
  scheduler.release(1);
  assertEquals(calls, 1);
});

Deno.test("PieceScheduler stop ends handing out and tells listeners", () => {
  const scheduler = new PieceScheduler(3);
  let told = false;
  scheduler.listen(() => told = true);
  scheduler.stop();
  assert(told && scheduler.over && !scheduler.finished);
  assertEquals(scheduler.next(undefined, none), undefined);
});

Deno.test("Bitfield reads what it writes and refuses bad lengths and stray bits", () => {
  const bits = new Bitfield(10);
  bits.set(0);
  bits.set(9);
  assertEquals([...bits.toBytes()], [0x80, 0x40]);
  const back = Bitfield.from(bits.toBytes(), 10);
  assert(back.has(0) && back.has(9) && !back.has(5));
  assertEquals(back.count, 2);
  let threw = 0;
  for (const bad of [new Uint8Array(1), new Uint8Array(3)]) {
    try {
      Bitfield.from(bad, 10);
    } catch (error) {
      if (error instanceof RangeError) threw++;
    }
  }
  try {
    Bitfield.from(new Uint8Array([0, 0x20]), 10);
  } catch (error) {
    if (error instanceof RangeError) threw++;
  }
  assertEquals(threw, 3);
  assert(Bitfield.full(10).complete);
});

Deno.test("PieceScheduler doubles up before the real endgame only on pieces asked for a while ago", async () => {
  const pieces = 4;
  const scheduler = new PieceScheduler(pieces, {
    have: [0, 1],
    random: () => 0,
  });
  // Two partial peers have only piece 2; nobody has piece 3, so it stays
  // unasked and this is not the real endgame.
  const a = field(pieces, [2]);
  const b = field(pieces, [2]);
  scheduler.addPeer(a);
  scheduler.addPeer(b);
  assertEquals(scheduler.next(a, none), 2);
  assertEquals(scheduler.next(b, none), undefined);
  await new Promise((resolve) => setTimeout(resolve, DOUBLE_UP_AFTER_MS + 50));
  assertEquals(scheduler.next(b, none), 2);
});

/** A connection of a scheduler test, timed by a clock the test moves. */
class Connection {
  /** Its outstanding pieces: what it passes to `next` as `mine`. */
  readonly mine = new Set<number>();
  constructor(readonly scheduler: PieceScheduler) {}

  /** Asks for up to `n` pieces (patience 200 ms); the pieces it got. */
  ask(n: number, patienceMs = 200): number[] {
    const got: number[] = [];
    for (let i = 0; i < n; i++) {
      const index = this.scheduler.next(undefined, this.mine, patienceMs);
      if (index === undefined) break;
      this.mine.add(index);
      got.push(index);
    }
    return got;
  }

  /** Delivers its oldest outstanding piece, in a peer link's order. */
  deliver(): number {
    const [index] = this.mine;
    this.mine.delete(index);
    this.scheduler.complete(index);
    this.scheduler.release(index);
    return index;
  }
}

/** A scheduler of `count` pieces with its clock in `clock.ms`. */
function clocked(count: number) {
  const clock = { ms: 0 };
  const scheduler = new PieceScheduler(count, {
    random: seeded(5),
    now: () => clock.ms,
  });
  return { clock, scheduler };
}

Deno.test("PieceScheduler endgame: a piece waiting its turn at a peer as fast as the asker is not asked of it too, until that peer stalls", () => {
  const { clock, scheduler } = clocked(8);
  const a = new Connection(scheduler);
  const b = new Connection(scheduler);
  assertEquals(a.ask(4).length, 4);
  assertEquals(b.ask(4).length, 4);
  // Both deliver a piece every 200 ms; a is done first.
  for (let turn = 1; turn <= 3; turn++) {
    clock.ms = turn * 200;
    a.deliver();
    b.deliver();
  }
  clock.ms = 800;
  a.deliver();
  const [last] = b.mine;
  assertEquals(a.ask(1), [], "doubled a piece about to arrive");
  clock.ms = 950;
  assertEquals(a.ask(1), [], "doubled a piece at most a little late");
  // b has now gone well over twice a's pace without a piece.
  clock.ms = 1_300;
  assertEquals(a.ask(1), [last]);
});

Deno.test("PieceScheduler endgame: a peer much slower than the others has the pieces it would send last asked of an idle one too, the latest asked first", () => {
  const { clock, scheduler } = clocked(12);
  const fast = new Connection(scheduler);
  const slow = new Connection(scheduler);
  fast.ask(8);
  const queued = slow.ask(4);
  for (let turn = 1; turn <= 8; turn++) {
    clock.ms = turn * 100;
    fast.deliver();
  }
  // The slow peer's first piece took 800 ms; three wait behind it there.
  slow.deliver();
  assertEquals(fast.ask(4), [], "doubled the pieces of a peer that just sent");
  // 400 ms without a piece: over 1.5 times what a piece takes on average.
  // The one it sends next would come about as soon from it as from the
  // fast one behind two more.
  clock.ms = 1_200;
  assertEquals(fast.ask(4), queued.slice(2).reverse());
});

Deno.test("PieceScheduler wakes its listeners when a piece becomes worth asking of a second peer, with nothing else happening", async () => {
  const scheduler = new PieceScheduler(2, { have: [0] });
  const stalled = new Connection(scheduler);
  const idle = new Connection(scheduler);
  assertEquals(stalled.ask(1, 1), [1]);
  assertEquals(idle.ask(1, 1), []);
  const woken = Promise.withResolvers<void>();
  const stop = scheduler.listen(() => woken.resolve());
  try {
    // Asked again, it is not worth it yet either: the wake-up is set.
    assertEquals(idle.ask(1, 1), []);
    await within(woken.promise, DOUBLE_UP_AFTER_MS + 1_000, "the wake-up");
    assertEquals(idle.ask(1, 1), [1]);
  } finally {
    stop();
  }
});

Deno.test("PieceScheduler sets its wake-up timer for a whole number of ms no shorter than the wait, so it never wakes before the piece is worth doubling", () => {
  // A timer given a fractional delay can fire up to ~0.7 ms before it
  // (measured: 8 of 300), when a second ask would still find it too soon.
  const clock = { ms: 0 };
  const scheduler = new PieceScheduler(2, {
    have: [0],
    now: () => clock.ms,
  });
  const stalled = new Connection(scheduler);
  const idle = new Connection(scheduler);
  assertEquals(stalled.ask(1, 1), [1]);
  const delays: number[] = [];
  const setTimer = globalThis.setTimeout;
  globalThis.setTimeout = ((handler: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return setTimer(handler, ms);
  }) as typeof setTimeout;
  const stop = scheduler.listen(() => {});
  try {
    clock.ms = 10.3;
    assertEquals(idle.ask(1, 1), []);
  } finally {
    globalThis.setTimeout = setTimer;
    stop();
  }
  const wait = DOUBLE_UP_AFTER_MS - 10.3;
  assertEquals(delays.length, 1);
  assert(
    Number.isInteger(delays[0]) && delays[0] >= wait,
    `the wake-up timer was set for ${delays[0]} ms, the wait is ${wait} ms`,
  );
});
