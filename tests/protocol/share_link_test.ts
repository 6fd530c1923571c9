/**
 * Share links: every kind round-trips, and every damaged link is refused
 * with one plain sentence.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  formatShareLink,
  generateShareSecret,
  looksLikeShareLink,
  MAX_LINK_CHARS,
  MAX_LINK_TRACKERS,
  parseShareLink,
  SHARE_SECRET_BYTES,
  type ShareLink,
  ShareLinkError,
} from "../../lib/protocol/share_link.ts";

const ID = "0123456789abcdef".repeat(4);
const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
const SECRET_TEXT = "ABEiM0RVZneImaq7zN3u_w";
const PUB = `p2p://10.0.0.5:5000/v1/pub/${ID}`;
const PRIV = `p2p://10.0.0.5:5000/v1/priv/${SECRET_TEXT}/${ID.slice(0, 16)}`;

/** Parses `text`, expecting a ShareLinkError, and checks it reads well. */
function refused(text: string): string {
  const error = assertThrows(() => parseShareLink(text), ShareLinkError);
  const message = error.message;
  assert(/^[A-Z]/.test(message), `starts with a capital: ${message}`);
  assert(message.endsWith("."), `ends with a full stop: ${message}`);
  assert(!message.includes("\n"), `one line: ${message}`);
  assert(
    (message.match(/\. |\.$/g) ?? []).length === 1,
    `one sentence: ${message}`,
  );
  for (
    const jargon of ["base64", "undefined", "null", "NaN", "Error", "    at "]
  ) {
    assert(!message.includes(jargon), `no "${jargon}": ${message}`);
  }
  return message;
}

Deno.test("a public link round-trips with IPv4, IPv6 and host-name trackers", () => {
  for (
    const trackers of [
      [{ host: "10.0.0.5", port: 5000 }],
      [{ host: "::1", port: 5000 }],
      [{ host: "2001:db8::7", port: 65535 }],
      [{ host: "tracker.example.org", port: 1 }],
      [
        { host: "tracker-1.lan", port: 5000 },
        { host: "192.168.1.2", port: 6000 },
        { host: "fe80::1", port: 7000 },
      ],
    ]
  ) {
    const link: ShareLink = { version: 1, trackers, kind: "public", id: ID };
    const text = formatShareLink(link);
    assert(text.startsWith("p2p://"), text);
    assertEquals(parseShareLink(text), link);
  }
});

Deno.test("a private link round-trips its secret and short ID", () => {
  const link: ShareLink = {
    version: 1,
    trackers: [{ host: "::1", port: 5000 }, { host: "localhost", port: 5001 }],
    kind: "private",
    secret: SECRET,
    shortId: ID.slice(0, 16),
  };
  const text = formatShareLink(link);
  assertEquals(
    text,
    `p2p://[::1]:5000,localhost:5001/v1/priv/${SECRET_TEXT}/${ID.slice(0, 16)}`,
  );
  const parsed = parseShareLink(text);
  assertEquals(parsed, link);
  assert(parsed.kind === "private" && parsed.secret instanceof Uint8Array);
});

Deno.test("links are written exactly as documented", () => {
  assertEquals(
    formatShareLink({
      version: 1,
      trackers: [{ host: "10.0.0.5", port: 5000 }],
      kind: "public",
      id: ID,
    }),
    PUB,
  );
  assertEquals(parseShareLink(PRIV).kind, "private");
});

Deno.test("random secrets are 16 bytes and round-trip through a link", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const secret = generateShareSecret();
    assertEquals(secret.length, SHARE_SECRET_BYTES);
    seen.add(secret.toHex());
    const link: ShareLink = {
      version: 1,
      trackers: [{ host: "127.0.0.1", port: 5000 }],
      kind: "private",
      secret,
      shortId: ID.slice(0, 16),
    };
    assertEquals(parseShareLink(formatShareLink(link)), link);
  }
  assertEquals(seen.size, 64);
});

