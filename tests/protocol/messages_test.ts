/**
 * Protocol messages: every type round-trips, and bad fields are refused with
 * `TypeError` or `RangeError`.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import {
  encodeFrame,
  type Frame,
  FrameReader,
  parseFrameJson,
} from "../../lib/protocol/frame.ts";
import {
  type FileMeta,
  fromFrame,
  isFullId,
  isIdPrefix,
  type Message,
  pieceCount,
  pieceLength,
  toFrame,
} from "../../lib/protocol/messages.ts";
import {
  HASH_BYTES,
  MAX_AGENT_CHARS,
  MAX_BINARY_BYTES,
  MAX_FILES_PER_ANSWER,
  MAX_IDS_PER_ANNOUNCE,
  MAX_PEER_ENTRIES_READ,
  MAX_PEERS_PER_ANSWER,
  MAX_PIECE_SIZE,
  MAX_PIECES,
  MAX_SEALED_BLOB_BYTES,
  MAX_SEARCH_CHARS,
  MIN_PIECE_SIZE,
  MIN_SEALED_BLOB_BYTES,
  SEALED_BLOB_OVERHEAD_BYTES,
} from "../../lib/protocol/limits.ts";
import { MAX_AMBIGUOUS_CANDIDATES } from "../../lib/protocol/messages.ts";
import {
  encodeSealedMeta,
  SEALED_META_LENGTH_BYTES,
} from "../../lib/protocol/sealed_meta.ts";
import {
  deriveShareKeys,
  SEALED_OVERHEAD_BYTES,
  sealMetadata,
} from "../../lib/secure/share_keys.ts";

const ID = "0123456789abcdef".repeat(4);
const ID2 = "f".repeat(64);
const encoder = new TextEncoder();

function hashes(pieces: number): Uint8Array {
  return Uint8Array.from(
    { length: pieces * HASH_BYTES },
    (_, i) => (i * 7) & 0xff,
  );
}

const META: FileMeta = {
  id: ID,
  name: "holiday photos é 😀.zip",
  size: 2 * MIN_PIECE_SIZE + 5,
  pieceSize: MIN_PIECE_SIZE,
  pieceHashes: hashes(3),
};

const KEYS = deriveShareKeys(new Uint8Array(32).fill(9));
/** A private file's lookup key (64 hex chars, like an ID). */
const LOOKUP = KEYS.lookupKey;
/** META, sealed as a private share's sharer sends it to the tracker. */
const BLOB = sealMetadata(KEYS.metadataKey, encodeSealedMeta(META));

/** A relay token: 16 bytes in hex. */
const TOKEN = "0123456789abcdef".repeat(2);

