import { assertEquals, assertThrows } from "../assert.ts";
import {
  DEFAULT_HOST,
  parseAddress,
  parsePort,
} from "../../lib/net/address.ts";

Deno.test("parseAddress() reads every form a user types", () => {
  const cases: [string, { host: string; port: number }][] = [
    ["10.0.0.5:7000", { host: "10.0.0.5", port: 7000 }],
    ["10.0.0.5", { host: "10.0.0.5", port: 5000 }],
    ["tracker.lan", { host: "tracker.lan", port: 5000 }],
    [":6001", { host: DEFAULT_HOST, port: 6001 }],
    ["[::1]:5001", { host: "::1", port: 5001 }],
    ["[::1]", { host: "::1", port: 5000 }],
    ["fe80::1", { host: "fe80::1", port: 5000 }],
    [" localhost:0 ", { host: "localhost", port: 0 }],
  ];
  for (const [text, expected] of cases) {
    assertEquals(parseAddress(text, 5000), expected, text);
  }
});

Deno.test("parseAddress() refuses bad hosts and ports with a TypeError", () => {
  for (
    const text of [
      "",
      "host:",
      "host:99999",
      "host:-1",
      "host:12ab",
      "bad host:5000",
      "[::1",
      "[::1]x",
      "a/b:5000",
    ]
  ) {
    assertThrows(() => parseAddress(text, 5000), TypeError);
  }
});

Deno.test("parsePort() accepts 0 to 65535 only", () => {
  assertEquals(parsePort("0"), 0);
  assertEquals(parsePort("65535"), 65535);
  assertThrows(() => parsePort("65536"), TypeError);
  assertThrows(() => parsePort("1e3"), TypeError);
  assertThrows(() => parsePort(""), TypeError);
});
