import { assert, assertEquals, assertThrows } from "../assert.ts";
import { createCipheriv, randomBytes } from "node:crypto";
import {
  openChaChaPoly,
  sealChaChaPoly,
  SMALL_RECORD_BYTES,
  SMALL_RECORD_CIPHER,
} from "../../lib/secure/chacha_poly.ts";
import {
  chacha20Block,
  openWords,
  poly1305,
  sealWords,
} from "../../lib/secure/_chacha_poly_core.ts";
import {
  AuthenticationError,
  CipherState,
  setSmallRecordCipher,
} from "../../lib/secure/noise.ts";

const SIZES = [0, 1, 15, 16, 17, 63, 64, 65, 100, 511, 1024, 2048, 8191];
const NONCES = [0, 1, 255, 0xffff_ffff, 0x1_0000_0000, 2 ** 52 + 12345];

function bytes(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/** Noise's nonce: 4 zero bytes, then the number, little-endian. */
function ivOf(nonce: number): Uint8Array {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setBigUint64(4, BigInt(nonce), true);
  return iv;
}

function nodeSeal(
  key: Uint8Array,
  nonce: number,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const cipher = createCipheriv("chacha20-poly1305", key, ivOf(nonce), {
    authTagLength: 16,
  });
  cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  const out = new Uint8Array(plaintext.length + 16);
  out.set(body);
  out.set(cipher.getAuthTag(), plaintext.length);
  return out;
}

function seal(
  key: Uint8Array,
  nonce: number,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(plaintext.length + 16);
  sealChaChaPoly(key, nonce, ad, plaintext, out, 0);
  return out;
}

Deno.test("sealChaChaPoly writes node:crypto's bytes for every size, nonce and AAD", () => {
  for (const size of SIZES) {
    for (const nonce of NONCES) {
      for (const adBytes of [0, 5, 32]) {
        const key = bytes(32), ad = bytes(adBytes), plain = bytes(size);
        assertEquals(
          seal(key, nonce, ad, plain),
          nodeSeal(key, nonce, ad, plain),
          `${size} bytes, nonce ${nonce}, ${adBytes} bytes of AAD`,
        );
      }
    }
  }
});

Deno.test("sealChaChaPoly writes at an offset, leaving the rest of the buffer", () => {
  const key = bytes(32), plain = bytes(100);
  const out = new Uint8Array(4 + 116 + 3).fill(7);
  sealChaChaPoly(key, 9, new Uint8Array(0), plain, out, 4);
  assertEquals(
    out.subarray(4, 120),
    nodeSeal(key, 9, new Uint8Array(0), plain),
  );
  assertEquals([...out.subarray(0, 4), ...out.subarray(120)], Array(7).fill(7));
});

Deno.test("openChaChaPoly opens what node:crypto sealed, in place too", () => {
  for (const size of SIZES) {
    const key = bytes(32), ad = bytes(13), plain = bytes(size);
    const sealed = nodeSeal(key, 77, ad, plain);
    const out = new Uint8Array(size);
    assert(openChaChaPoly(key, 77, ad, sealed, out), `${size} bytes`);
    assertEquals(out, plain);
    assert(openChaChaPoly(key, 77, ad, sealed, sealed), `${size} in place`);
    assertEquals(sealed.subarray(0, size), plain);
  }
});

Deno.test("openChaChaPoly refuses a flipped byte of ciphertext, tag or AAD, another nonce or key, and leaves out untouched", () => {
  const key = bytes(32), ad = bytes(16), plain = bytes(200);
  const sealed = nodeSeal(key, 5, ad, plain);
  const refused = (
    what: string,
    open: (out: Uint8Array) => boolean,
  ) => {
    const out = new Uint8Array(plain.length).fill(1);
    assert(!open(out), what);
    assertEquals(out, new Uint8Array(plain.length).fill(1), what);
  };
  for (const at of [0, 100, 199, 200, 215]) {
    const altered = sealed.slice();
    altered[at] ^= 0x01;
    refused(`byte ${at}`, (out) => openChaChaPoly(key, 5, ad, altered, out));
  }
  const otherAd = ad.slice();
  otherAd[3] ^= 0x80;
  refused("AAD", (out) => openChaChaPoly(key, 5, otherAd, sealed, out));
  refused(
    "no AAD",
    (out) => openChaChaPoly(key, 5, new Uint8Array(0), sealed, out),
  );
  refused("nonce", (out) => openChaChaPoly(key, 6, ad, sealed, out));
  refused(
    "high nonce",
    (out) => openChaChaPoly(key, 5 + 2 ** 32, ad, sealed, out),
  );
  refused("key", (out) => openChaChaPoly(bytes(32), 5, ad, sealed, out));
  refused(
    "short",
    (out) => openChaChaPoly(key, 5, ad, sealed.subarray(0, 15), out),
  );
});

Deno.test("a CipherState with the small-record cipher talks to one without, both ways", () => {
  const key = bytes(32);
  const sizes = [40, 0, 1, SMALL_RECORD_BYTES, SMALL_RECORD_BYTES + 1, 70_000];
  const sealedBy = (small: boolean) => {
    setSmallRecordCipher(small ? SMALL_RECORD_CIPHER : undefined);
    try {
      const send = new CipherState(key);
      return sizes.map((size) => {
        const plain = bytes(size);
        return { plain, sealed: send.encrypt(new Uint8Array(0), plain) };
      });
    } finally {
      setSmallRecordCipher(undefined);
    }
  };
  for (const [sealer, opener] of [[true, false], [false, true]]) {
    const records = sealedBy(sealer);
    setSmallRecordCipher(opener ? SMALL_RECORD_CIPHER : undefined);
    try {
      const receive = new CipherState(key);
      for (const { plain, sealed } of records) {
        assertEquals(receive.decrypt(new Uint8Array(0), sealed), plain);
      }
      const tampered = sealedBy(sealer)[0].sealed;
      tampered[0] ^= 1;
      assertThrows(
        () => new CipherState(key).decrypt(new Uint8Array(0), tampered),
        AuthenticationError,
      );
    } finally {
      setSmallRecordCipher(undefined);
    }
  }
});

Deno.test("sealChaChaPoly throws RangeError, writing nothing, when out is too small", () => {
  const key = bytes(32), plain = bytes(40), ad = new Uint8Array(0);
  for (
    const [size, at] of [[55, 0], [56, 1], [60, 5], [56, -1], [56, 0.5]]
  ) {
    const out = new Uint8Array(size).fill(7);
    assertThrows(
      () => sealChaChaPoly(key, 3, ad, plain, out, at),
      RangeError,
    );
    assertEquals(out, new Uint8Array(size).fill(7), `${size} bytes at ${at}`);
  }
  const exact = new Uint8Array(60);
  sealChaChaPoly(key, 3, ad, plain, exact, 4);
  assertEquals(exact.subarray(4), nodeSeal(key, 3, ad, plain));
});

// Known answers from RFC 8439, each also checked against node:crypto or an
// independent Poly1305, so a mistyped vector fails as loudly as a bug.

function hex(text: string): Uint8Array {
  const digits = text.replace(/[\s:]/g, "");
  return Uint8Array.from(
    digits.match(/../g) ?? [],
    (pair) => parseInt(pair, 16),
  );
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Bytes `from` to `to` - 1 (mod 256), as the RFC's keys "00:01:02:…". */
function run(from: number, to: number): Uint8Array {
  return Uint8Array.from({ length: to - from }, (_, i) => (from + i) & 0xff);
}

/** A 12-byte nonce as its three little-endian words. */
function words(nonce: Uint8Array): [number, number, number] {
  const view = new DataView(nonce.buffer, nonce.byteOffset, 12);
  return [
    view.getUint32(0, true),
    view.getUint32(4, true),
    view.getUint32(8, true),
  ];
}

/** node:crypto's ChaCha20 key stream from block `counter`. */
function nodeStream(
  key: Uint8Array,
  counter: number,
  nonce: Uint8Array,
  length: number,
): Uint8Array {
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(0, counter, true);
  iv.set(nonce, 4);
  return new Uint8Array(
    createCipheriv("chacha20", key, iv).update(new Uint8Array(length)),
  );
}

/** Our ChaCha20 key stream from block `counter`. */
function ourStream(
  key: Uint8Array,
  counter: number,
  nonce: Uint8Array,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 64, counter++) {
    const block = chacha20Block(key, counter, ...words(nonce));
    out.set(block.subarray(0, Math.min(64, length - at)), at);
  }
  return out;
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((byte, i) => byte ^ b[i]);
}

/** Poly1305 straight from RFC 8439 §2.5.1, in BigInt: the independent check. */
function bigPoly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  const number = (bytes: Uint8Array) =>
    bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
  const p = (1n << 130n) - 5n;
  const r = number(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = number(key.subarray(16, 32));
  let h = 0n;
  for (let at = 0; at < message.length; at += 16) {
    const block = message.subarray(at, at + 16);
    h = ((h + number(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  let tag = (h + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++, tag >>= 8n) out[i] = Number(tag & 0xffn);
  return out;
}

/** The AEAD's Poly1305 input (RFC 8439 §2.8). */
function macData(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const padded = (n: number) => n + (16 - (n % 16)) % 16;
  const at = padded(ad.length), end = at + padded(ciphertext.length);
  const out = new Uint8Array(end + 16);
  out.set(ad);
  out.set(ciphertext, at);
  const view = new DataView(out.buffer);
  view.setBigUint64(end, BigInt(ad.length), true);
  view.setBigUint64(end + 8, BigInt(ciphertext.length), true);
  return out;
}

function nodeAead(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, {
    authTagLength: 16,
  });
  cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  const out = new Uint8Array(plaintext.length + 16);
  out.set(body);
  out.set(cipher.getAuthTag(), plaintext.length);
  return out;
}

const SUNSCREEN = ascii(
  "Ladies and Gentlemen of the class of '99: If I could offer you only " +
    "one tip for the future, sunscreen would be it.",
);
const IETF = ascii(
  "Any submission to the IETF intended by the Contributor for publication " +
    "as all or part of an IETF Internet-Draft or RFC and any statement made " +
    'within the context of an IETF activity is considered an "IETF ' +
    'Contribution". Such statements include oral statements in IETF ' +
    "sessions, as well as written and electronic communications made at " +
    "any time or place, which are addressed to",
);
const JABBERWOCKY = ascii(
  "'Twas brillig, and the slithy toves\nDid gyre and gimble in the " +
    "wabe:\nAll mimsy were the borogoves,\nAnd the mome raths outgrabe.",
);
const KEY_1C = hex(
  "1c 92 40 a5 eb 55 d3 8a f3 33 88 86 04 f6 b5 f0" +
    "47 39 17 c1 40 2b 80 09 9d ca 5c bc 20 70 75 c0",
);
const ZERO_KEY = new Uint8Array(32);
const KEY_1 = hex("00".repeat(31) + "01");
const NONCE_0 = new Uint8Array(12);
const NONCE_2 = hex("00".repeat(11) + "02");

Deno.test("chacha20Block gives RFC 8439's blocks (2.3.2, A.1), as node:crypto's chacha20 does", () => {
  const vectors: [string, Uint8Array, number, Uint8Array, string][] = [
    [
      "2.3.2",
      run(0, 32),
      1,
      hex("00 00 00 09 00 00 00 4a 00 00 00 00"),
      `10 f1 e7 e4 d1 3b 59 15 50 0f dd 1f a3 20 71 c4
       c7 d1 f4 c7 33 c0 68 03 04 22 aa 9a c3 d4 6c 4e
       d2 82 64 46 07 9f aa 09 14 c2 d7 05 d9 8b 02 a2
       b5 12 9c d1 de 16 4e b9 cb d0 83 e8 a2 50 3c 4e`,
    ],
    [
      "A.1 #1",
      ZERO_KEY,
      0,
      NONCE_0,
      `76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28
       bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7
       da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37
       6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86`,
    ],
    [
      "A.1 #2",
      ZERO_KEY,
      1,
      NONCE_0,
      `9f 07 e7 be 55 51 38 7a 98 ba 97 7c 73 2d 08 0d
       cb 0f 29 a0 48 e3 65 69 12 c6 53 3e 32 ee 7a ed
       29 b7 21 76 9c e6 4e 43 d5 71 33 b0 74 d8 39 d5
       31 ed 1f 28 51 0a fb 45 ac e1 0a 1f 4b 79 4d 6f`,
    ],
    [
      "A.1 #3",
      KEY_1,
      1,
      NONCE_0,
      `3a eb 52 24 ec f8 49 92 9b 9d 82 8d b1 ce d4 dd
       83 20 25 e8 01 8b 81 60 b8 22 84 f3 c9 49 aa 5a
       8e ca 00 bb b4 a7 3b da d1 92 b5 c4 2f 73 f2 fd
       4e 27 36 44 c8 b3 61 25 a6 4a dd eb 00 6c 13 a0`,
    ],
    [
      "A.1 #4",
      hex("00 ff" + "00".repeat(30)),
      2,
      NONCE_0,
      `72 d5 4d fb f1 2e c4 4b 36 26 92 df 94 13 7f 32
       8f ea 8d a7 39 90 26 5e c1 bb be a1 ae 9a f0 ca
       13 b2 5a a2 6c b4 a6 48 cb 9b 9d 1b e6 5b 2c 09
       24 a6 6c 54 d5 45 ec 1b 73 74 f4 87 2e 99 f0 96`,
    ],
    [
      "A.1 #5",
      ZERO_KEY,
      0,
      NONCE_2,
      `c2 c6 4d 37 8c d5 36 37 4a e2 04 b9 ef 93 3f cd
       1a 8b 22 88 b3 df a4 96 72 ab 76 5b 54 ee 27 c7
       8a 97 0e 0e 95 5c 14 f3 a8 8e 74 1b 97 c2 86 f7
       5f 8f c2 99 e8 14 83 62 fa 19 8a 39 53 1b ed 6d`,
    ],
  ];
  for (const [name, key, counter, nonce, block] of vectors) {
    assertEquals(nodeStream(key, counter, nonce, 64), hex(block), name);
    assertEquals(
      chacha20Block(key, counter, ...words(nonce)),
      hex(block),
      name,
    );
  }
});

Deno.test("ChaCha20's key stream gives RFC 8439's ciphertexts (2.4.2, A.2), as node:crypto's does", () => {
  const vectors: [
    string,
    Uint8Array,
    number,
    Uint8Array,
    Uint8Array,
    string,
  ][] = [
    [
      "2.4.2",
      run(0, 32),
      1,
      hex("00 00 00 00 00 00 00 4a 00 00 00 00"),
      SUNSCREEN,
      `6e 2e 35 9a 25 68 f9 80 41 ba 07 28 dd 0d 69 81
       e9 7e 7a ec 1d 43 60 c2 0a 27 af cc fd 9f ae 0b
       f9 1b 65 c5 52 47 33 ab 8f 59 3d ab cd 62 b3 57
       16 39 d6 24 e6 51 52 ab 8f 53 0c 35 9f 08 61 d8
       07 ca 0d bf 50 0d 6a 61 56 a3 8e 08 8a 22 b6 5e
       52 bc 51 4d 16 cc f8 06 81 8c e9 1a b7 79 37 36
       5a f9 0b bf 74 a3 5b e6 b4 0b 8e ed f2 78 5e 42
       87 4d`,
    ],
    [
      "A.2 #1",
      ZERO_KEY,
      0,
      NONCE_0,
      new Uint8Array(64),
      `76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28
       bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7
       da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37
       6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86`,
    ],
    [
      "A.2 #2",
      KEY_1,
      1,
      NONCE_2,
      IETF,
      `a3 fb f0 7d f3 fa 2f de 4f 37 6c a2 3e 82 73 70
       41 60 5d 9f 4f 4f 57 bd 8c ff 2c 1d 4b 79 55 ec
       2a 97 94 8b d3 72 29 15 c8 f3 d3 37 f7 d3 70 05
       0e 9e 96 d6 47 b7 c3 9f 56 e0 31 ca 5e b6 25 0d
       40 42 e0 27 85 ec ec fa 4b 4b b5 e8 ea d0 44 0e
       20 b6 e8 db 09 d8 81 a7 c6 13 2f 42 0e 52 79 50
       42 bd fa 77 73 d8 a9 05 14 47 b3 29 1c e1 41 1c
       68 04 65 55 2a a6 c4 05 b7 76 4d 5e 87 be a8 5a
       d0 0f 84 49 ed 8f 72 d0 d6 62 ab 05 26 91 ca 66
       42 4b c8 6d 2d f8 0e a4 1f 43 ab f9 37 d3 25 9d
       c4 b2 d0 df b4 8a 6c 91 39 dd d7 f7 69 66 e9 28
       e6 35 55 3b a7 6c 5c 87 9d 7b 35 d4 9e b2 e6 2b
       08 71 cd ac 63 89 39 e2 5e 8a 1e 0e f9 d5 28 0f
       a8 ca 32 8b 35 1c 3c 76 59 89 cb cf 3d aa 8b 6c
       cc 3a af 9f 39 79 c9 2b 37 20 fc 88 dc 95 ed 84
       a1 be 05 9c 64 99 b9 fd a2 36 e7 e8 18 b0 4b 0b
       c3 9c 1e 87 6b 19 3b fe 55 69 75 3f 88 12 8c c0
       8a aa 9b 63 d1 a1 6f 80 ef 25 54 d7 18 9c 41 1f
       58 69 ca 52 c5 b8 3f a3 6f f2 16 b9 c1 d3 00 62
       be bc fd 2d c5 bc e0 91 19 34 fd a7 9a 86 f6 e6
       98 ce d7 59 c3 ff 9b 64 77 33 8f 3d a4 f9 cd 85
       14 ea 99 82 cc af b3 41 b2 38 4d d9 02 f3 d1 ab
       7a c6 1d d2 9c 6f 21 ba 5b 86 2f 37 30 e3 7c fd
       c4 fd 80 6c 22 f2 21`,
    ],
    [
      "A.2 #3",
      KEY_1C,
      42,
      NONCE_2,
      JABBERWOCKY,
      `62 e6 34 7f 95 ed 87 a4 5f fa e7 42 6f 27 a1 df
       5f b6 91 10 04 4c 0d 73 11 8e ff a9 5b 01 e5 cf
       16 6d 3d f2 d7 21 ca f9 b2 1e 5f b1 4c 61 68 71
       fd 84 c5 4f 9d 65 b2 83 19 6c 7f e4 f6 05 53 eb
       f3 9c 64 02 c4 22 34 e3 2a 35 6b 3e 76 43 12 a6
       1a 55 32 05 57 16 ea d6 96 25 68 f8 7d 3f 3f 77
       04 c6 a8 d1 bc d1 bf 4d 50 d6 15 4b 6d a7 31 b1
       87 b5 8d fd 72 8a fa 36 75 7a 79 7a c1 88 d1`,
    ],
  ];
  for (const [name, key, counter, nonce, plain, cipher] of vectors) {
    const length = plain.length;
    assertEquals(hex(cipher).length, length, name);
    assertEquals(
      xor(plain, nodeStream(key, counter, nonce, length)),
      hex(cipher),
      name,
    );
    assertEquals(
      xor(plain, ourStream(key, counter, nonce, length)),
      hex(cipher),
      name,
    );
  }
});

Deno.test("the BigInt Poly1305 gives node:crypto's AEAD tags, and ChaCha20 RFC 8439's one-time keys (2.6.2, A.4)", () => {
  for (const size of SIZES) {
    const key = bytes(32), nonce = bytes(12), ad = bytes(size % 37);
    const sealed = nodeAead(key, nonce, ad, bytes(size));
    const oneTime = nodeStream(key, 0, nonce, 32);
    assertEquals(
      bigPoly1305(oneTime, macData(ad, sealed.subarray(0, size))),
      sealed.subarray(size),
      `${size} bytes`,
    );
  }
  const vectors: [string, Uint8Array, Uint8Array, string][] = [
    [
      "2.6.2",
      run(0x80, 0xa0),
      hex("00 00 00 00 00 01 02 03 04 05 06 07"),
      `8a d5 a0 8b 90 5f 81 cc 81 50 40 27 4a b2 94 71
       a8 33 b6 37 e3 fd 0d a5 08 db b8 e2 fd d1 a6 46`,
    ],
    [
      "A.4 #1",
      ZERO_KEY,
      NONCE_0,
      `76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28
       bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7`,
    ],
    [
      "A.4 #2",
      KEY_1,
      NONCE_2,
      `ec fa 25 4f 84 5f 64 74 73 d3 cb 14 0d a9 e8 76
       06 cb 33 06 6c 44 7b 87 bc 26 66 dd e3 fb b7 39`,
    ],
    [
      "A.4 #3",
      KEY_1C,
      NONCE_2,
      `96 5e 3b c6 f9 ec 7e d9 56 08 08 f4 d2 29 f9 4b
       13 7f f2 75 ca 9b 3f cb dd 59 de aa d2 33 10 ae`,
    ],
  ];
  for (const [name, key, nonce, oneTime] of vectors) {
    assertEquals(nodeStream(key, 0, nonce, 32), hex(oneTime), name);
    assertEquals(
      chacha20Block(key, 0, ...words(nonce)).subarray(0, 32),
      hex(oneTime),
      name,
    );
  }
});

Deno.test("poly1305 gives RFC 8439's tags (2.5.2, A.3 #1-#11: carries and the final reduction), as the BigInt Poly1305 does", () => {
  const R_2 = "02" + "00".repeat(15), R_1 = "01" + "00".repeat(15);
  const R_10 = "01 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00";
  const S_0 = "00".repeat(16), FF = "ff".repeat(16);
  const vectors: [string, string, Uint8Array, string][] = [
    [
      "2.5.2",
      `85 d6 be 78 57 55 6d 33 7f 44 52 fe 42 d5 06 a8
       01 03 80 8a fb 0d b2 fd 4a bf f6 af 41 49 f5 1b`,
      ascii("Cryptographic Forum Research Group"),
      "a8 06 1d c1 30 51 36 c6 c2 2b 8b af 0c 01 27 a9",
    ],
    ["A.3 #1", "00".repeat(32), new Uint8Array(64), "00".repeat(16)],
    [
      "A.3 #2",
      "00".repeat(16) + "36 e5 f6 b5 c5 e0 60 70 f0 ef ca 96 22 7a 86 3e",
      IETF,
      "36 e5 f6 b5 c5 e0 60 70 f0 ef ca 96 22 7a 86 3e",
    ],
    [
      "A.3 #3",
      "36 e5 f6 b5 c5 e0 60 70 f0 ef ca 96 22 7a 86 3e" + "00".repeat(16),
      IETF,
      "f3 47 7e 7c d9 54 17 af 89 a6 b8 79 4c 31 0c f0",
    ],
    [
      "A.3 #4",
      `1c 92 40 a5 eb 55 d3 8a f3 33 88 86 04 f6 b5 f0
       47 39 17 c1 40 2b 80 09 9d ca 5c bc 20 70 75 c0`,
      JABBERWOCKY,
      "45 41 66 9a 7e aa ee 61 e7 08 dc 7c bc c5 eb 62",
    ],
    ["A.3 #5", R_2 + S_0, hex(FF), "03" + "00".repeat(15)],
    ["A.3 #6", R_2 + FF, hex(R_2), "03" + "00".repeat(15)],
    [
      "A.3 #7",
      R_1 + S_0,
      hex(FF + "f0" + "ff".repeat(15) + "11" + "00".repeat(15)),
      "05" + "00".repeat(15),
    ],
    [
      "A.3 #8",
      R_1 + S_0,
      hex(FF + "fb" + "fe".repeat(15) + "01".repeat(16)),
      "00".repeat(16),
    ],
    ["A.3 #9", R_2 + S_0, hex("fd" + "ff".repeat(15)), "fa" + "ff".repeat(15)],
    [
      "A.3 #10",
      R_10 + S_0,
      hex(
        `e3 35 94 d7 50 5e 43 b9 00 00 00 00 00 00 00 00
         33 94 d7 50 5e 43 79 cd 01 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`,
      ),
      "14 00 00 00 00 00 00 00 55 00 00 00 00 00 00 00",
    ],
    [
      "A.3 #11",
      R_10 + S_0,
      hex(
        `e3 35 94 d7 50 5e 43 b9 00 00 00 00 00 00 00 00
         33 94 d7 50 5e 43 79 cd 01 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`,
      ),
      "13 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    ],
  ];
  for (const [name, key, message, tag] of vectors) {
    assertEquals(bigPoly1305(hex(key), message), hex(tag), name);
    assertEquals(poly1305(hex(key), message), hex(tag), name);
  }
});

Deno.test("sealWords and openWords give RFC 8439's AEAD vectors (2.8.2, A.5), as node:crypto does", () => {
  const vectors: [string, Uint8Array, string, string, Uint8Array, string][] = [
    [
      "2.8.2",
      run(0x80, 0xa0),
      "07 00 00 00 40 41 42 43 44 45 46 47",
      "50 51 52 53 c0 c1 c2 c3 c4 c5 c6 c7",
      SUNSCREEN,
      `d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2
       a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
       3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b
       1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
       92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58
       fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
       3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b
       61 16
       1a e1 0b 59 4f 09 e2 6a 7e 90 2e cb d0 60 06 91`,
    ],
    [
      "A.5",
      KEY_1C,
      "00 00 00 00 01 02 03 04 05 06 07 08",
      "f3 33 88 86 00 00 00 00 00 00 4e 91",
      ascii(
        "Internet-Drafts are draft documents valid for a maximum of six " +
          "months and may be updated, replaced, or obsoleted by other " +
          "documents at any time. It is inappropriate to use Internet-" +
          "Drafts as reference material or to cite them other than as " +
          "/\u201cwork in progress./\u201d",
      ),
      `64 a0 86 15 75 86 1a f4 60 f0 62 c7 9b e6 43 bd
       5e 80 5c fd 34 5c f3 89 f1 08 67 0a c7 6c 8c b2
       4c 6c fc 18 75 5d 43 ee a0 9e e9 4e 38 2d 26 b0
       bd b7 b7 3c 32 1b 01 00 d4 f0 3b 7f 35 58 94 cf
       33 2f 83 0e 71 0b 97 ce 98 c8 a8 4a bd 0b 94 81
       14 ad 17 6e 00 8d 33 bd 60 f9 82 b1 ff 37 c8 55
       97 97 a0 6e f4 f0 ef 61 c1 86 32 4e 2b 35 06 38
       36 06 90 7b 6a 7c 02 b0 f9 f6 15 7b 53 c8 67 e4
       b9 16 6c 76 7b 80 4d 46 a5 9b 52 16 cd e7 a4 e9
       90 40 c5 a4 04 33 22 5e e2 82 a1 b0 a0 6c 52 3e
       af 45 34 d7 f8 3f a1 15 5b 00 47 71 8c bc 54 6a
       0d 07 2b 04 b3 56 4e ea 1b 42 22 73 f5 48 27 1a
       0b b2 31 60 53 fa 76 99 19 55 eb d6 31 59 43 4e
       ce bb 4e 46 6d ae 5a 10 73 a6 72 76 27 09 7a 10
       49 e6 17 d9 1d 36 10 94 fa 68 f0 ff 77 98 71 30
       30 5b ea ba 2e da 04 df 99 7b 71 4d 6c 6f 2c 29
       a6 ad 5c b4 02 2b 02 70 9b
       ee ad 9d 67 89 0c bb 22 39 23 36 fe a1 85 1f 38`,
    ],
  ];
  for (const [name, key, nonceHex, adHex, plain, sealedHex] of vectors) {
    const nonce = hex(nonceHex), ad = hex(adHex), sealed = hex(sealedHex);
    assertEquals(nodeAead(key, nonce, ad, plain), sealed, name);
    const out = new Uint8Array(sealed.length);
    sealWords(key, ...words(nonce), ad, plain, out, 0);
    assertEquals(out, sealed, name);
    const opened = new Uint8Array(plain.length);
    assert(openWords(key, ...words(nonce), ad, sealed, opened), name);
    assertEquals(opened, plain, name);
    sealed[sealed.length - 1] ^= 1;
    assert(!openWords(key, ...words(nonce), ad, sealed, opened), name);
  }
});
