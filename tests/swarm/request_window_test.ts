import { assert, assertEquals } from "../assert.ts";
import {
  MAX_REQUESTS_IN_FLIGHT,
  REQUESTS_IN_FLIGHT,
} from "../../lib/protocol/limits.ts";
import {
  RATE_SAMPLE_MS,
  RequestWindow,
} from "../../lib/swarm/request_window.ts";

const KIB = 1024;
const PIECE = 256 * KIB;

/**
 * A window on a clock of its own, fed `bytesPerSecond` for two samples (a
 * steady rate: the first sample alone still counts as rising).
 */
function measured(
  bytesPerSecond: number,
  rttMs: number,
  pieceBytes?: number,
): RequestWindow {
  let now = 0;
  const window = new RequestWindow({
    pieceSize: PIECE,
    pieceBytes,
    now: () => now,
  });
  window.roundTrip(rttMs);
  window.start();
  for (let sample = 0; sample < 2; sample++) {
    now += RATE_SAMPLE_MS;
    window.received(bytesPerSecond * RATE_SAMPLE_MS / 1000);
  }
  return window;
}

Deno.test("RequestWindow starts at REQUESTS_IN_FLIGHT full pieces and follows the rate and round trip", () => {
  assertEquals(
    new RequestWindow({ pieceSize: PIECE }).size,
    REQUESTS_IN_FLIGHT,
  );
  // Whole pieces: the same with the mean piece length said outright.
  for (const [rate, rtt] of [[1e5, 1], [50e6, 1], [50e6, 50], [2e6, 200]]) {
    assertEquals(
      measured(rate, rtt, PIECE).size,
      measured(rate, rtt).size,
      `${rate} B/s, ${rtt} ms`,
    );
  }
  // Slow: a couple of pieces; fast and long: up to the most.
  assertEquals(measured(100_000, 1).size, 2);
  assertEquals(measured(50e6, 50).size, 8 + Math.ceil(50e6 * 0.1 / PIECE));
  assertEquals(measured(500e6, 100).size, MAX_REQUESTS_IN_FLIGHT);
});

Deno.test("RequestWindow counts bytes, not pieces, when most pieces are short", () => {
  // 4 KiB pieces: REQUESTS_IN_FLIGHT full pieces' worth is far more
  // requests, so the window starts at the most allowed.
  const small = new RequestWindow({ pieceSize: PIECE, pieceBytes: 4 * KIB });
  assertEquals(small.size, MAX_REQUESTS_IN_FLIGHT);
  const capped = new RequestWindow({
    pieceSize: PIECE,
    pieceBytes: 4 * KIB,
    most: () => 20,
  });
  assertEquals(capped.size, 20);
  // Measured at 10 MB/s on a short link: a second of it is 2,442 pieces,
  // more than the most; at 100 KB/s, 25 pieces (and one for the round
  // trip) where whole ones made 2.
  assertEquals(measured(10e6, 1, 4 * KIB).size, MAX_REQUESTS_IN_FLIGHT);
  assertEquals(measured(100_000, 1, 4 * KIB).size, 26);
  assert(measured(100_000, 1, 4 * KIB).size > measured(100_000, 1).size);
});

Deno.test("RequestWindow is not cut while the rate still rises (slow start), and follows it once steady", () => {
  let now = 0;
  const window = new RequestWindow({ pieceSize: PIECE, now: () => now });
  window.roundTrip(100);
  window.start();
  const sample = (bytesPerSecond: number) => {
    now += RATE_SAMPLE_MS;
    window.received(bytesPerSecond * RATE_SAMPLE_MS / 1000);
    return window.size;
  };
  // TCP's slow start: the first quarter second moves little. The window a
  // rate of 400 KB/s makes (2 pieces) would hold the link back while its
  // congestion window grows, so it keeps its start.
  assertEquals(sample(400_000), REQUESTS_IN_FLIGHT);
  // Rising fast: never below what it was, growing with the rate.
  const sizes = [sample(4e6), sample(16e6), sample(30e6)];
  assert(sizes.every((size) => size >= REQUESTS_IN_FLIGHT), `${sizes}`);
  assert(sizes[2] > sizes[0], `${sizes}`);
  // Steady at 30 MB/s over 100 ms: the window the rate makes.
  for (let i = 0; i < 8; i++) sample(30e6);
  assertEquals(window.size, measured(30e6, 100).size);
  // A slow link whose rate stops rising is cut to what it sends.
  const slow = measured(100_000, 100);
  assertEquals(slow.size, 2);
});
