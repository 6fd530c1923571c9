/**
 * Batches of pieces in memory (issue #23): `hello` and `welcome` with and
 * without `batch`, `requests` and `pieces` round-tripping through frames
 * split across reads and several to a read, and every bad count, length
 * and index refused before anything is handed on.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { concat } from "../_hostile.ts";
import {
  encodeFrame,
  type Frame,
  FrameReader,
  parseFrameJson,
} from "../../lib/protocol/frame.ts";
import {
  fromFrame,
  type Message,
  toFrame,
} from "../../lib/protocol/messages.ts";
import {
  MAX_BATCH_PIECES,
  MAX_PIECE_SIZE,
  MAX_PIECES,
} from "../../lib/protocol/limits.ts";
import { MAX_PEER_REQUEST_BYTES } from "../../lib/swarm/peer_server.ts";
import { ChunkReader } from "../_chunk_reader.ts";

const ID = "0123456789abcdef".repeat(4);
const encoder = new TextEncoder();

/** A `pieces` of `count` pieces of `length` bytes, each filled with its index. */
function batchOf(count: number, length: number, first = 0): Message {
  const indices = Array.from({ length: count }, (_, i) => first + i);
  const data = new Uint8Array(count * length);
  indices.forEach((index, i) => data.fill(index & 0xff, i * length));
  return {
    type: "pieces",
    indices,
    lengths: indices.map(() => length),
    data,
  };
}

function frameBytes(message: Message): Uint8Array {
  const { header, binary } = toFrame(message);
  return encodeFrame(header, binary);
}

/** Parses `json` the way the frame layer does. */
function parsed(json: string, binary = new Uint8Array(0)): Frame {
  return { header: parseFrameJson(encoder.encode(json)), binary };
}

function refused(frame: Frame, pattern: RegExp): void {
  let caught: unknown;
  try {
    fromFrame(frame);
  } catch (error) {
    caught = error;
  }
  assert(
    caught instanceof TypeError || caught instanceof RangeError,
    `expected TypeError or RangeError, got ${caught}`,
  );
  assert(pattern.test(caught.message), caught.message);
}

async function readAll(chunks: Uint8Array[]): Promise<Message[]> {
  const reader = new FrameReader(new ChunkReader(chunks));
  const messages: Message[] = [];
  for (;;) {
    const frame = await reader.read();
    if (frame === null) return messages;
    messages.push(fromFrame(frame));
  }
}

Deno.test("hello and welcome carry batch when offered and decode without it from older peers", () => {
  const hello: Message = {
    type: "hello",
    version: 1,
    id: ID,
    agent: "p2p/0.11.0",
    batch: MAX_BATCH_PIECES,
  };
  assertEquals(fromFrame(toFrame(hello)), hello);
  const old = parsed(`{"type":"hello","version":1,"id":"${ID}"}`);
  assertEquals(fromFrame(old), { type: "hello", version: 1, id: ID });
  const welcome: Message = { type: "welcome", id: ID, pieces: 3, batch: 16 };
  assertEquals(fromFrame(toFrame(welcome)), welcome);
  const plain = fromFrame(parsed(`{"type":"welcome","id":"${ID}","pieces":3}`));
  assertEquals(plain, { type: "welcome", id: ID, pieces: 3 });
  assert(!("batch" in plain));
});

Deno.test("a batch outside 1..MAX_BATCH_PIECES or not an integer is refused in hello and welcome", () => {
  for (const bad of [0, -1, MAX_BATCH_PIECES + 1, 1.5, "4", null, true]) {
    refused(
      parsed(
        `{"type":"hello","version":1,"id":"${ID}","batch":${
          JSON.stringify(bad)
        }}`,
      ),
      /batch/,
    );
    refused(
      parsed(
        `{"type":"welcome","id":"${ID}","pieces":3,"batch":${
          JSON.stringify(bad)
        }}`,
      ),
      /batch/,
    );
  }
});

Deno.test("requests and pieces round-trip through toFrame and fromFrame", () => {
  const requests: Message = {
    type: "requests",
    indices: [7, 3, MAX_PIECES - 1],
  };
  assertEquals(fromFrame(toFrame(requests)), requests);
  const pieces: Message = {
    type: "pieces",
    indices: [4, 9],
    lengths: [3, 2],
    data: Uint8Array.of(1, 2, 3, 4, 5),
  };
  const frame = toFrame(pieces);
  assertEquals(frame.binary, pieces.data);
  assert(!("data" in frame.header), "the bytes travel as the binary part");
  assertEquals(fromFrame(frame), pieces);
});

