import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  frame,
  FrameSplitter,
  KIND,
  plaintext,
  RecordCipher,
  REQUEST_PAYLOAD_BYTES,
} from "../../bench/_flood_frames.ts";
import {
  floodRatios,
  formatFloodFloor,
} from "../../bench/flood_floor_report.ts";
import type { FloodFloorRow } from "../../bench/flood_floor.ts";

Deno.test("the flood floor's frames come out whole however the bytes are cut", () => {
  const a = frame(plaintext(KIND.query, REQUEST_PAYLOAD_BYTES, false));
  const b = frame(plaintext(KIND.announce, 7, false));
  const stream = new Uint8Array([...a, ...b, ...a]);
  for (const cut of [1, 3, 4, 5, 127, 128, 200]) {
    const frames = new FrameSplitter();
    const kinds: number[] = [];
    for (let at = 0; at < stream.length; at += cut) {
      frames.push(stream.subarray(at, at + cut));
      for (let p; (p = frames.next()) !== undefined;) kinds.push(p[0]);
    }
    assertEquals(kinds, [KIND.query, KIND.announce, KIND.query], `cut ${cut}`);
    assertEquals(frames.holding, 0);
  }
});

Deno.test("the flood floor refuses a frame longer than its largest payload", () => {
  const frames = new FrameSplitter();
  frames.push(new Uint8Array([0, 1, 0, 0]));
  assertThrows(() => frames.next(), RangeError);
});

Deno.test("the flood floor's records open in order on the other side, and a changed one does not", () => {
  const sender = new RecordCipher();
  const receiver = new RecordCipher();
  const plain = plaintext(KIND.query, REQUEST_PAYLOAD_BYTES, true);
  const first = sender.seal(plain);
  assertEquals(first.length, REQUEST_PAYLOAD_BYTES);
  assertEquals(receiver.open(first), plain);
  const second = sender.seal(plain);
  // Same plaintext, next nonce: other bytes.
  assert(first.some((byte, i) => byte !== second[i]));
  second[0] ^= 1;
  assertThrows(() => receiver.open(second));
});

function row(quietP99: number, floodP99: number, idleP99?: number) {
  const l = (p99: number) => ({ count: 800, p50: p99 / 4, p99, max: p99 });
  return {
    variant: "bare",
    peers: 1_000,
    opened: 1_000,
    failed: 0,
    openMs: 100,
    windowMs: 30_000,
    serverCpu: 0.01,
    serverRssBytes: 1,
    announcesPerSecond: 17,
    crowdQueriesPerSecond: 10,
    probeMs: l(quietP99),
    flood: {
      idle: 2048,
      halfOpen: 512,
      connectionsProbeMs: l(quietP99 * 1.5),
      probeMs: l(floodP99),
      idleServerProbeMs: idleP99 === undefined ? undefined : l(idleP99),
      floodQueriesPerSecond: 2_180,
      floodBusyPerSecond: 0,
      serverCpu: 0.14,
      flooderCpu: 0.13,
      machineCpu: 0.45,
      flooderErrors: {},
    },
  } satisfies FloodFloorRow;
}

Deno.test("the flood floor's ratios are each p99 over the quiet p99", () => {
  const ratios = floodRatios(row(2, 5, 3));
  assertEquals(ratios, {
    connections: 1.5,
    flood: 2.5,
    idleServer: 1.5,
    addedMs: 3,
  });
  assertEquals(floodRatios(row(2, 5))?.idleServer, undefined);
  assertEquals(floodRatios({ ...row(2, 5), flood: undefined }), undefined);
});

Deno.test("the flood floor's report says whether a ratio is past the tracker's 2x", () => {
  const lines = formatFloodFloor({ rows: [row(1, 3, 1.2), row(2, 3)] });
  const said = lines.filter((line) => line.startsWith("- "));
  assertEquals(said.length, 2);
  assert(said[0].includes("3.00× quiet (past"), said[0]);
  assert(said[0].includes("idle server meanwhile 1.20×"), said[0]);
  assert(said[1].includes("1.50× quiet (within"), said[1]);
});
