import { assert, assertEquals } from "../assert.ts";
import {
  NoiseHandshake,
  type NoiseHandshakeOptions,
  x25519KeyPair,
} from "../../lib/secure/noise.ts";

const hex = (text: string) =>
  Uint8Array.from(text.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("Noise_NN_25519_ChaChaPoly_SHA256 matches the published cacophony test vector", () => {
  // The test vector of the Noise reference implementations (cacophony).
  const prologue = hex("4a6f686e2047616c74");
  const initiator = new NoiseHandshake({
    pattern: "NN",
    initiator: true,
    prologue,
    ephemeral: x25519KeyPair(
      hex("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"),
    ),
  });
  const responder = new NoiseHandshake({
    pattern: "NN",
    initiator: false,
    prologue,
    ephemeral: x25519KeyPair(
      hex("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"),
    ),
  });
  const m0 = initiator.writeMessage(hex("4c756477696720766f6e204d69736573"));
  assertEquals(
    toHex(m0),
    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573",
  );
  assertEquals(
    toHex(responder.readMessage(m0)),
    "4c756477696720766f6e204d69736573",
  );
  const m1 = responder.writeMessage(hex("4d757272617920526f746862617264"));
  assertEquals(
    toHex(m1),
    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843a0ff96bdf86b579ef7dbf94e812a7470b903c20a85a87e3a1fe863264ae547",
  );
  assertEquals(
    toHex(initiator.readMessage(m1)),
    "4d757272617920526f746862617264",
  );
  const i = initiator.session();
  const r = responder.session();
  assertEquals(toHex(i.handshakeHash), toHex(r.handshakeHash));
  const none = new Uint8Array(0);
  const steps: [typeof i, typeof r, string, string][] = [
    [
      i,
      r,
      "462e20412e20486179656b",
      "eb1a3e3d80c1792b1bb9cb0e1382f8d8322bfb1ca7c4c8517bb686",
    ],
    [
      r,
      i,
      "4361726c204d656e676572",
      "c781b198d2a974eb1da2c7d518c000cf6396de87ca540963c03713",
    ],
    [
      i,
      r,
      "4a65616e2d426170746973746520536179",
      "c77048eb6919fdfe8fe45842bfc5b8d1ff50d1e20c717453ccdfe6176d805b996d",
    ],
    [
      r,
      i,
      "457567656e2042f6686d20766f6e2042617765726b",
      "61834d7069dcfb7a1adf8d5ac910f83fa04c73a67789895c6f5f995c5db2ce88e49b124178",
    ],
  ];
  for (const [from, to, payload, ciphertext] of steps) {
    const sealed = from.send.encrypt(none, hex(payload));
    assertEquals(toHex(sealed), ciphertext);
    assertEquals(toHex(to.receive.decrypt(none, sealed)), payload);
  }
});

function pair(options: Partial<NoiseHandshakeOptions> & { psk2?: Uint8Array }) {
  const prologue = new TextEncoder().encode("p2p test");
  const initiator = new NoiseHandshake({
    pattern: "NN",
    prologue,
    ...options,
    initiator: true,
  });
  const responder = new NoiseHandshake({
    pattern: "NN",
    prologue,
    ...options,
    psk: options.psk2 ?? options.psk,
    initiator: false,
  });
  return { initiator, responder };
}

/** An NN handshake run to its end: the initiator's send and the responder's receive. */
function transport() {
  const { initiator, responder } = pair({});
  responder.readMessage(initiator.writeMessage());
  initiator.readMessage(responder.writeMessage());
  return {
    send: initiator.session().send,
    receive: responder.session().receive,
  };
}

function fails(run: () => unknown): boolean {
  try {
    run();
    return false;
  } catch {
    return true;
  }
}

Deno.test("NNpsk0 completes with the same key and fails at the first message with another", () => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const ok = pair({ pattern: "NNpsk0", psk });
  ok.responder.readMessage(ok.initiator.writeMessage());
  ok.initiator.readMessage(ok.responder.writeMessage());
  const sealed = ok.initiator.session().send.encrypt(
    new Uint8Array(0),
    Uint8Array.of(7),
  );
  assertEquals([
    ...ok.responder.session().receive.decrypt(new Uint8Array(0), sealed),
  ], [7]);
  const wrong = pair({
    pattern: "NNpsk0",
    psk,
    psk2: crypto.getRandomValues(new Uint8Array(32)),
  });
  assert(
    fails(() => wrong.responder.readMessage(wrong.initiator.writeMessage())),
  );
});