Deno.test("parsing ignores surrounding whitespace and the case of the scheme, version, kind and a public ID", () => {
  assertEquals(parseShareLink(`  \n${PUB}\t `), parseShareLink(PUB));
  assertEquals(parseShareLink("P2P" + PUB.slice(3)), parseShareLink(PUB));
  assertEquals(parseShareLink("p2P" + PRIV.slice(3)), parseShareLink(PRIV));
  for (
    const variant of [
      PUB.replace("/v1/", "/V1/"),
      PUB.replace("/pub/", "/PUB/"),
      PUB.replace(ID, ID.toUpperCase()),
    ]
  ) {
    assertEquals(parseShareLink(variant), parseShareLink(PUB));
  }
});

Deno.test("a link pasted in angle brackets or quotes, as mail and chat wrap it, is read", () => {
  for (
    const text of [
      `<${PUB}>`,
      `"${PUB}"`,
      `'${PUB}'`,
      `‹${PUB}›`,
      ` « ${PUB} » `,
    ]
  ) {
    assert(looksLikeShareLink(text), text);
    assertEquals(parseShareLink(text), parseShareLink(PUB));
  }
  assertEquals(parseShareLink(`<${PRIV}>`), parseShareLink(PRIV));
  // Only a matching pair is taken off.
  refused(`<${PUB}"`);
});

Deno.test("looksLikeShareLink() tells links from IDs and paths", () => {
  assert(looksLikeShareLink(PUB));
  assert(looksLikeShareLink("P2P://anything"));
  assert(looksLikeShareLink("  p2p://"));
  assert(!looksLikeShareLink(ID));
  assert(!looksLikeShareLink("./p2p://x"));
  assert(!looksLikeShareLink("http://example.org"));
  assert(!looksLikeShareLink(""));
});

Deno.test("a link cut short says which part is missing", () => {
  assertEquals(refused(""), "The share link is empty.");
  assertEquals(
    refused("p2p://"),
    "This share link is cut short: it names no tracker.",
  );
  assertEquals(
    refused("p2p://10.0.0.5:5000"),
    "This share link is cut short: it ends after the tracker address.",
  );
  assertEquals(
    refused("p2p://10.0.0.5:5000/v1"),
    "This share link is cut short: it does not say whether the share is public or private.",
  );
  assertEquals(
    refused("p2p://10.0.0.5:5000/v1/pub"),
    "This share link is cut short: it has no file part.",
  );
  assertEquals(
    refused("p2p://10.0.0.5:5000/v1/pub/"),
    "This share link is cut short: it has no file part.",
  );
  assertEquals(
    refused("p2p://10.0.0.5:5000/v1/priv/"),
    "This share link is cut short: it has no secret.",
  );
  assertEquals(
    refused(`p2p://10.0.0.5:5000/v1/priv/${SECRET_TEXT}`),
    "This share link is cut short: it has no file part.",
  );
  // Every prefix of a good link is refused, never misread.
  for (const link of [PUB, PRIV]) {
    for (let end = 0; end < link.length; end++) refused(link.slice(0, end));
  }
});

Deno.test("a link from a newer version asks for an upgrade", () => {
  assertEquals(
    refused(PUB.replace("/v1/", "/v2/")),
    "This share link is from a newer version of p2p (v2); upgrade to open it.",
  );
  // Whatever a newer version puts after its version is not judged.
  assertEquals(
    refused("p2p://anything goes/v17/x"),
    "This share link has spaces or other characters a share link never contains.",
  );
  assert(refused("p2p://a,b,,c/v17/x/y/z").includes("(v17)"));
  for (const version of ["v0", "v01", "1", "v", "vv1", "v1.0", "v1234567"]) {
    assert(
      refused(PUB.replace("/v1/", `/${version}/`)).includes('like "v1"'),
      version,
    );
  }
});