/** One or more examples of every message type. */
const SAMPLES: Message[] = [
  { type: "error", code: "not-found", message: "No file has that ID" },
  { type: "error", code: "bad-request", message: "", index: 4 },
  { type: "error", code: "ambiguous", message: "x" },
  {
    type: "error",
    code: "ambiguous",
    message: "x",
    candidates: [
      { id: ID, name: "b.bin", size: 300_000, peers: 2, partial: 1 },
      { id: ID.slice(0, 16) + "0".repeat(48), name: "d", size: 9, peers: 1 },
    ],
    more: 3,
  },
  { type: "error", code: "conflict", message: "x" },
  { type: "error", code: "not-shared", message: "x" },
  { type: "error", code: "busy", message: "x" },
  { type: "ok" },
  { type: "register", meta: META, port: 6000 },
  { type: "register", meta: META, port: 6000, partial: true },
  {
    type: "register",
    meta: { ...META, size: 0, pieceHashes: new Uint8Array(0) },
    port: 1,
  },
  { type: "announce", ids: [ID, ID2], port: 65535 },
  { type: "announce", ids: [], port: 6000 },
  { type: "announced", unknown: [ID2] },
  { type: "unregister", id: ID, port: 6000 },
  { type: "unregister", id: LOOKUP, port: 6000 },
  { type: "register-sealed", lookup: LOOKUP, blob: BLOB, port: 6000 },
  {
    type: "register-sealed",
    lookup: LOOKUP,
    blob: BLOB,
    port: 1,
    partial: true,
  },
  { type: "query-sealed", lookup: LOOKUP },
  {
    type: "sealed",
    lookup: LOOKUP,
    blob: BLOB,
    peers: [{ host: "127.0.0.1", port: 6000 }, { host: "::1", port: 6001 }],
    partial: 1,
  },
  { type: "sealed", lookup: LOOKUP, blob: BLOB, peers: [] },
  {
    type: "sealed",
    lookup: LOOKUP,
    blob: BLOB,
    peers: [],
    observed: "2001:db8::1",
  },
  { type: "query", id: ID.slice(0, 16) },
  { type: "query", id: ID },
  { type: "query", id: ID, variant: 3 },
  {
    type: "file",
    meta: META,
    peers: [{ host: "127.0.0.1", port: 6000 }, { host: "::1", port: 6001 }],
  },
  { type: "file", meta: META, peers: [], variant: 1, variants: 4 },
  {
    type: "file",
    meta: META,
    peers: [
      { host: "10.0.0.9", port: 6000, reachable: false },
      { host: "10.0.0.10", port: 41000, mapped: true },
    ],
    observed: "203.0.113.7",
  },
  { type: "list" },
  { type: "search", text: "holiday" },
  { type: "search", text: "" },
  {
    type: "files",
    files: [{ id: ID, name: "a b.txt", size: 0, peers: 2 }],
  },
  {
    type: "files",
    files: [
      { id: ID, name: "a", size: 1, peers: 5, partial: 3 },
      { id: ID2, name: "b", size: 2, peers: 1, partial: 0 },
    ],
  },
  { type: "stats" },
  {
    type: "stats-reply",
    stats: {
      files: 1,
      peers: 2,
      registrations: 3,
      requests: 4,
      uptimeMs: 5,
    },
  },
  {
    type: "stats-reply",
    stats: {
      files: 1,
      peers: 2,
      registrations: 3,
      requests: 4,
      uptimeMs: 5,
      privateFiles: 6,
    },
  },
  { type: "reach", port: 6000 },
  { type: "reach", port: 40123, mapped: true },
  { type: "reached", host: "203.0.113.7", port: 40123, reachable: false },
  { type: "reached", host: "::1", port: 0, reachable: true, relay: 5001 },
  { type: "connect", host: "203.0.113.7", port: 6000 },
  {
    type: "connect",
    host: "203.0.113.7",
    port: 6000,
    punch: 40001,
    local: 51234,
  },
  { type: "connecting", token: TOKEN, relay: 5001 },
  { type: "connecting", token: TOKEN, relay: 5001, punch: 40002 },
  { type: "incoming", token: TOKEN, host: "198.51.100.4", relay: 5001 },
  {
    type: "incoming",
    token: TOKEN,
    host: "198.51.100.4",
    relay: 5001,
    punch: 40001,
  },
  { type: "punch", token: TOKEN, port: 40002 },
  { type: "punch", token: TOKEN },
  { type: "hello", version: 1, id: ID },
  { type: "hello", version: 1, id: ID, port: 6001 },
  { type: "hello", version: 2, id: ID, agent: "p2p/0.10.0" },
  { type: "welcome", id: ID, pieces: 3 },
  { type: "welcome", id: ID, pieces: MAX_PIECES },
  { type: "welcome", id: ID, pieces: 10, have: Uint8Array.from([0x80, 0x40]) },
  { type: "welcome", id: ID, pieces: 3, node: "0123456789abcdef" },
  { type: "request", index: 0 },
  { type: "request", index: MAX_PIECES - 1 },
  { type: "have", index: 7 },
  { type: "cancel", index: MAX_PIECES - 1 },
  { type: "choke" },
  { type: "unchoke" },
  { type: "piece", index: 2, data: Uint8Array.from([1, 2, 3, 4, 5]) },
  { type: "piece", index: 0, data: new Uint8Array(0) },
];

/** Types whose frames carry a binary part. */
const WITH_BINARY = new Set([
  "register",
  "file",
  "piece",
  "welcome",
  "register-sealed",
  "sealed",
]);

/** Header fields that decoding may go without, by message type. */
const OPTIONAL: Record<string, string[]> = {
  reached: ["relay"],
  reach: ["mapped"],
  connect: ["punch", "local"],
  connecting: ["punch"],
  incoming: ["punch"],
  punch: ["port"],
  error: ["index", "candidates", "more"],
  register: ["partial"],
  query: ["variant"],
  file: ["variant", "variants", "observed"],
  hello: ["port", "agent"],
  "register-sealed": ["partial"],
  sealed: ["partial", "observed"],
  "stats-reply": ["privateFiles"],
  welcome: ["node"],
};

/** Fields that are true or false, by message type. */
const BOOLEAN_FIELDS: Record<string, string[]> = {
  reached: ["reachable"],
  reach: ["mapped"],
  register: ["partial"],
  "register-sealed": ["partial"],
};