Deno.test("a tampered, replayed, reordered or truncated message fails to open", () => {
  const { send, receive } = transport();
  const ad = new Uint8Array(0);
  const first = send.encrypt(ad, Uint8Array.of(1, 2, 3));
  const second = send.encrypt(ad, Uint8Array.of(4, 5, 6));
  const tampered = first.slice();
  tampered[0] ^= 1;
  assert(fails(() => receive.decrypt(ad, tampered)), "tampered");
  assert(fails(() => receive.decrypt(ad, second)), "reordered");
  assert(fails(() => receive.decrypt(ad, first.subarray(0, 10))), "truncated");
  assertEquals([...receive.decrypt(ad, first)], [1, 2, 3]);
  assert(fails(() => receive.decrypt(ad, first)), "replayed");
  assertEquals([...receive.decrypt(ad, second)], [4, 5, 6]);
});

Deno.test("handshakes with different prologues do not agree on keys", () => {
  const initiator = new NoiseHandshake({
    pattern: "NN",
    initiator: true,
    prologue: Uint8Array.of(1),
  });
  const responder = new NoiseHandshake({
    pattern: "NN",
    initiator: false,
    prologue: Uint8Array.of(2),
  });
  responder.readMessage(initiator.writeMessage());
  assert(
    fails(() =>
      initiator.readMessage(responder.writeMessage(Uint8Array.of(9)))
    ),
  );
});

Deno.test("a handshake refuses messages out of turn, too short, and NNpsk0 without a 32-byte key", () => {
  const { initiator, responder } = pair({});
  assert(fails(() => responder.writeMessage()), "responder wrote first");
  assert(
    fails(() => initiator.readMessage(new Uint8Array(40))),
    "initiator read first",
  );
  assert(fails(() => responder.readMessage(new Uint8Array(31))), "short");
  assert(fails(() => initiator.session()), "session before done");
  assert(
    fails(() =>
      new NoiseHandshake({
        pattern: "NNpsk0",
        initiator: true,
        prologue: new Uint8Array(0),
      })
    ),
    "no psk",
  );
});

Deno.test("a record opens in place, over more than one cipher chunk, and a tampered one still fails", () => {
  const { send, receive } = transport();
  const ad = new Uint8Array(0);
  // Over CIPHER_CHUNK_BYTES (64 KiB), and not a whole number of chunks.
  const plain = Uint8Array.from({ length: 200_001 }, (_, i) => (i * 7) & 0xff);
  const sealed = send.encrypt(ad, plain);
  const tampered = send.encrypt(ad, plain);
  tampered[150_000] ^= 1;
  // As a record reader holds it: after a 4-byte length, with the next
  // record's bytes behind it, which opening must leave as they are.
  const held = new Uint8Array(4 + sealed.length + 100).fill(0xee);
  held.set(sealed, 4);
  const record = held.subarray(4, 4 + sealed.length);
  assertEquals(receive.decryptInto(ad, record, record), plain.length);
  assertEquals(toHex(record.subarray(0, plain.length)), toHex(plain));
  assertEquals(
    toHex(record.subarray(plain.length)),
    toHex(sealed.subarray(plain.length)),
    "the tag",
  );
  assert(held.subarray(0, 4).every((b) => b === 0xee), "the length before");
  assert(
    held.subarray(4 + sealed.length).every((b) => b === 0xee),
    "the next record",
  );
  assert(fails(() => receive.decryptInto(ad, tampered, tampered)), "tampered");
});
