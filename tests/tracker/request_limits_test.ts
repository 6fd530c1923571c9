import { assert, assertEquals } from "../assert.ts";
import { RequestLimits } from "../../lib/tracker/_request_limits.ts";

/** How many of `n` requests of `type` from `host` are allowed at once. */
function allowed(
  limits: RequestLimits,
  type: string,
  host: string,
  n: number,
): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (limits.take(type, host)) ok++;
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
  assert(limits.take("reach", "10.0.0.1"));
});
