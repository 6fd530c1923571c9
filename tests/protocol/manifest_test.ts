/**
 * Manifests: a folder tree round-trips through its canonical bytes with one
 * ID whatever the order of its entries, and every class of hostile path
 * (the holes of croc, libtorrent, KTorrent and aria2) is refused, by
 * `checkManifest` and by decoding, with one sentence naming the path.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { prng } from "../_hostile.ts";
import {
  checkManifest,
  decodeManifest,
  EMPTY_FILE_ID,
  encodeManifest,
  type Manifest,
  MANIFEST_MAGIC,
  type ManifestEntry,
  ManifestError,
  manifestId,
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_ENTRIES,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
} from "../../lib/protocol/manifest.ts";

const ID_A = "0123456789abcdef".repeat(4);
const ID_B = "fedcba9876543210".repeat(4);
const encoder = new TextEncoder();

function folder(...path: string[]): ManifestEntry {
  return { path, type: "folder", size: 0, executable: false };
}

function file(path: string[], size = 1, id = ID_A, executable = false) {
  const entry: ManifestEntry = { path, type: "file", size, executable, id };
  return entry;
}

/** A small tree: nested folders, an empty folder, an empty file, an executable. */
const TREE: Manifest = {
  name: "holiday",
  entries: [
    folder("photos"),
    file(["photos", "beach.jpg"], 123_456, ID_A),
    folder("photos", "2024"),
    file(["photos", "2024", "dawn.jpg"], 2 ** 40, ID_B),
    folder("empty"),
    file(["notes.txt"], 0, EMPTY_FILE_ID),
    file(["run.sh"], 42, ID_B, true),
  ],
};

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Orders entries as the format does: component by component, by UTF-8 bytes. */
function sorted(entries: ManifestEntry[]): ManifestEntry[] {
  const key = (e: ManifestEntry) => e.path.map((c) => encoder.encode(c));
  return entries.slice().sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const n = Math.min(x[i].length, y[i].length);
      for (let j = 0; j < n; j++) {
        if (x[i][j] !== y[i][j]) return x[i][j] - y[i][j];
      }
      if (x[i].length !== y[i].length) return x[i].length - y[i].length;
    }
    return x.length - y.length;
  });
}