Deno.test("pieces and requests decode the same one byte per read, split anywhere, and several to a read", async () => {
  const messages: Message[] = [
    { type: "requests", indices: [0, 1, 2, 3] },
    batchOf(3, 10),
    { type: "have", index: 5 },
    batchOf(MAX_BATCH_PIECES, 4, 100),
    { type: "requests", indices: [MAX_PIECES - 1] },
  ];
  const bytes = concat(...messages.map(frameBytes));
  const oneByte = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  assertEquals(await readAll(oneByte), messages);
  assertEquals(await readAll([bytes]), messages);
  for (const at of [1, 4, 5, 30, 60, bytes.length - 1]) {
    assertEquals(
      await readAll([bytes.subarray(0, at), bytes.subarray(at)]),
      messages,
    );
  }
});

Deno.test("a requests of MAX_BATCH_PIECES of the largest indices fits a peer server's JSON limit", () => {
  const indices = Array.from(
    { length: MAX_BATCH_PIECES },
    (_, i) => MAX_PIECES - 1 - i,
  );
  const bytes = frameBytes({ type: "requests", indices });
  assert(
    bytes.length - 4 <= MAX_PEER_REQUEST_BYTES,
    `${bytes.length - 4} bytes of JSON`,
  );
});

Deno.test("requests naming no piece, more than MAX_BATCH_PIECES, or bad indices is refused", () => {
  const tooMany = Array.from({ length: MAX_BATCH_PIECES + 1 }, (_, i) => i);
  refused(parsed(`{"type":"requests","indices":[]}`), /at least one/);
  refused(
    parsed(`{"type":"requests","indices":${JSON.stringify(tooMany)}}`),
    /more than 64/,
  );
  refused(parsed(`{"type":"requests"}`), /must be a list/);
  refused(parsed(`{"type":"requests","indices":5}`), /must be a list/);
  for (const bad of [-1, MAX_PIECES, 1.5, "1", null, 1e400, [1]]) {
    const json = bad === 1e400 ? "1e400" : JSON.stringify(bad);
    refused(
      parsed(`{"type":"requests","indices":[0,${json}]}`),
      /index/,
    );
  }
  refused(
    parsed(`{"type":"requests","indices":[1],"binary":1}`, Uint8Array.of(1)),
    /must not carry a binary part/,
  );
});

Deno.test("pieces whose lengths do not add up to its bytes, or do not match its indices, are refused", () => {
  const five = Uint8Array.of(1, 2, 3, 4, 5);
  refused(
    parsed(`{"type":"pieces","indices":[1,2],"lengths":[3,3]}`, five),
    /adds up to 6 bytes but carries 5/,
  );
  refused(
    parsed(`{"type":"pieces","indices":[1,2],"lengths":[1,1]}`, five),
    /adds up to 2 bytes but carries 5/,
  );
  refused(
    parsed(`{"type":"pieces","indices":[1,2],"lengths":[5]}`, five),
    /2 pieces but 1 lengths/,
  );
  refused(
    parsed(`{"type":"pieces","indices":[1],"lengths":[5,0]}`, five),
    /length/,
  );
  refused(
    parsed(`{"type":"pieces","indices":[],"lengths":[]}`),
    /at least one/,
  );
  refused(parsed(`{"type":"pieces","indices":[1]}`, five), /must be a list/);
});

Deno.test("pieces with a length of 0, past MAX_PIECE_SIZE or of hostile counts are refused before any piece is taken", () => {
  for (const bad of [0, -5, MAX_PIECE_SIZE + 1, 2 ** 53, 2.5, "5"]) {
    refused(
      parsed(
        `{"type":"pieces","indices":[1],"lengths":[${JSON.stringify(bad)}]}`,
        new Uint8Array(5),
      ),
      /length/,
    );
  }
  const huge = `[${Array(100_000).fill(0).join(",")}]`;
  refused(
    parsed(`{"type":"pieces","indices":${huge},"lengths":[1]}`),
    /more than 64/,
  );
  refused(
    parsed(`{"type":"pieces","indices":[1],"lengths":${huge}}`),
    /more than 64/,
  );
  const many = Array.from({ length: MAX_BATCH_PIECES + 1 }, (_, i) => i);
  refused(
    parsed(
      `{"type":"pieces","indices":${JSON.stringify(many)},"lengths":${
        JSON.stringify(many.map(() => 1))
      }}`,
      new Uint8Array(many.length),
    ),
    /more than 64/,
  );
});

Deno.test("a pieces frame declaring more bytes than its binary limit is refused before they are read", async () => {
  const head = encoder.encode(
    JSON.stringify({
      type: "pieces",
      indices: [0, 1],
      lengths: [600, 600],
      binary: 1200,
    }),
  );
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, head.length);
  let asked = 0;
  const reader = new FrameReader(
    new ChunkReader([prefix, head, new Uint8Array(1200)]),
    {
      binaryLimit: (header) => {
        asked++;
        return header.type === "pieces" ? 1024 : 0;
      },
      binaryBuffer: () => {
        throw new Error("no buffer is asked for past the limit");
      },
    },
  );
  await assertRejects(() => reader.read(), RangeError, "1200");
  assertEquals(asked, 1);
});
