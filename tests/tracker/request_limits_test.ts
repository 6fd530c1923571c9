import { assert, assertEquals } from "../assert.ts";
import { RequestLimits } from "../../lib/tracker/_request_limits.ts";
import { RateLimiter } from "../../lib/tracker/rate_limit.ts";

/** How many of `n` requests of `type` from `host` are allowed at once. */
function allowed(
  limits: RequestLimits,
  type: string,
  host: string,
  n: number,
): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (limits.reserve(type, host, 0) === 0) ok++;
  return ok;
}

Deno.test("reads and writes have buckets of their own, per IPv4 address or IPv6 /64", () => {
  const limits = new RequestLimits({
    queriesPerSecond: 0.001,
    queryBurst: 3,
    writesPerSecond: 0.001,
    writeBurst: 5,
  });
  assertEquals(allowed(limits, "query", "10.0.0.1", 10), 3);
  // Writes are counted apart: a reader out of reads may still renew.
  assertEquals(allowed(limits, "announce", "10.0.0.1", 10), 5);
  assertEquals(allowed(limits, "query", "10.0.0.2", 10), 3);
  // One /64 is one bucket, whatever the rest of the address.
  assertEquals(allowed(limits, "register", "2001:db8:0:1::1", 4), 4);
  assertEquals(allowed(limits, "unregister", "2001:db8:0:1:ffff::2", 4), 1);
  assertEquals(allowed(limits, "register", "2001:db8:0:2::1", 4), 4);
  // Other requests (reach, connect) have limits of their own elsewhere.
  assert(limits.reserve("reach", "10.0.0.1", 0) === 0);
});

Deno.test("a reservation waits for a token not yet earned, one after another, up to the most wait allowed", () => {
  let now = 0;
  const limiter = new RateLimiter({ rate: 10, burst: 2, now: () => now });
  // The burst at once, then each 100 ms after the last.
  assertEquals(limiter.reserve("a", 250), 0);
  assertEquals(limiter.reserve("a", 250), 0);
  assertEquals(limiter.reserve("a", 250), 100);
  assertEquals(limiter.reserve("a", 250), 200);
  // A third would wait 300 ms: refused, and nothing taken.
  assertEquals(limiter.reserve("a", 250), undefined);
  assertEquals(limiter.take("a"), false);
  // Another address has its own bucket.
  assertEquals(limiter.reserve("b", 0), 0);
  // 50 ms on, the next would wait 250 ms: just allowed.
  now = 50;
  assertEquals(limiter.reserve("a", 250), 250);
  // Once the debt is earned back and more, tokens are there again.
  now = 1_000;
  assertEquals(limiter.reserve("a", 0), 0);
  assert(limiter.take("a"));
  assertEquals(limiter.take("a"), false);
  // An infinite rate is no limit, even with the clock standing still.
  const open = new RateLimiter({ rate: Infinity, burst: 1, now: () => 0 });
  for (let i = 0; i < 5; i++) assertEquals(open.reserve("a", 0), 0);
});