Deno.test("a damaged secret says how long it should be, or that its last character is wrong", () => {
  const short = PRIV.replace(SECRET_TEXT, SECRET_TEXT.slice(0, 21));
  assertEquals(
    refused(short),
    "This share link's secret is damaged (it should be 22 characters, not 21).",
  );
  assertEquals(
    refused(PRIV.replace(SECRET_TEXT, SECRET_TEXT + "A")),
    "This share link's secret is damaged (it should be 22 characters, not 23).",
  );
  refused(PRIV.replace(SECRET_TEXT, SECRET_TEXT.slice(0, 21) + "="));
  refused(PRIV.replace(SECRET_TEXT, SECRET_TEXT.slice(0, 21) + "+"));
  // The last character's unused bits must be zero: one spelling per secret.
  // Right length, so the sentence does not claim it is the wrong one.
  assertEquals(
    refused(PRIV.replace(SECRET_TEXT, SECRET_TEXT.slice(0, 21) + "x")),
    "This share link's secret is damaged (its last character is not one a secret can end with); copy the link again.",
  );
});

Deno.test("a damaged file ID is refused", () => {
  for (
    const id of [
      ID.slice(0, 63),
      ID + "0",
      ID.slice(0, 63) + "g",
      ID.slice(0, 16),
    ]
  ) {
    assertEquals(
      refused(PUB.replace(ID, id)),
      "This share link's file ID is damaged (it should be 64 characters of 0-9 and a-f).",
    );
  }
  const short = ID.slice(0, 16);
  for (const bad of [short.slice(0, 15), short + "0", "ABCDEF012345678g", ID]) {
    assertEquals(
      refused(PRIV.replace(`/${short}`, `/${bad}`)),
      "This share link's file ID is damaged (it should be 16 characters of 0-9 and a-f).",
    );
  }
});

Deno.test("a link of the wrong kind or with extra parts is refused", () => {
  assert(refused(PUB.replace("/pub/", "/public/")).includes('"public"'));
  assert(refused(`${PUB}//`).includes('"//"'));
  assert(refused(`${PUB}/more`).includes('"/more"'));
  assert(refused(`${PRIV}/x`).includes("something extra"));
  assert(refused(PUB.replace("/pub/", "/priv/")).includes("secret"));
});

Deno.test("a link pasted with one slash at its end, or in capitals (a QR code's alphanumeric mode), is the same public link", () => {
  const link = parseShareLink(PUB);
  assertEquals(parseShareLink(`${PUB}/`), link);
  assertEquals(parseShareLink(`<${PUB}/>`), link);
  assertEquals(parseShareLink(PUB.toUpperCase()), {
    ...link,
    trackers: [{ host: "10.0.0.5", port: 5000 }],
  });
  assertEquals(parseShareLink(`${PRIV}/`), parseShareLink(PRIV));
  // A private link's short ID is hex too; its secret keeps its case.
  const short = ID.slice(0, 16);
  assertEquals(
    parseShareLink(PRIV.replace(short, short.toUpperCase())),
    parseShareLink(PRIV),
  );
});

Deno.test("a private link in capitals, or a link with a query or fragment, is refused saying so", () => {
  assertEquals(
    refused(PRIV.toUpperCase()),
    "This private share link was changed to capital letters, which spoils its secret; copy it exactly as its sharer printed it.",
  );
  assertEquals(
    refused(`${PUB}?x=1`),
    'This share link has something extra at its end ("?x=1").',
  );
  assertEquals(
    refused(`${PRIV}#top`),
    'This share link has something extra at its end ("#top").',
  );
});