function shuffled<T>(items: T[], seed: number): T[] {
  const next = prng(seed);
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Manifest bytes written as given, with none of the encoder's checks: the
 * entries sorted by the format's order (stable, so repeats stay), names as
 * UTF-8 (lone surrogates become U+FFFD).
 */
function raw(manifest: Manifest, sort = true): Uint8Array {
  const parts: number[] = [...MANIFEST_MAGIC, 1];
  const name = encoder.encode(manifest.name);
  parts.push(name.length, ...name, ...u32(manifest.entries.length));
  const entries = sort ? sorted(manifest.entries) : manifest.entries;
  for (const entry of entries) {
    const own = encoder.encode(entry.path[entry.path.length - 1]);
    const kind = entry.type === "folder" ? 0 : entry.executable ? 2 : 1;
    parts.push(kind, entry.path.length, own.length, ...own);
    if (entry.type === "file") {
      parts.push(...u32(Math.floor(entry.size / 2 ** 32)));
      parts.push(...u32(entry.size % 2 ** 32));
      parts.push(...(entry.id!.match(/../g) ?? []).map((h) => parseInt(h, 16)));
    }
  }
  return Uint8Array.from(parts);
}

function u32(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** Checks that `error` is a ManifestError reading as one safe sentence. */
function readsWell(error: Error, mentions: string): void {
  assert(error instanceof ManifestError, `ManifestError, got ${error}`);
  const message = error.message;
  assert(message.startsWith("Refusing "), `starts as a refusal: ${message}`);
  assert(message.endsWith("."), `ends with a full stop: ${message}`);
  assert(
    (message.match(/\. |\.$/g) ?? []).length === 1,
    `one sentence: ${message}`,
  );
  assert(
    // deno-lint-ignore no-control-regex
    !/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(message),
    `no raw control characters: ${JSON.stringify(message)}`,
  );
  assert(message.isWellFormed(), `well formed: ${message}`);
  assert(
    message.includes(mentions),
    `mentions ${mentions}: ${JSON.stringify(message)}`,
  );
}

/**
 * Expects `checkManifest`, the encoder (unless `encodes`: it puts names in
 * NFC) and decoding the raw bytes (unless not `decodable`: UTF-8 cannot
 * carry the string) to refuse `manifest` with a sentence mentioning
 * `mentions`. Returns the message.
 */
function refused(
  manifest: Manifest,
  mentions: string,
  { decodable = true, encodes = false } = {},
): string {
  const error = assertThrows(() => checkManifest(manifest));
  readsWell(error, mentions);
  if (!encodes) {
    readsWell(assertThrows(() => encodeManifest(manifest)), mentions);
  }
  if (decodable) {
    readsWell(assertThrows(() => decodeManifest(raw(manifest))), mentions);
  }
  return error.message;
}

/** `name` as a folder below the top (and the manifest holding just it). */
function hostile(name: string): Manifest {
  return { name: "share", entries: [folder(name)] };
}

Deno.test("a tree with nested and empty folders, an empty file and an executable round-trips", () => {
  const bytes = encodeManifest(TREE);
  assertEquals(decodeManifest(bytes), {
    ...TREE,
    entries: sorted(TREE.entries),
  });
  assertEquals(decodeManifest(bytes).entries.map((e) => e.path.join("/")), [
    "empty",
    "notes.txt",
    "photos",
    "photos/2024",
    "photos/2024/dawn.jpg",
    "photos/beach.jpg",
    "run.sh",
  ]);
  assertEquals(EMPTY_FILE_ID, sha256(new Uint8Array(0)));
});

Deno.test("the same entries in any order give the same bytes and ID, the SHA-256 of the bytes", () => {
  const bytes = encodeManifest(TREE);
  const id = manifestId(TREE);
  assertEquals(id, sha256(bytes));
  assert(/^[0-9a-f]{64}$/.test(id));
  for (let seed = 1; seed <= 20; seed++) {
    const other = { ...TREE, entries: shuffled(TREE.entries, seed) };
    assertEquals(encodeManifest(other), bytes);
    assertEquals(manifestId(other), id);
  }
  const renamed = { ...TREE, name: "holiday2" };
  assert(manifestId(renamed) !== id, "the name is part of the ID");
  const notExecutable = {
    ...TREE,
    entries: TREE.entries.map((e) => ({ ...e, executable: false })),
  };
  assert(manifestId(notExecutable) !== id, "the executable bit is part of it");
});

Deno.test("the format writes magic, version, name, count, then kind, depth and last name of each entry", () => {
  const bytes = encodeManifest({
    name: "a",
    entries: [
      file(["d"], 2 ** 32 + 1, "ff".repeat(32), true),
      file(["b", "c"], 1, "00".repeat(32)),
      folder("b"),
    ],
  });
  assertEquals(Array.from(bytes), [
    ...[0x70, 0x32, 0x70, 0x6d, 1, 1, 0x61, 0, 0, 0, 3],
    ...[0, 1, 1, 0x62],
    ...[1, 2, 1, 0x63, 0, 0, 0, 0, 0, 0, 0, 1, ...new Array(32).fill(0)],
    ...[2, 1, 1, 0x64, 0, 0, 0, 1, 0, 0, 0, 1, ...new Array(32).fill(255)],
  ]);
});

Deno.test("entries are ordered by the UTF-8 bytes of each component, not by UTF-16 or joined paths", () => {
  const manifest: Manifest = {
    name: "order",
    entries: [
      folder("a"),
      file(["a", "b"]),
      file(["a-b"]),
      file(["\u{1F600}"]), // F0 9F 98 80 in UTF-8, D83D DE00 in UTF-16
      file(["\uFF21"]), // EF BC A1 in UTF-8
      file(["B"]),
    ],
  };
  const names = decodeManifest(encodeManifest(manifest)).entries.map((e) =>
    e.path.join("/")
  );
  assertEquals(names, ["B", "a", "a/b", "a-b", "\uFF21", "\u{1F600}"]);
});

Deno.test("names with spaces, CJK, emoji, accents and a leading BOM round-trip unchanged", () => {
  const manifest: Manifest = {
    name: "Vacances d’été 2024",
    entries: [
      folder("写真 フォルダ"),
      file(["写真 フォルダ", "🎉 party 🥳.jpg"]),
      file(["Ünïcödé naïve café.txt"]),
      file(["👩‍💻 family 👨‍👩‍👧.md"]),
      file(["\uFEFFbom.txt"]),
      file(["  leading spaces"]),
      file(["a".repeat(255)]),
    ],
  };
  assertEquals(
    decodeManifest(encodeManifest(manifest)),
    { ...manifest, entries: sorted(manifest.entries) },
  );
});

Deno.test("the encoder puts names given in NFD into NFC: the same bytes and ID as NFC input", () => {
  const nfd = "cafe\u0301";
  const nfc = "caf\u00e9";
  const asNfd = { name: nfd, entries: [folder(nfd), file([nfd, nfd])] };
  const asNfc = { name: nfc, entries: [folder(nfc), file([nfc, nfc])] };
  assertEquals(encodeManifest(asNfd), encodeManifest(asNfc));
  assertEquals(manifestId(asNfd), manifestId(asNfc));
  assertEquals(decodeManifest(encodeManifest(asNfd)).name, nfc);
  // checkManifest and the decoder do not normalize: they refuse.
  const options = { encodes: true };
  refused(asNfd, "not in Unicode normalization form NFC", options);
  refused(hostile("\u212Aelvin"), "NFC", options); // KELVIN SIGN: "Kelvin"
});

Deno.test("two names equal once in NFC are refused as one path listed twice", () => {
  const m = {
    name: "share",
    entries: [file(["cafe\u0301"]), file(["caf\u00e9"])],
  };
  const error = assertThrows(() => encodeManifest(m));
  readsWell(error, `"share/café"`);
  assert(error.message.includes("listed twice"), error.message);
});

Deno.test("path traversal with '..' is refused (croc CVE-2023-43616, aria2 CVE-2010-1512)", () => {
  refused(hostile(".."), `"share/.."`);
  refused({
    name: "share",
    entries: [folder("a"), folder("a", ".."), file(["a", "..", "passwd"])],
  }, `"share/a/.."`);
  refused({ name: "..", entries: [] }, `name ".."`);
});

Deno.test("'.' and empty components are refused", () => {
  refused(hostile("."), `"share/."`);
  // An empty entry name is not even a whole entry to the decoder.
  refused(hostile(""), `"share/"`, { decodable: false });
  assertThrows(() => decodeManifest(raw(hostile(""))), RangeError);
  refused({ name: "", entries: [] }, `name ""`);
  refused({ name: ".", entries: [] }, `name "."`);
});

Deno.test("components holding '/' or '\\' are refused: absolute, relative and UNC paths (libtorrent CVE-2009-1760, KTorrent CVE-2007-1799)", () => {
  refused(hostile("../../etc/passwd"), `"share/../../etc/passwd"`);
  refused(hostile("/etc/passwd"), `"share//etc/passwd"`);
  refused(hostile("..\\..\\evil.exe"), `"share/..\\\\..\\\\evil.exe"`);
  refused(hostile("\\\\server\\share"), `"share/\\\\\\\\server\\\\share"`);
  refused(hostile("a/b"), "separate folders");
  refused({ name: "/", entries: [] }, `name "/"`);
  refused({ name: "x\\y", entries: [] }, "separate folders");
});

Deno.test("drive letters and NTFS streams (':') and other characters Windows forbids are refused", () => {
  refused(hostile("C:"), `"share/C:"`);
  refused(hostile("c:evil.dll"), "drive letter");
  refused(hostile("notes.txt:hidden"), `"share/notes.txt:hidden"`);
  refused(hostile("dir::$INDEX_ALLOCATION"), "file stream");
  refused({ name: "D:", entries: [] }, `name "D:"`);
  for (const char of ["<", ">", "|", "?", "*"]) {
    refused(hostile(`a${char}b`), "Windows does not allow");
  }
  refused(hostile('say "hi"'), `"share/say \\"hi\\""`);
});

Deno.test("control characters, ESC included, are refused and never echoed raw", () => {
  const cases: [string, string][] = [
    ["\u0000", `"share/\\x00"`],
    ["a\u001b[2Jb", `"share/a\\x1b[2Jb"`],
    ["line\nbreak", `"share/line\\x0abreak"`],
    ["tab\there", "U+0009"],
    ["del\u007f", "U+007F"],
    ["next\u0085line", `\\x85`],
    ["csi\u009b31m", "U+009B"],
  ];
  for (const [name, mentions] of cases) refused(hostile(name), mentions);
  refused({ name: "\u001b]0;pwned\u0007", entries: [] }, `\\x1b]0;pwned`);
});

Deno.test("bidirectional overrides that disguise an extension are refused", () => {
  refused(hostile("invoice\u202Efdp.exe"), `"share/invoice\\u202efdp.exe"`);
  refused(hostile("x\u2066y"), "U+2066");
});

Deno.test("lone surrogates are refused in names, and bad UTF-8 when decoding", () => {
  const options = { decodable: false };
  refused(hostile("\ud800x"), `"share/\\ud800x"`, options);
  refused(hostile("x\udc00"), "lone surrogate", options);
  refused({ name: "\udfff", entries: [] }, "not valid Unicode", options);
  const good = raw(hostile("abc"));
  for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff, 0x61]]) {
    // The last entry name "abc" is the last 3 bytes; replace it.
    const bytes = Uint8Array.from([...good.slice(0, -4), bad.length, ...bad]);
    assertThrows(() => decodeManifest(bytes), TypeError);
  }
});

