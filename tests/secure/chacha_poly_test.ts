import { assert, assertEquals, assertThrows } from "../assert.ts";
import { createCipheriv, randomBytes } from "node:crypto";
import {
  openChaChaPoly,
  sealChaChaPoly,
  SMALL_RECORD_BYTES,
  SMALL_RECORD_CIPHER,
} from "../../lib/secure/chacha_poly.ts";
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
