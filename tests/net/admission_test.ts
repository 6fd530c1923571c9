import { assert, assertEquals } from "../assert.ts";
import {
  addressGroup,
  Admission,
  type AdmissionLimits,
  type Ticket,
} from "../../lib/net/_admission.ts";

const LIMITS: AdmissionLimits = {
  maxConnections: 10,
  maxPerAddress: 6,
  maxPendingPerAddress: 3,
  maxPending: 5,
};

/** Admits a connection from `host` and finishes its handshake at once. */
function admit(
  admission: Admission,
  host: string,
  closed: string[] = [],
): Ticket {
  const ticket = admission.enter(host, () => closed.push(host));
  assert(typeof ticket !== "string", `${host} refused: ${ticket}`);
  admission.handshaken(ticket);
  return ticket;
}

Deno.test("an IPv6 address counts in its /64; IPv4 addresses count alone", () => {
  assertEquals(addressGroup("10.0.0.1"), "10.0.0.1");
  assertEquals(addressGroup("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assertEquals(addressGroup("2001:db8:1:2::9"), "2001:db8:1:2::/64");
  assertEquals(addressGroup("2001:DB8:0001:0002:ffff::"), "2001:db8:1:2::/64");
  assertEquals(addressGroup("::1"), "0:0:0:0::/64");
  assertEquals(addressGroup("2001:db8::"), "2001:db8:0:0::/64");
});

Deno.test("one address (or /64) holds at most its cap; others still get in", () => {
  const admission = new Admission(LIMITS);
  for (let i = 0; i < 6; i++) admit(admission, `2001:db8:0:1::${i + 1}`);
  assertEquals(admission.enter("2001:db8:0:1::99", () => {}), "address-full");
  admit(admission, "10.0.0.2");
  assertEquals(admission.open, 7);
});

Deno.test("connections in their handshake are capped per address and in all, and stop counting once through", () => {
  const admission = new Admission(LIMITS);
  const waiting: Ticket[] = [];
  for (let i = 0; i < 3; i++) {
    waiting.push(admission.enter("10.0.0.1", () => {}) as Ticket);
  }
  assertEquals(admission.enter("10.0.0.1", () => {}), "handshakes");
  waiting.push(admission.enter("10.0.0.2", () => {}) as Ticket);
  waiting.push(admission.enter("10.0.0.3", () => {}) as Ticket);
  assertEquals(admission.pending, 5);
  assertEquals(admission.enter("10.0.0.4", () => {}), "handshakes");
  admission.handshaken(waiting[0]);
  admission.leave(waiting[1], true);
  assertEquals(admission.pending, 3);
  assert(typeof admission.enter("10.0.0.1", () => {}) !== "string");
});

Deno.test("a full listener makes room for a newcomer from a lighter address by closing the fullest address's newest connection", () => {
  const admission = new Admission(LIMITS);
  const closed: string[] = [];
  const attacker: Ticket[] = [];
  for (let i = 0; i < 6; i++) {
    attacker.push(admit(admission, "10.6.6.6", closed));
  }
  for (let i = 0; i < 4; i++) admit(admission, "10.0.0.1", closed);
  assertEquals(admission.open, 10);
  // A newcomer: the attacker's newest goes.
  admit(admission, "10.0.0.9", closed);
  assertEquals(closed, ["10.6.6.6"]);
  admission.leave(attacker[5], false);
  // Someone holding as many as the fullest minus one cannot evict.
  const tight = new Admission({ ...LIMITS, maxConnections: 4 });
  admit(tight, "10.0.0.1");
  admit(tight, "10.0.0.1");
  admit(tight, "10.0.0.2");
  admit(tight, "10.0.0.2");
  assertEquals(tight.enter("10.0.0.2", () => {}), "full");
  assertEquals(tight.enter("10.0.0.1", () => {}), "full");
  assert(typeof tight.enter("10.0.0.3", () => {}) !== "string");
});