Deno.test("reserved Windows device names are refused in any case, with an extension, and with superscript digits", () => {
  const reserved = [
    "CON",
    "con",
    "Con.txt",
    "aux.tar.gz",
    "NUL",
    "nul .txt",
    "PRN",
    "COM1",
    "com9.log",
    "COM0",
    "lpt1",
    "LPT9",
    "COM\u00b9",
    "lpt\u00b3.txt",
    "CONIN$",
    "conout$",
  ];
  for (const name of reserved) {
    refused(hostile(name), `"share/${name}"`);
    refused({ name, entries: [] }, "device name");
  }
  const fine = ["CONSOLE", "com10", "auxiliary.txt", "nul_x", "lpt", "xcon"];
  for (const name of fine) checkManifest(hostile(name));
});

Deno.test("names ending in a dot or a space are refused", () => {
  for (const name of ["a.", "a ", "...", " ", "dir ."]) {
    refused(hostile(name), `"share/${name}"`);
  }
  refused({ name: "top.", entries: [] }, "ends in a dot or a space");
});

Deno.test("a component over 255 UTF-8 bytes is refused, 255 bytes are fine", () => {
  const long = hostile("é".repeat(128));
  refused(long, "256 bytes long, more than 255", { decodable: false });
  // Its length does not fit the length byte: the decoder reads 0 and stops.
  assertThrows(() => decodeManifest(raw(long)));
  refused({ name: "x".repeat(256), entries: [] }, "more than 255", {
    decodable: false,
  });
  checkManifest(hostile("é".repeat(127) + "x"));
});