Deno.test("bad tracker addresses are refused with the address quoted", () => {
  const cases: [string, string][] = [
    ["10.0.0.5", "is not written as HOST:PORT"],
    ["[::1]", "is not written as HOST:PORT"],
    ["[::1:5000", "is not written as HOST:PORT"],
    ["::1:5000", "needs brackets around its IPv6 address"],
    ["10.0.0.5:0", "has no port from 1 to 65535"],
    ["10.0.0.5:65536", "has no port from 1 to 65535"],
    ["10.0.0.5:05000", "has no port from 1 to 65535"],
    ["10.0.0.5:", "has no port from 1 to 65535"],
    ["10.0.0.5:-1", "has no port from 1 to 65535"],
    [":5000", "has no valid host name or IP address"],
    ["10.0.0.256:5000", "has no valid host name or IP address"],
    ["1.2.3:5000", "has no valid host name or IP address"],
    ["-host:5000", "has no valid host name or IP address"],
    ["host..lan:5000", "has no valid host name or IP address"],
    ["under_score:5000", "has no valid host name or IP address"],
    ["[fe80::1%eth0]:5000", "has no valid host name or IP address"],
    ["[1::2::3]:5000", "has no valid host name or IP address"],
    ["[hello]:5000", "has no valid host name or IP address"],
    [`${"a".repeat(64)}.lan:5000`, "has no valid host name or IP address"],
  ];
  for (const [hosts, problem] of cases) {
    const message = refused(PUB.replace("10.0.0.5:5000", hosts));
    assert(message.includes(problem), `${hosts}: ${message}`);
    assert(message.includes(`"${hosts.slice(0, 40)}`), message);
  }
  assertEquals(
    refused(PUB.replace("10.0.0.5:5000", "a:1,,b:2")),
    "This share link has an empty tracker address.",
  );
});

Deno.test("a link naming too many trackers is refused", () => {
  const hosts = (n: number) =>
    Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:5000`).join(",");
  const most = parseShareLink(PUB.replace("10.0.0.5:5000", hosts(8)));
  assertEquals(most.trackers.length, MAX_LINK_TRACKERS);
  assertEquals(
    refused(PUB.replace("10.0.0.5:5000", hosts(9))),
    "This share link names too many trackers (at most 8).",
  );
});

Deno.test("an overlong link is refused before it is read", () => {
  const long = `p2p://${"a".repeat(MAX_LINK_CHARS)}`;
  assertEquals(
    refused(long),
    "This share link is too long: a share link has at most 2048 characters.",
  );
  refused(`${PUB}${"/x".repeat(MAX_LINK_CHARS)}`);
});

Deno.test("text that is no link, or has spaces in it, is refused", () => {
  assertEquals(
    refused(ID),
    'This is not a share link: a share link starts with "p2p://".',
  );
  refused("http://10.0.0.5:5000/v1/pub/" + ID);
  refused(PUB.replace("/pub/", "/pub /"));
  refused(PUB.replace("/v1/", "/v1\u0000/"));
  refused(PUB.replace("10.0.0.5", "tracker.\u00e9xample"));
});

Deno.test("quoted values are cut to a readable length", () => {
  const message = refused(PUB.replace("/pub/", `/${"k".repeat(500)}/`));
  assert(message.length < 120, message);
  assert(message.includes("…"), message);
});

Deno.test("formatShareLink() refuses values no link can carry", () => {
  const good: ShareLink = {
    version: 1,
    trackers: [{ host: "10.0.0.5", port: 5000 }],
    kind: "public",
    id: ID,
  };
  const bad: ShareLink[] = [
    { ...good, trackers: [] },
    { ...good, trackers: [{ host: "10.0.0.5", port: 0 }] },
    { ...good, trackers: [{ host: "10.0.0.5", port: 1.5 }] },
    { ...good, trackers: [{ host: "a b", port: 5000 }] },
    { ...good, trackers: [{ host: "a/b", port: 5000 }] },
    { ...good, trackers: Array(MAX_LINK_TRACKERS + 1).fill(good.trackers[0]) },
    { ...good, id: ID.toUpperCase() },
    { ...good, id: ID.slice(0, 16) },
    {
      ...good,
      kind: "private",
      secret: new Uint8Array(15),
      shortId: ID.slice(0, 16),
    },
    { ...good, kind: "private", secret: SECRET, shortId: ID },
  ];
  for (const link of bad) {
    assertThrows(() => formatShareLink(link), TypeError);
  }
});
