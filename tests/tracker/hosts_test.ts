/**
 * The tracker's interned hosts: one number per host while it holds
 * something, counters per host, numbers reused once a host is forgotten.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";
import { HostTable } from "../../lib/tracker/hosts.ts";

Deno.test("HostTable numbers each host once and forgets it with its last registration", () => {
  const hosts = new HostTable();
  const a = hosts.intern("10.0.0.1");
  const b = hosts.intern("fe80::1");
  assertEquals(hosts.intern("10.0.0.1"), a);
  assertEquals([hosts.find("10.0.0.1"), hosts.find("10.0.0.9")], [a, -1]);
  hosts.add(a, 2, 64);
  hosts.add(b, 1, 32);
  assertEquals([hosts.registrations(a), hosts.hashBytes(a)], [2, 64]);
  assertEquals([hosts.registrations(-1), hosts.hashBytes(-1)], [0, 0]);
  hosts.add(a, -1, 0);
  assertEquals(hosts.name(a), "10.0.0.1");
  hosts.add(a, -1, -64);
  assertEquals([hosts.find("10.0.0.1"), hosts.size], [-1, 1]);
  // The freed number goes to the next new host, with clean counters.
  const c = hosts.intern("10.0.0.3");
  assertEquals([c, hosts.registrations(c), hosts.name(c)], [a, 0, "10.0.0.3"]);
});

Deno.test("HostTable holds 100,000 hosts", () => {
  const hosts = new HostTable();
  for (let i = 0; i < 100_000; i++) {
    hosts.add(hosts.intern(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`), 1, 0);
  }
  assertEquals(hosts.size, 100_000);
  assertEquals(hosts.name(hosts.find("10.1.134.159")), "10.1.134.159");
});