Deno.test("paths that collide after case folding or ignorable characters are refused", () => {
  const pairs: [string, string, string][] = [
    ["README.md", "Readme.md", "Readme.md"],
    ["STRASSE", "straße", "straße"],
    ["ΑΣ", "ας", "ας"],
    ["I", "ı", "ı"],
    ["ab", "a\u200bb", "a\\u200bb"],
    ["x", "X", "X"],
  ];
  for (const [a, b, bShown] of pairs) {
    const message = refused(
      { name: "share", entries: [file([a]), file([b], 2, ID_B)] },
      "only in letter case",
    );
    assert(
      message.includes(`"share/${a}"`) && message.includes(`"share/${bShown}"`),
      message,
    );
  }
  refused({
    name: "share",
    entries: [folder("Docs"), file(["Docs", "a"]), folder("docs")],
  }, `"share/docs"`);
});

Deno.test("a path that is both a file and a folder is refused", () => {
  const message = refused(
    { name: "share", entries: [file(["a"]), file(["a", "b"])] },
    `"share/a/b"`,
  );
  assert(message.includes(`"share/a" is a file`), message);
  const twice = assertThrows(() =>
    checkManifest({ name: "share", entries: [file(["a"]), folder("a")] })
  );
  readsWell(twice, "listed twice");
  assertThrows(
    () =>
      decodeManifest(raw({ name: "s", entries: [folder("a"), folder("a")] })),
    TypeError,
  );
});

Deno.test("every path's folder must be listed as a folder entry", () => {
  const error = assertThrows(() =>
    checkManifest({
      name: "share",
      entries: [folder("a"), file(["a", "b", "c"])],
    })
  );
  readsWell(error, `"share/a/b/c"`);
  assert(error.message.includes(`"share/a/b" is not listed`), error.message);
  // The format cannot even say it: a depth past the previous entry's + 1.
  const bytes = raw({ name: "s", entries: [file(["a", "b"])] });
  assertThrows(() => decodeManifest(bytes), RangeError);
});

