/**
 * Share keys: derivation pinned against an independent HKDF (Web Crypto),
 * distinct per label and per secret; sealed metadata opens only untouched
 * and under its own key.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  deriveShareKeys,
  deriveTeamPsk,
  generateTeamSecret,
  MIN_TEAM_SECRET_BYTES,
  openMetadata,
  SEALED_OVERHEAD_BYTES,
  sealMetadata,
  SHARE_KEY_BYTES,
  SHARE_KEY_LABELS,
} from "../../lib/secure/share_keys.ts";

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i);
const encoder = new TextEncoder();

/** HKDF-SHA256 with an empty salt, by Web Crypto rather than node:crypto. */
async function webHkdf(
  ikm: Uint8Array<ArrayBuffer>,
  info: string,
): Promise<string> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(0),
      info: encoder.encode(info),
    },
    key,
    SHARE_KEY_BYTES * 8,
  );
  return new Uint8Array(bits).toHex();
}

Deno.test("share keys match an independent HKDF-SHA256 under the documented labels", async () => {
  const keys = deriveShareKeys(SECRET);
  assertEquals(
    keys.lookupKey,
    "ca504578d1889c861d4848bf35484277bf9e5192f3e5c1d348314264fecfcc0f",
  );
  assertEquals(keys.lookupKey, await webHkdf(SECRET, "p2p/1 lookup key"));
  assertEquals(
    keys.metadataKey.toHex(),
    await webHkdf(SECRET, "p2p/1 metadata key"),
  );
  assertEquals(keys.psk.toHex(), await webHkdf(SECRET, "p2p/1 handshake psk"));
  const team = "correct horse battery staple";
  assertEquals(
    deriveTeamPsk(team).toHex(),
    await webHkdf(encoder.encode(team), "p2p/1 team psk"),
  );
  assertEquals(SHARE_KEY_LABELS.lookup, "p2p/1 lookup key");
});

Deno.test("the lookup key looks like a file ID and every key is 32 bytes", () => {
  const keys = deriveShareKeys(SECRET);
  assert(/^[0-9a-f]{64}$/.test(keys.lookupKey), keys.lookupKey);
  assertEquals(keys.metadataKey.length, SHARE_KEY_BYTES);
  assertEquals(keys.psk.length, SHARE_KEY_BYTES);
});

Deno.test("share keys are deterministic, distinct per label and per secret", () => {
  const a = deriveShareKeys(SECRET);
  assertEquals(deriveShareKeys(SECRET.slice()), a);
  const all = [a.lookupKey, a.metadataKey.toHex(), a.psk.toHex()];
  all.push(deriveTeamPsk(SECRET).toHex());
  assertEquals(new Set(all).size, 4);
  const other = SECRET.slice();
  other[15] ^= 1;
  const b = deriveShareKeys(other);
  assert(a.lookupKey !== b.lookupKey);
  assert(a.metadataKey.toHex() !== b.metadataKey.toHex());
  assert(a.psk.toHex() !== b.psk.toHex());
});

Deno.test("a share secret under 16 bytes is refused", () => {
  assertThrows(() => deriveShareKeys(new Uint8Array(15)), RangeError);
  deriveShareKeys(new Uint8Array(32));
});

Deno.test("the team secret ignores surrounding whitespace, as text or bytes", () => {
  const psk = deriveTeamPsk("0123456789abcdef");
  assertEquals(deriveTeamPsk("  0123456789abcdef\r\n"), psk);
  assertEquals(deriveTeamPsk(encoder.encode("\t0123456789abcdef\n")), psk);
  assert(deriveTeamPsk("0123456789abcdeF").toHex() !== psk.toHex());
  // Whitespace inside the secret is part of it.
  assert(deriveTeamPsk("01234567 89abcdef").toHex() !== psk.toHex());
});

Deno.test("a team secret under 16 characters is refused with one sentence", () => {
  for (
    const secret of ["", "   \n", "0123456789abcde", " 0123456789abcde \n"]
  ) {
    const error = assertThrows(() => deriveTeamPsk(secret), RangeError);
    assertEquals(
      error.message,
      "The team secret is too short: it needs at least 16 characters.",
    );
  }
  assertEquals(
    deriveTeamPsk("x".repeat(MIN_TEAM_SECRET_BYTES)).length,
    SHARE_KEY_BYTES,
  );
});

Deno.test("generated team secrets are long enough, URL-safe and different", () => {
  const a = generateTeamSecret();
  const b = generateTeamSecret();
  assert(/^[A-Za-z0-9_-]{43}$/.test(a), a);
  assert(a !== b);
  assertEquals(deriveTeamPsk(`${a}\n`), deriveTeamPsk(a));
});

Deno.test("sealed metadata opens to what was sealed, under a fresh nonce each time", () => {
  const { metadataKey } = deriveShareKeys(SECRET);
  for (const size of [0, 1, 100, 65_536]) {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    const blob = sealMetadata(metadataKey, plaintext);
    assertEquals(blob.length, size + SEALED_OVERHEAD_BYTES);
    assertEquals(blob[0], 1);
    assertEquals(openMetadata(metadataKey, blob), plaintext);
  }
  const text = encoder.encode("same metadata");
  const one = sealMetadata(metadataKey, text);
  const two = sealMetadata(metadataKey, text);
  assert(one.toHex() !== two.toHex(), "nonces differ");
});

Deno.test("a sealed blob with any byte flipped fails to open", () => {
  const { metadataKey } = deriveShareKeys(SECRET);
  const blob = sealMetadata(metadataKey, encoder.encode("name, size, hashes"));
  for (let i = 0; i < blob.length; i++) {
    const bad = blob.slice();
    bad[i] ^= 0x01;
    assertThrows(() => openMetadata(metadataKey, bad), TypeError);
  }
});

Deno.test("a sealed blob fails to open under another key", () => {
  const { metadataKey } = deriveShareKeys(SECRET);
  const other = deriveShareKeys(new Uint8Array(16)).metadataKey;
  const blob = sealMetadata(metadataKey, encoder.encode("secret name"));
  const error = assertThrows(() => openMetadata(other, blob), TypeError);
  assert(error.message.includes("wrong key"), error.message);
  const { psk } = deriveShareKeys(SECRET);
  assertThrows(() => openMetadata(psk, blob), TypeError);
});

Deno.test("a truncated, lengthened or unknown-version blob fails to open", () => {
  const { metadataKey } = deriveShareKeys(SECRET);
  const blob = sealMetadata(metadataKey, encoder.encode("some metadata"));
  for (let end = 0; end < blob.length; end++) {
    assertThrows(
      () => openMetadata(metadataKey, blob.subarray(0, end)),
      TypeError,
    );
  }
  const longer = new Uint8Array(blob.length + 1);
  longer.set(blob);
  assertThrows(() => openMetadata(metadataKey, longer), TypeError);
  const v2 = blob.slice();
  v2[0] = 2;
  const error = assertThrows(() => openMetadata(metadataKey, v2), TypeError);
  assert(error.message.includes("version 2"), error.message);
});

Deno.test("sealing refuses a key that is not 32 bytes", () => {
  assertThrows(() => sealMetadata(new Uint8Array(16), new Uint8Array(1)));
  assertThrows(() => openMetadata(new Uint8Array(31), new Uint8Array(64)));
});