/** Integer fields of each type's header (nested lists handled apart). */
const INTEGER_FIELDS: Record<string, string[]> = {
  error: ["index"],
  register: ["size", "pieceSize", "port"],
  announce: ["port"],
  unregister: ["port"],
  file: ["size", "pieceSize"],
  "register-sealed": ["port"],
  sealed: ["partial"],
  "stats-reply": [
    "files",
    "peers",
    "registrations",
    "requests",
    "uptimeMs",
    "privateFiles",
  ],
  hello: ["version", "port"],
  reach: ["port"],
  reached: ["port", "relay"],
  connect: ["port", "punch", "local"],
  connecting: ["relay", "punch"],
  incoming: ["relay", "punch"],
  punch: ["port"],
  welcome: ["pieces"],
  request: ["index"],
  piece: ["index"],
  have: ["index"],
  cancel: ["index"],
};

function sample(type: string): Message {
  const found = SAMPLES.find((m) => m.type === type);
  assert(found, `no sample of ${type}`);
  return found;
}

/** A frame for `type` whose header fields are replaced by `fields`. */
function frameOf(type: string, fields: Record<string, unknown> = {}): Frame {
  const { header, binary } = toFrame(sample(type));
  return { header: { ...header, ...fields }, binary };
}

/** Parses `json` the way the frame layer does, so 1e400 is really Infinity. */
function parsed(json: string, binary = new Uint8Array(0)): Frame {
  return { header: parseFrameJson(encoder.encode(json)), binary };
}

function assertRefused(frame: Frame, what: string): Error {
  let error: unknown;
  try {
    const message = fromFrame(frame);
    error = new Error(`accepted ${what}: ${JSON.stringify(message)}`);
  } catch (caught) {
    if (caught instanceof TypeError || caught instanceof RangeError) {
      return caught;
    }
    error = new Error(
      `${what}: expected TypeError or RangeError, got ${caught}`,
    );
  }
  throw error;
}

/** Wrong values for an integer field: every one must be refused. */
const BAD_INTEGERS: unknown[] = [
  -1,
  1.5,
  "7",
  2 ** 53,
  2 ** 53 + 2,
  Infinity,
  -Infinity,
  NaN,
  null,
  true,
  [],
  {},
  [7],
];

Deno.test("every message type round-trips through toFrame and fromFrame", () => {
  const types = new Set<string>();
  for (const message of SAMPLES) {
    types.add(message.type);
    assertEquals(fromFrame(toFrame(message)), message, message.type);
  }
  assertEquals(types.size, 30, "all 30 message types have a sample");
});

