import { assertEquals } from "../assert.ts";
import {
  localAddresses,
  MAX_LOCAL_ADDRESSES,
} from "../../lib/net/local_addresses.ts";

/** Interfaces with these addresses (IPv6 when they hold a colon). */
function interfaces(...addresses: string[]) {
  return () =>
    addresses.map((address) => ({
      family: address.includes(":") ? "IPv6" as const : "IPv4" as const,
      name: "eth0",
      address,
      netmask: "",
      scopeid: null,
      cidr: "",
      mac: "",
    }));
}

Deno.test("localAddresses() names the addresses others may reach, leaving out loopback and link-local", () => {
  const all = interfaces(
    "127.0.0.1",
    "192.168.1.20",
    "169.254.3.4",
    "::1",
    "fe80::1",
    "2001:db8::5",
    "192.168.1.20",
  );
  assertEquals(localAddresses("0.0.0.0", { interfaces: all }), [
    "192.168.1.20",
  ]);
  assertEquals(localAddresses("::", { interfaces: all }), [
    "192.168.1.20",
    "2001:db8::5",
  ]);
});

Deno.test("localAddresses() names none for a host that is not every address, and at most MAX_LOCAL_ADDRESSES", () => {
  const many = interfaces(
    ...Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}`),
  );
  assertEquals(localAddresses("127.0.0.1", { interfaces: many }), []);
  assertEquals(localAddresses("10.0.0.1", { interfaces: many }), []);
  assertEquals(
    localAddresses("0.0.0.0", { interfaces: many }).length,
    MAX_LOCAL_ADDRESSES,
  );
});