Deno.test("files need a full ID and a safe size; folders have neither nor the executable bit", () => {
  const bad: [ManifestEntry, string][] = [
    [{ path: ["f"], type: "file", size: 1, executable: false }, "its ID"],
    [file(["f"], 1, ID_A.toUpperCase()), "its ID"],
    [file(["f"], 1, ID_A.slice(1)), "its ID"],
    [file(["f"], -1), "its size"],
    [file(["f"], 1.5), "its size"],
    [file(["f"], NaN), "its size"],
    [file(["f"], 2 ** 53), "its size"],
    [{ ...folder("d"), size: 1 }, "a folder has no size"],
    [{ ...folder("d"), id: ID_A }, "a folder has no size"],
    [{ ...folder("d"), executable: true }, "a folder has no size"],
    [{ ...folder("d"), type: "link" as "file" }, "neither a file nor a folder"],
    [{ ...file(["f"]), executable: 1 as unknown as boolean }, "executable"],
  ];
  for (const [entry, mentions] of bad) {
    const error = assertThrows(() =>
      checkManifest({ name: "share", entries: [entry] })
    );
    readsWell(error, mentions);
    readsWell(error, `"share/${entry.path[0]}"`);
  }
  checkManifest({ name: "s", entries: [file(["f"], Number.MAX_SAFE_INTEGER)] });
  readsWell(
    assertThrows(() =>
      checkManifest({
        name: "s",
        entries: [file(["f"], 2 ** 52), file(["g"], 2 ** 52)],
      })
    ),
    "add up to more than",
  );
});

Deno.test(`paths deeper than MAX_PATH_DEPTH (${MAX_PATH_DEPTH}) are refused; that depth round-trips`, () => {
  const names = Array.from({ length: MAX_PATH_DEPTH + 1 }, (_, i) => `d${i}`);
  const entries = names.map((_, i) => folder(...names.slice(0, i + 1)));
  const deep = { name: "s", entries: entries.slice(0, MAX_PATH_DEPTH) };
  assertEquals(decodeManifest(encodeManifest(deep)), deep);
  refused({ name: "s", entries }, "65 folders deep, more than 64", {
    decodable: false,
  });
  // Decoding stops at the depth byte, before building the path.
  assertThrows(() => decodeManifest(raw({ name: "s", entries })), RangeError);
});

Deno.test(`paths over MAX_PATH_BYTES (${MAX_PATH_BYTES}) with the top name are refused; exactly that is fine`, () => {
  const long = "x".repeat(255);
  const folders = Array.from({ length: 15 }, () => long);
  const entries = folders.map((_, i) => folder(...folders.slice(0, i + 1)));
  const fits = [...entries, file([...folders, "y".repeat(254)])];
  checkManifest({ name: "s", entries: fits }); // 1 + 15 * 256 + 255 bytes
  const over = [...entries, file([...folders, "y".repeat(255)])];
  refused({ name: "s", entries: over }, `the path is 4097 bytes long`);
});

Deno.test(`more than MAX_MANIFEST_ENTRIES (${MAX_MANIFEST_ENTRIES}) entries are refused before any is read`, () => {
  const many = new Array<ManifestEntry>(MAX_MANIFEST_ENTRIES + 1);
  readsWell(
    assertThrows(() => checkManifest({ name: "big", entries: many })),
    "1,000,001 entries",
  );
  const header = raw({ name: "big", entries: [] });
  header.set(u32(MAX_MANIFEST_ENTRIES + 1), header.length - 4);
  assertThrows(() => decodeManifest(header), RangeError);
  header.set(u32(1000), header.length - 4);
  assertThrows(() => decodeManifest(header), RangeError);
});

Deno.test("encoding and decoding refuse more bytes than MAX_MANIFEST_BYTES or options.maxBytes", () => {
  const size = encodeManifest(TREE).length;
  encodeManifest(TREE, { maxBytes: size });
  assertThrows(() => encodeManifest(TREE, { maxBytes: size - 1 }), RangeError);
  const bytes = encodeManifest(TREE);
  decodeManifest(bytes, { maxBytes: size });
  assertThrows(() => decodeManifest(bytes, { maxBytes: size - 1 }), RangeError);
  const huge = new Uint8Array(MAX_MANIFEST_BYTES + 1);
  assertThrows(() => decodeManifest(huge), RangeError);
});