Deno.test("every message type round-trips through encodeFrame and FrameReader", async () => {
  const bytes = SAMPLES.map((message) => {
    const { header, binary } = toFrame(message);
    return encodeFrame(header, binary);
  });
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    all.set(b, at);
    at += b.length;
  }
  let offset = 0;
  const reader = new FrameReader({
    read(p) {
      if (offset >= all.length) return Promise.resolve(null);
      // Odd read sizes so frames straddle reads.
      const n = Math.min(p.length, 13, all.length - offset);
      p.set(all.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  });
  for (const message of SAMPLES) {
    const frame = await reader.read();
    assert(frame, `missing frame for ${message.type}`);
    assertEquals(fromFrame(frame), message, message.type);
  }
  assertEquals(await reader.read(), null);
});

Deno.test("messages that carry a binary part put it in the frame, not the JSON", () => {
  const register = toFrame(sample("register"));
  assertEquals(register.binary, META.pieceHashes);
  assertEquals("pieceHashes" in register.header, false);
  const piece = toFrame(sample("piece"));
  assertEquals(piece.binary.length, 5);
  assertEquals("data" in piece.header, false);
});

Deno.test("fromFrame refuses a relay token that is not 32 lowercase hex characters", () => {
  for (
    const token of [
      "",
      "0".repeat(31),
      "0".repeat(33),
      "G".repeat(32),
      "ABCDEF".repeat(6).slice(0, 32),
    ]
  ) {
    assertRefused(frameOf("connecting", { token }), token);
    assertRefused(frameOf("incoming", { token }), token);
  }
});

Deno.test("fromFrame refuses unknown and missing message types", () => {
  for (
    const type of [
      "nope",
      "OK",
      "",
      undefined,
      null,
      7,
      ["ok"],
      { type: "ok" },
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
    ]
  ) {
    assertRefused(
      { header: { type }, binary: new Uint8Array(0) },
      `type ${type}`,
    );
  }
  assertRefused({ header: {}, binary: new Uint8Array(0) }, "no type");
});

Deno.test("fromFrame refuses every message with any required field missing", () => {
  for (const message of SAMPLES) {
    const { header, binary } = toFrame(message);
    for (const key of Object.keys(header)) {
      if (key === "type" || OPTIONAL[message.type]?.includes(key)) continue;
      const { [key]: _, ...rest } = header;
      assertRefused({ header: rest, binary }, `${message.type} without ${key}`);
    }
  }
});

Deno.test("fromFrame refuses null, booleans, objects and lists in place of any field", () => {
  for (const message of SAMPLES) {
    const { header, binary } = toFrame(message);
    for (const key of Object.keys(header)) {
      if (key === "type") continue;
      const boolean = BOOLEAN_FIELDS[message.type]?.includes(key);
      for (const value of [null, boolean ? 1 : true, {}, { length: 1 }]) {
        assertRefused(
          { header: { ...header, [key]: value }, binary },
          `${message.type}.${key} = ${JSON.stringify(value)}`,
        );
      }
    }
  }
});

Deno.test("fromFrame accepts only safe integers in range where integers belong", () => {
  for (const [type, keys] of Object.entries(INTEGER_FIELDS)) {
    for (const key of keys) {
      for (const value of BAD_INTEGERS) {
        assertRefused(
          frameOf(type, { [key]: value }),
          `${type}.${key} = ${value}`,
        );
      }
    }
  }
});

Deno.test("fromFrame refuses 1e400 and 2^53 as they arrive in JSON text", () => {
  const texts = [
    `{"type":"request","index":1e400}`,
    `{"type":"request","index":-1e400}`,
    `{"type":"welcome","id":"${ID}","pieces":1e400}`,
    `{"type":"hello","version":9007199254740993,"id":"${ID}"}`,
    `{"type":"unregister","id":"${ID}","port":1e400}`,
    `{"type":"stats-reply","files":9007199254740992,"peers":0,"registrations":0,"requests":0,"uptimeMs":0}`,
    `{"type":"files","files":[{"id":"${ID}","name":"a","size":1e400,"peers":1}]}`,
    `{"type":"register","id":"${ID}","name":"a","size":1e400,"pieceSize":16384,"port":1}`,
  ];
  for (const json of texts) assertRefused(parsed(json), json);
});

Deno.test("fromFrame refuses integers in nested lists that are not safe and in range", () => {
  for (const value of BAD_INTEGERS) {
    assertRefused(
      frameOf("files", {
        files: [{ id: ID, name: "a", size: value, peers: 1 }],
      }),
      `files[0].size = ${value}`,
    );
    assertRefused(
      frameOf("files", {
        files: [{ id: ID, name: "a", size: 1, peers: value }],
      }),
      `files[0].peers = ${value}`,
    );
  }
});

Deno.test("register.partial must be true or false, and files[].partial a count no larger than peers", () => {
  for (const partial of [1, 0, "true", "yes", []]) {
    assertRefused(
      frameOf("register", { partial }),
      `register.partial = ${JSON.stringify(partial)}`,
    );
  }
  const whole = fromFrame(frameOf("register", { partial: false }));
  assertEquals((whole as { partial?: boolean }).partial, false);
  const entry = { id: ID, name: "a", size: 1, peers: 2 };
  for (const partial of [3, -1, 1.5, "1", null, true]) {
    assertRefused(
      frameOf("files", { files: [{ ...entry, partial }] }),
      `files[0].partial = ${JSON.stringify(partial)}`,
    );
  }
  assertEquals(
    fromFrame(frameOf("files", { files: [{ ...entry, partial: 2 }] })),
    { type: "files", files: [{ ...entry, partial: 2 }] },
  );
});

Deno.test("answers of older trackers still decode: a files entry without partial, a register without it", () => {
  const old = parsed(
    `{"type":"files","files":[{"id":"${ID}","name":"a","size":1,"peers":4}]}`,
  );
  assertEquals(fromFrame(old), {
    type: "files",
    files: [{ id: ID, name: "a", size: 1, peers: 4 }],
  });
  const register = toFrame({ type: "register", meta: META, port: 6000 });
  assertEquals("partial" in register.header, false);
  assertEquals(
    toFrame({ type: "register", meta: META, port: 6000, partial: true })
      .header.partial,
    true,
  );
});

Deno.test('fromFrame refuses ports 0, 65536, -1 and "x" everywhere a port belongs', () => {
  for (const port of [0, 65536, -1, "x", "6000", 1.5, 70000]) {
    for (
      const type of ["register", "announce", "unregister", "register-sealed"]
    ) {
      assertRefused(frameOf(type, { port }), `${type}.port = ${port}`);
    }
    const file = fromFrame(
      frameOf("file", {
        peers: [{ host: "127.0.0.1", port }, { host: "127.0.0.1", port: 7 }],
      }),
    ) as { peers: unknown[] };
    assertEquals(file.peers, [{ host: "127.0.0.1", port: 7 }], `port ${port}`);
  }
  for (const port of [1, 65535]) {
    assertEquals(
      (fromFrame(frameOf("announce", { port })) as { port: number }).port,
      port,
    );
  }
});

Deno.test("fromFrame refuses file IDs of the wrong length, non-hex, uppercase or path-like", () => {
  const bad = [
    "",
    ID.slice(0, 63),
    ID + "0",
    "g".repeat(64),
    ID.toUpperCase(),
    "A" + ID.slice(1),
    "../x",
    "../../" + ID.slice(3),
    ID.slice(0, 63) + "/",
    " " + ID.slice(1),
    ID.slice(0, 63) + "\n",
    "0x" + ID.slice(2),
    "a".repeat(10_000_000),
    64,
  ];
  for (const id of bad) {
    const label = typeof id === "string" ? JSON.stringify(id.slice(0, 70)) : id;
    for (const type of ["unregister", "hello", "welcome", "register", "file"]) {
      assertRefused(frameOf(type, { id }), `${type}.id = ${label}`);
    }
    assertRefused(
      frameOf("announce", { ids: [ID, id] }),
      `announce.ids = ${label}`,
    );
    assertRefused(
      frameOf("announced", { unknown: [id] }),
      `announced.unknown = ${label}`,
    );
    assertRefused(
      frameOf("files", { files: [{ id, name: "a", size: 1, peers: 1 }] }),
      `files[0].id = ${label}`,
    );
    // A 63-char ID is a valid prefix, so query accepts it.
    if (id !== ID.slice(0, 63)) {
      assertRefused(frameOf("query", { id }), `query.id = ${label}`);
    }
  }
});

Deno.test("query accepts an ID prefix of 16 to 64 lowercase hex chars, and nothing shorter", () => {
  for (const length of [16, 17, 40, 64]) {
    assertEquals(fromFrame(frameOf("query", { id: ID.slice(0, length) })), {
      type: "query",
      id: ID.slice(0, length),
    });
  }
  for (
    const id of [
      ID.slice(0, 15),
      ID.slice(0, 16).toUpperCase(),
      "../../" + ID.slice(0, 16),
    ]
  ) {
    assertRefused(frameOf("query", { id }), `query.id = ${id}`);
  }
  assert(isIdPrefix(ID.slice(0, 16)) && !isIdPrefix(ID.slice(0, 15)));
  assert(
    isFullId(ID) && !isFullId(ID.slice(0, 63)) && !isFullId(ID.toUpperCase()),
  );
});

Deno.test("fromFrame refuses a piece hash list of the wrong length", () => {
  const pieces = pieceCount(META.size, META.pieceSize);
  for (const type of ["register", "file"]) {
    for (
      const length of [
        0,
        1,
        pieces * HASH_BYTES - 1,
        pieces * HASH_BYTES + 1,
        (pieces + 1) * HASH_BYTES,
      ]
    ) {
      const frame = frameOf(type);
      assertRefused(
        { ...frame, binary: new Uint8Array(length) },
        `${type} with ${length} hash bytes`,
      );
    }
    assertRefused(
      { ...frameOf(type, { size: 0 }), binary: new Uint8Array(HASH_BYTES) },
      `${type} of an empty file with one hash`,
    );
  }
});

Deno.test("fromFrame refuses piece sizes out of range and files with too many pieces", () => {
  for (const pieceSize of [MIN_PIECE_SIZE - 1, MAX_PIECE_SIZE + 1, 0]) {
    assertRefused(frameOf("register", { pieceSize }), `pieceSize ${pieceSize}`);
  }
  const size = MAX_PIECES * MIN_PIECE_SIZE + 1;
  assertRefused(
    frameOf("register", { size, pieceSize: MIN_PIECE_SIZE }),
    "one piece over MAX_PIECES",
  );
  assertRefused(
    frameOf("register", {
      size: Number.MAX_SAFE_INTEGER,
      pieceSize: MAX_PIECE_SIZE,
    }),
    "a file of 2^53 - 1 bytes",
  );
});

Deno.test("fromFrame refuses names that are empty or over 255 UTF-8 bytes", () => {
  const good = ["a".repeat(255), "é".repeat(127), "😀".repeat(63) + "abc"];
  for (const name of good) {
    assert(encoder.encode(name).length <= 255);
    const message = fromFrame(frameOf("register", { name })) as {
      meta: FileMeta;
    };
    assertEquals(message.meta.name, name);
  }
  const bad = [
    "",
    "a".repeat(256),
    "é".repeat(128),
    "😀".repeat(64),
    "a".repeat(100_000),
  ];
  for (const name of bad) {
    for (const type of ["register", "file"]) {
      assertRefused(
        frameOf(type, { name }),
        `${type}.name of ${name.length} chars`,
      );
    }
    assertRefused(
      frameOf("files", { files: [{ id: ID, name, size: 1, peers: 1 }] }),
      `files[0].name of ${name.length} chars`,
    );
  }
});

Deno.test("fromFrame refuses binary parts on messages that must not carry one", () => {
  for (const message of SAMPLES) {
    if (WITH_BINARY.has(message.type)) continue;
    const { header } = toFrame(message);
    assertRefused(
      { header, binary: new Uint8Array(1) },
      `${message.type} with a binary part`,
    );
  }
});

Deno.test("fromFrame refuses a welcome whose bitfield is not one bit per piece", () => {
  const header = { type: "welcome", id: ID, pieces: 10 };
  for (const length of [1, 3, 100]) {
    assertRefused(
      { header, binary: new Uint8Array(length) },
      `welcome of 10 pieces with a ${length}-byte bitfield`,
    );
  }
});

Deno.test("fromFrame refuses a welcome whose node tag is not 16 lowercase hex characters", () => {
  for (
    const node of [
      "",
      "0123456789abcde",
      "0123456789abcdef0",
      "0123456789ABCDEF",
      "g123456789abcdef",
      7,
    ]
  ) {
    assertRefused(
      frameOf("welcome", { node }),
      `welcome with node ${JSON.stringify(node)}`,
    );
  }
});

Deno.test("fromFrame refuses lists longer than their caps", () => {
  assertRefused(
    frameOf("announce", { ids: Array(MAX_IDS_PER_ANNOUNCE + 1).fill(ID) }),
    "announce over the cap",
  );
  assertRefused(
    frameOf("announced", { unknown: Array(MAX_IDS_PER_ANNOUNCE + 1).fill(ID) }),
    "announced over the cap",
  );
  assertRefused(
    frameOf("file", {
      peers: Array(MAX_PEER_ENTRIES_READ + 1).fill({ host: "h", port: 1 }),
    }),
    "file.peers over what is read",
  );
  assertRefused(
    frameOf("files", {
      files: Array(MAX_FILES_PER_ANSWER + 1).fill({
        id: ID,
        name: "a",
        size: 1,
        peers: 1,
      }),
    }),
    "files over the cap",
  );
  const full = fromFrame(
    frameOf("announce", { ids: Array(MAX_IDS_PER_ANNOUNCE).fill(ID) }),
  );
  assertEquals((full as { ids: string[] }).ids.length, MAX_IDS_PER_ANNOUNCE);
});

Deno.test("file answers are de-duplicated and capped rather than refused", () => {
  const many = Array.from({ length: 10_000 }, (_, i) => ({
    host: "10.0.0.1",
    port: 1 + (i % 5_000),
  }));
  const file = fromFrame(frameOf("file", { peers: many })) as {
    peers: { host: string; port: number }[];
  };
  assertEquals(file.peers.length, MAX_PEERS_PER_ANSWER);
  assertEquals(
    new Set(file.peers.map((p) => p.port)).size,
    MAX_PEERS_PER_ANSWER,
  );
});

Deno.test("fromFrame refuses unknown error codes, long texts and bad peer entries", () => {
  for (const code of ["nope", "", "NOT-FOUND", 404]) {
    assertRefused(frameOf("error", { code }), `error code ${code}`);
  }
  assertRefused(
    frameOf("error", { message: "x".repeat(1001) }),
    "a long error message",
  );
  assertRefused(
    frameOf("search", { text: "x".repeat(MAX_SEARCH_CHARS + 1) }),
    "a long search",
  );
  assertEquals(
    fromFrame(frameOf("search", { text: "x".repeat(MAX_SEARCH_CHARS) })),
    { type: "search", text: "x".repeat(MAX_SEARCH_CHARS) },
  );
  for (
    const peer of [null, "127.0.0.1:6000", [], { host: "", port: 1 }, {
      host: "h".repeat(65),
      port: 1,
    }, { port: 1 }]
  ) {
    const file = fromFrame(frameOf("file", { peers: [peer] }));
    assertEquals(
      (file as { peers: unknown[] }).peers,
      [],
      `peer ${JSON.stringify(peer)} is skipped`,
    );
  }
  for (const index of [MAX_PIECES, -1]) {
    assertRefused(frameOf("request", { index }), `request.index ${index}`);
    assertRefused(frameOf("piece", { index }), `piece.index ${index}`);
  }
  assertRefused(
    frameOf("welcome", { pieces: MAX_PIECES + 1 }),
    "welcome.pieces over MAX_PIECES",
  );
  assertRefused(
    frameOf("hello", { version: 0x10000 }),
    "hello.version over 0xffff",
  );
});

Deno.test("fromFrame reads fields only from the header's own keys, never __proto__", () => {
  const json = `{"type":"hello","__proto__":{"version":1,"id":"${ID}"}}`;
  assertRefused(parsed(json), "hello with its fields under __proto__");
  const ok = fromFrame(
    parsed(
      `{"type":"ok","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}`,
    ),
  );
  assertEquals(ok, { type: "ok" });
  assertEquals(Object.keys(ok), ["type"]);
  assertEquals(({} as { polluted?: unknown }).polluted, undefined);
  const search = fromFrame(
    parsed(`{"type":"search","text":"a","__proto__":{"text":"b"}}`),
  );
  assertEquals(search, { type: "search", text: "a" });
});

Deno.test("an ambiguous error's candidates are files entries, at most MAX_AMBIGUOUS_CANDIDATES; without them it reads as before", () => {
  const file = { id: ID, name: "b.bin", size: 1, peers: 1 };
  const error = (fields: Record<string, unknown>) =>
    frameOf("error", { code: "ambiguous", message: "x", ...fields });
  assertEquals(
    fromFrame(error({ candidates: [file, { ...file, id: ID2 }] })),
    {
      type: "error",
      code: "ambiguous",
      message: "x",
      candidates: [file, { ...file, id: ID2 }],
    },
  );
  // `more` means nothing without candidates.
  assertEquals(fromFrame(error({ more: 4 })), {
    type: "error",
    code: "ambiguous",
    message: "x",
  });
  const most = Array(MAX_AMBIGUOUS_CANDIDATES).fill(file);
  assertEquals(
    (fromFrame(error({ candidates: most })) as { candidates: unknown[] })
      .candidates.length,
    MAX_AMBIGUOUS_CANDIDATES,
  );
  assertRefused(error({ candidates: [...most, file] }), "over the cap");
  assertRefused(error({ candidates: [{ ...file, id: "x" }] }), "a bad ID");
  assertRefused(error({ candidates: [file], more: -1 }), "a negative more");
});

Deno.test("fromFrame ignores extra fields and keeps only the message's own", () => {
  assertEquals(
    fromFrame(frameOf("request", { index: 1, extra: "x", binary: 0 })),
    {
      type: "request",
      index: 1,
    },
  );
});

Deno.test("pieceCount and pieceLength split a file into pieces", () => {
  assertEquals(pieceCount(0, 16), 0);
  assertEquals(pieceCount(16, 16), 1);
  assertEquals(pieceCount(17, 16), 2);
  assertEquals(pieceLength({ size: 17, pieceSize: 16 }, 0), 16);
  assertEquals(pieceLength({ size: 17, pieceSize: 16 }, 1), 1);
});

Deno.test("hello's agent is optional and bounded by MAX_AGENT_CHARS", () => {
  const hello = (agent: unknown) =>
    fromFrame({
      header: { type: "hello", version: 2, id: ID, agent },
      binary: new Uint8Array(0),
    });
  const ok = hello("p2p/0.10.0");
  assertEquals(ok.type === "hello" && ok.agent, "p2p/0.10.0");
  for (const agent of ["", "x".repeat(MAX_AGENT_CHARS + 1), 7]) {
    let failed = false;
    try {
      hello(agent);
    } catch {
      failed = true;
    }
    assert(failed, `agent ${JSON.stringify(agent)} was accepted`);
  }
});

// --- Private files --------------------------------------------------------

/** Lookup keys no decoder may accept: not 64 lowercase hex chars. */
const BAD_LOOKUPS: unknown[] = [
  "",
  LOOKUP.slice(0, 16),
  LOOKUP.slice(0, 63),
  LOOKUP + "0",
  LOOKUP.toUpperCase(),
  "g".repeat(64),
  "../" + LOOKUP.slice(3),
  " " + LOOKUP.slice(1),
  LOOKUP.slice(0, 63) + "\n",
  "a".repeat(1_000_000),
  64,
  null,
  [LOOKUP],
];

Deno.test("register-sealed, query-sealed and sealed refuse lookup keys that are not 64 lowercase hex chars", () => {
  for (const lookup of BAD_LOOKUPS) {
    const label = JSON.stringify(lookup)?.slice(0, 70);
    for (const type of ["register-sealed", "query-sealed", "sealed"]) {
      const error = assertRefused(
        frameOf(type, { lookup }),
        `${type}.lookup = ${label}`,
      );
      assert(error.message.startsWith("Lookup key"), error.message);
    }
  }
});

Deno.test("register-sealed and sealed refuse a missing blob, and one shorter than MIN_SEALED_BLOB_BYTES or over MAX_SEALED_BLOB_BYTES", () => {
  for (const type of ["register-sealed", "sealed"]) {
    const missing = assertRefused(
      { ...frameOf(type), binary: new Uint8Array(0) },
      `${type} without a blob`,
    );
    assert(missing instanceof TypeError, String(missing));
    for (
      const length of [1, MIN_SEALED_BLOB_BYTES - 1, MAX_SEALED_BLOB_BYTES + 1]
    ) {
      const error = assertRefused(
        { ...frameOf(type), binary: new Uint8Array(length) },
        `${type} with a ${length}-byte blob`,
      );
      assert(error instanceof RangeError, String(error));
    }
    for (const length of [MIN_SEALED_BLOB_BYTES, MAX_SEALED_BLOB_BYTES]) {
      const message = fromFrame({
        ...frameOf(type),
        binary: new Uint8Array(length),
      }) as { blob: Uint8Array };
      assertEquals(message.blob.length, length, `${type} of ${length} bytes`);
    }
  }
});

Deno.test("a sealed blob travels as the binary part, never in the JSON", () => {
  for (const type of ["register-sealed", "sealed"]) {
    const frame = toFrame(sample(type));
    assertEquals(frame.binary, BLOB);
    assertEquals("blob" in frame.header, false);
  }
});

Deno.test("register-sealed.partial must be true or false; sealed.partial is a count capped at the peers left", () => {
  for (const partial of [1, 0, "true", null, []]) {
    assertRefused(
      frameOf("register-sealed", { partial }),
      `register-sealed.partial = ${JSON.stringify(partial)}`,
    );
  }
  for (const partial of [-1, 1.5, "1", true, MAX_PEER_ENTRIES_READ + 1]) {
    assertRefused(
      frameOf("sealed", { partial }),
      `sealed.partial = ${JSON.stringify(partial)}`,
    );
  }
  // One good peer left of three entries: a partial count of 3 says at most 1.
  const answer = fromFrame(
    frameOf("sealed", {
      peers: [null, { host: "10.0.0.1", port: 6000 }, { host: "", port: 1 }],
      partial: 3,
    }),
  );
  assertEquals(answer.type === "sealed" && answer.partial, 1);
  assertEquals(answer.type === "sealed" && answer.peers.length, 1);
});

Deno.test("a stats-reply without privateFiles (an older tracker) still decodes", () => {
  const old = parsed(
    `{"type":"stats-reply","files":1,"peers":1,"registrations":1,"requests":1,"uptimeMs":1}`,
  );
  const reply = fromFrame(old);
  assertEquals(
    reply.type === "stats-reply" && "privateFiles" in reply.stats,
    false,
  );
});

Deno.test("MAX_SEALED_BLOB_BYTES admits the largest blob sealing produces, and a frame admits it", () => {
  assertEquals(SEALED_BLOB_OVERHEAD_BYTES, SEALED_OVERHEAD_BYTES);
  assertEquals(
    MIN_SEALED_BLOB_BYTES,
    SEALED_OVERHEAD_BYTES + SEALED_META_LENGTH_BYTES,
  );
  assert(MAX_SEALED_BLOB_BYTES <= MAX_BINARY_BYTES);
  // The most pieces, the largest numbers, and a name JSON escapes to 6
  // bytes a character.
  const largest: FileMeta = {
    id: ID,
    name: "\u0001".repeat(255),
    size: MAX_PIECES * MAX_PIECE_SIZE,
    pieceSize: MAX_PIECE_SIZE,
    pieceHashes: new Uint8Array(MAX_PIECES * HASH_BYTES),
  };
  const blob = sealMetadata(KEYS.metadataKey, encodeSealedMeta(largest));
  assert(
    blob.length <= MAX_SEALED_BLOB_BYTES,
    `${blob.length} > ${MAX_SEALED_BLOB_BYTES}`,
  );
  const frame = toFrame({
    type: "register-sealed",
    lookup: LOOKUP,
    blob,
    port: 6000,
  });
  const message = fromFrame(frame);
  assert(message.type === "register-sealed" && message.blob === blob);
});