Deno.test("decoding refuses every truncation and any byte added after the end", () => {
  const bytes = encodeManifest(TREE);
  for (let n = 0; n < bytes.length; n++) {
    assertThrows(() => decodeManifest(bytes.subarray(0, n)));
  }
  const longer = Uint8Array.from([...bytes, 0]);
  assertThrows(() => decodeManifest(longer), RangeError);
});

Deno.test("decoding refuses a wrong magic or version, an unknown kind, bad depths, disorder, repeats and oversized sizes", () => {
  const good = raw({ name: "s", entries: [folder("a"), file(["a", "b"])] });
  decodeManifest(good);
  const patched = (at: number, value: number) => {
    const copy = good.slice();
    copy[at] = value;
    return copy;
  };
  const first = 4 + 1 + 2 + 4; // magic, version, name "s", count
  assertThrows(() => decodeManifest(patched(0, 0x71)), TypeError);
  assertThrows(() => decodeManifest(patched(4, 2)), TypeError);
  assertThrows(() => decodeManifest(patched(4, 0)), TypeError);
  assertThrows(() => decodeManifest(patched(first, 3)), TypeError);
  assertThrows(() => decodeManifest(patched(first + 1, 0)), RangeError);
  assertThrows(() => decodeManifest(patched(first + 1, 2)), RangeError);
  assertThrows(() => decodeManifest(patched(first + 5, 3)), RangeError);
  const disorder = raw(
    { name: "s", entries: [file(["b"]), file(["a"])] },
    false,
  );
  assertThrows(() => decodeManifest(disorder), TypeError);
  const prefixLater = raw(
    { name: "s", entries: [file(["ab"]), file(["a"])] },
    false,
  );
  assertThrows(() => decodeManifest(prefixLater), TypeError);
  const tooBig = raw({ name: "s", entries: [file(["a"], 0)] });
  tooBig.set([0, 0x20, 0, 0], first + 4); // high word 2^21: size 2^53
  assertThrows(() => decodeManifest(tooBig), RangeError);
});

Deno.test("an empty manifest (an empty folder shared) round-trips", () => {
  const empty = { name: "nothing here", entries: [] };
  assertEquals(decodeManifest(encodeManifest(empty)), empty);
});

Deno.test("600 seeded mutations of valid manifests only decode canonically or throw ManifestError, RangeError or TypeError", () => {
  const seeds = [
    encodeManifest(TREE),
    encodeManifest({ name: "s", entries: [folder("a"), file(["a", "b"])] }),
    encodeManifest({
      name: "写真",
      entries: [file(["🎉.jpg"], 0, EMPTY_FILE_ID)],
    }),
  ];
  const next = prng(23);
  const int = (n: number) => Math.floor(next() * n);
  const started = performance.now();
  let decoded = 0;
  for (let i = 0; i < 600; i++) {
    const input = mutate(seeds[i % seeds.length], int);
    try {
      const manifest = decodeManifest(input);
      decoded++;
      assertEquals(encodeManifest(manifest), input, `input ${i} re-encodes`);
    } catch (error) {
      assert(
        error instanceof ManifestError || error instanceof RangeError ||
          error instanceof TypeError,
        `input ${i}: unexpected ${error}`,
      );
    }
  }
  // Both sides are reached: some mutations (a name's letter) still decode.
  assert(decoded > 0 && decoded < 300, `${decoded} of 600 decoded`);
  assert(performance.now() - started < 5_000, "fuzz run took over 5 s");
});

/** One random change: a bit flipped, a byte set, cut, added or removed. */
function mutate(seed: Uint8Array, int: (n: number) => number): Uint8Array {
  const bytes = [...seed];
  const at = int(bytes.length);
  switch (int(6)) {
    case 0:
      bytes[at] ^= 1 << int(8);
      break;
    case 1:
      bytes[at] = [0, 255, int(256), 1, 0x2f, 0x2e][int(6)];
      break;
    case 2:
      return Uint8Array.from(bytes.slice(0, at));
    case 3:
      bytes.splice(
        at,
        0,
        ...Array.from({ length: 1 + int(8) }, () => int(256)),
      );
      break;
    case 4:
      bytes.splice(at, 1 + int(8));
      break;
    default:
      bytes.splice(at, 0, ...bytes.slice(at, at + 1 + int(48)));
  }
  return Uint8Array.from(bytes);
}
