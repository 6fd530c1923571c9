/**
 * Every sentence with command-line advice that can reach the page, made by
 * the code that writes it, said in the page's words by `forPage`: the
 * Save to folder, Get and Resume for `--out` and "run the same get again",
 * how to start `peer ui` for the tracker and the team's secret, the
 * command line for a piece size the page cannot choose, the Shared list
 * for the prompt's "status". The command line keeps its words.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir, unfinishedPart } from "../fixtures.ts";
import { diskError } from "../../lib/download/_download_error.ts";
import {
  noTrackerAnswered,
  RUNNING_HINT,
} from "../../lib/discovery/tracker_trouble.ts";
import {
  connectFailure,
  TrackerUnreachableError,
} from "../../lib/discovery/tracker_errors.ts";
import { handshakeFailure } from "../../lib/app/user_errors.ts";
import { refuseUnfinished, shareError } from "../../lib/app/_share_error.ts";
import { pickOne } from "../../lib/app/_file_refs.ts";
import { parseFileId } from "../../lib/app/file_id.ts";
import { tooManyPieces } from "../../lib/storage/_folder_walk.ts";
import { HandshakeRefusedError } from "../../lib/secure/secret_stream.ts";
import { forPage, sentenceFor } from "../../lib/web/_tracked.ts";

/** Command-line advice none of the page's sentences may keep. */
const CLI_ADVICE =
  /--out\b|--wait\b|--force\b|run the same get|Set --tracker|P2P_|point --tracker|leave out|peer get|type "status"|share printed|Choose a larger --piece-size|same --piece-size|piece size or share less/i;

const DIR = "/mnt/usb/downloads";
const PART = `${DIR}/report.pdf.part`;

/** A system error with `code`, as Deno gives one. */
function osError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

const FULL = osError("No space left on device (os error 28)", "ENOSPC");
const READ_ONLY = osError("Read-only file system (os error 30)", "EROFS");
const DENIED = new Deno.errors.PermissionDenied(
  "Permission denied (os error 13)",
);
const GONE = new Deno.errors.NotFound("No such file or directory (os error 2)");
const IO = osError("Input/output error (os error 5): write");

/** A get the disk refused, with and without its `.part` kept. */
function disk(error: unknown, kept: boolean, opening = false): string {
  return diskError(DIR, error, { path: PART, kept, opening }).message;
}

/** [what, the command line's sentence, Resume offered, the page's]. */
type Case = [string, string, boolean, string];

const GET_CASES: Case[] = [
  [
    "a full disk, the partial download kept, Resume offered",
    disk(FULL, true),
    true,
    `Cannot write to ${DIR}: the disk is full. Free some space and press Resume to go on from the partial download ${PART}, or pick another Save to folder and get it again.`,
  ],
  [
    "a full disk, the partial download kept, no Resume",
    disk(FULL, true),
    false,
    `Cannot write to ${DIR}: the disk is full. Free some space and get it again into the same folder to go on from the partial download ${PART}, or pick another Save to folder and get it again.`,
  ],
  [
    "a full disk, nothing kept",
    disk(FULL, false),
    false,
    `Cannot write to ${DIR}: the disk is full. Free some space or pick another Save to folder, then get it again.`,
  ],
  [
    "a full disk, nothing kept, though Resume is offered",
    disk(FULL, false),
    true,
    `Cannot write to ${DIR}: the disk is full. Free some space or pick another Save to folder, then get it again.`,
  ],
  [
    "a read-only file system",
    disk(READ_ONLY, false),
    false,
    `Cannot write to ${DIR}: it is on a read-only file system; pick another Save to folder and get it again.`,
  ],
  [
    "a read-only file system, the partial download kept",
    disk(READ_ONLY, true),
    true,
    `Cannot write to ${DIR}: it is on a read-only file system; pick another Save to folder and get it again. The partial download ${PART} is kept.`,
  ],
  [
    "a folder no one may write to",
    disk(DENIED, false),
    false,
    `Cannot write to ${DIR}: you may not write there; pick another Save to folder and get it again.`,
  ],
  [
    "a special file system that refuses new files",
    disk(GONE, false, true),
    false,
    `Cannot write to ${DIR}: the system does not allow new files there; pick another Save to folder and get it again.`,
  ],
  [
    "part of a .part removed, Resume offered",
    disk(GONE, true),
    true,
    `Part of the partial download ${PART} was removed while downloading; nothing was saved. Press Resume to download what is missing.`,
  ],
  [
    "part of a .part removed, no Resume",
    disk(GONE, true),
    false,
    `Part of the partial download ${PART} was removed while downloading; nothing was saved. Get it again to download what is missing.`,
  ],
  [
    "a .part removed",
    disk(GONE, false),
    false,
    `The partial download ${PART} was removed while downloading; nothing was saved. Get it again to start over.`,
  ],
  [
    "another system error, the partial download kept, Resume offered",
    disk(IO, true),
    true,
    `Cannot write to ${DIR}: input/output error. The partial download ${PART} is kept: press Resume to go on, or pick another Save to folder and get it again.`,
  ],
  [
    "another system error, nothing kept",
    disk(IO, false),
    false,
    `Cannot write to ${DIR}: input/output error. Get it again, into the same Save to folder or another.`,
  ],
  [
    "another system error, nothing kept, Resume offered",
    disk(IO, false),
    true,
    `Cannot write to ${DIR}: input/output error. Press Resume, or pick another Save to folder and get it again.`,
  ],
  [
    // Written by strayEntries in lib/download/_folder_target.ts, which
    // only a folder's download reaches.
    "entries put in a folder's .part while it downloaded",
    `Not saved: ${DIR}/album.part holds 1 entry the share does not have (x.txt), put there while it downloaded. Move it out and run the same get again: it resumes from the verified files kept there.`,
    true,
    `Not saved: ${DIR}/album.part holds 1 entry the share does not have (x.txt), put there while it downloaded. Move it out and press Resume: it resumes from the verified files kept there.`,
  ],
];

for (const [what, cli, resume, page] of GET_CASES) {
  Deno.test(`forPage: a get's ${what} is said with the page's Save to, Get and Resume`, () => {
    assert(CLI_ADVICE.test(cli), `the command line's words: ${cli}`);
    const said = forPage(cli, { resume });
    assertEquals(said, page);
    assert(!CLI_ADVICE.test(said), said);
    // Said again (the failure's note): the same.
    assertEquals(forPage(said), said);
  });
}

const TRACKER = { host: "10.0.0.5", port: 5000 };

/** The sentences about the tracker and the team's secret. */
function trackerCases(): [string, string, string][] {
  const down = (port: number) =>
    new TrackerUnreachableError(
      { host: "127.0.0.1", port },
      `Cannot reach tracker at 127.0.0.1:${port}: connection refused.${RUNNING_HINT}`,
    );
  const both = noTrackerAnswered([
    { tracker: { host: "127.0.0.1", port: 1 }, error: down(1) },
    { tracker: { host: "127.0.0.1", port: 2 }, error: down(2) },
  ]) as Error;
  const secret = (reason: "key-required" | "no-key-expected") =>
    connectFailure(new HandshakeRefusedError(reason), 10_000);
  return [
    [
      "a tracker that cannot be reached",
      down(1).message,
      "Cannot reach tracker at 127.0.0.1:1: connection refused. Is it running? If the tracker is elsewhere, restart peer ui with --tracker.",
    ],
    [
      "several trackers that cannot be reached",
      both.message,
      "Cannot reach any of the 2 trackers: 127.0.0.1:1 (connection refused), 127.0.0.1:2 (connection refused). Are they running? If they are elsewhere, restart peer ui with --tracker.",
    ],
    [
      // Written by TrackerConnection (lib/discovery/_tracker_connection.ts)
      // when a peer answers as the tracker; tests/discovery has it real.
      "a peer given as the tracker",
      "10.0.0.5:6000 is a peer, not a tracker: point --tracker (or P2P_TRACKER) at the tracker's address.",
      "10.0.0.5:6000 is a peer, not a tracker: restart peer ui with --tracker set to the tracker's address.",
    ],
    [
      "a team tracker asked without the secret",
      `The tracker at 10.0.0.5:5000 could not be used (${
        secret("key-required")
      }).`,
      "The tracker at 10.0.0.5:5000 could not be used (it is a team tracker and needs the team's secret (restart peer ui with --secret-file)).",
    ],
    [
      "an open tracker asked with a secret",
      `The tracker at 10.0.0.5:5000 could not be used (${
        secret("no-key-expected")
      }).`,
      "The tracker at 10.0.0.5:5000 could not be used (it is an open tracker and takes no team secret: restart peer ui without --secret-file (or P2P_TEAM_SECRET) for it).",
    ],
    [
      "a peer that needs a secret",
      handshakeFailure(new HandshakeRefusedError("key-required")),
      "The other side accepts only connections that prove a secret: paste its share link, or restart peer ui with the team's secret (--secret-file).",
    ],
    [
      "a peer that takes no secret",
      handshakeFailure(new HandshakeRefusedError("no-key-expected")),
      "The other side takes no secret: restart peer ui without the team's secret (--secret-file) for it.",
    ],
    [
      // The tracker's refusal (lib/tracker/service.ts), read off the wire.
      "a tracker refusing a file cut another way at this address",
      `The tracker at ${TRACKER.host}:${TRACKER.port} could not be used (Another peer at 127.0.0.1 already shares file abababababababab cut into pieces of another size; every peer at one address must use the same --piece-size for it (or none)).`,
      `The tracker at ${TRACKER.host}:${TRACKER.port} could not be used (Another peer at 127.0.0.1 already shares file abababababababab cut into pieces of another size; every peer at one address must cut it into pieces of the same size, and the page uses the usual size: stop that other share of it first).`,
    ],
  ];
}

for (const [what, cli, page] of trackerCases()) {
  Deno.test(`forPage: ${what} is said with how to start peer ui, not the command line's flags and variables`, () => {
    // The page's words still name peer ui's flags: its only remedy.
    assert(cli !== page, `the command line's words: ${cli}`);
    const said = forPage(cli);
    assertEquals(said, page);
    assertEquals(forPage(said), said);
  });
}

Deno.test("forPage: a share the page cannot make is said with what the page or the command line can do", async () => {
  await using dir = await tempDir();
  const part = join(dir.path, "c.bin.part");
  await unfinishedPart(part);
  const unfinished = await refuseUnfinished(part).then(
    () => "",
    (error: Error) => error.message,
  );
  const tooMany = (shareError("/big.iso", new RangeError("x")) as Error)
    .message;
  // How lib/app/_folder_shares.ts words a scan's error.
  const folder = `Cannot share "/data": ${
    tooManyPieces(`"/data"`, 262144).message
  }.`;
  const cases: [string, string][] = [
    [
      unfinished.replace(/ \((about \d+% done|nothing received yet)\)/, ""),
      `Cannot share "${part}": it is an unfinished download of c.bin; finish it with Get on this page, or share the finished file.`,
    ],
    [
      tooMany,
      'Cannot share "/big.iso": it has too many pieces. Share it from the command line, with peer share and a larger --piece-size.',
    ],
    [
      folder,
      'Cannot share "/data": "/data" would have more than 1,048,576 pieces of 262144 bytes, over the limit; share less, or share it from the command line, with peer share and a larger --piece-size.',
    ],
  ];
  for (const [cli, page] of cases) {
    assert(CLI_ADVICE.test(cli), `the command line's words: ${cli}`);
    assertEquals(forPage(cli), page);
    assertEquals(forPage(page), page);
  }
});

Deno.test("forPage: the prompt's 'status' and 'that share printed' are said with the page's lists and its Get", () => {
  const gone = "ab".repeat(32);
  const unshared = (() => {
    try {
      pickOne([], gone, "shared file", "status");
    } catch (error) {
      return (error as Error).message;
    }
    return "";
  })();
  const notAnId = (() => {
    try {
      parseFileId("report.pdf");
    } catch (error) {
      return (error as Error).message;
    }
    return "";
  })();
  const cases: [string, string][] = [
    [
      unshared,
      `No shared file matches "${gone}": the Shared list shows what is shared.`,
    ],
    [
      notAnId,
      '"report.pdf" is not a file ID: use the 16 to 64 hex characters (0-9, a-f) its sharer gives, or paste its share link.',
    ],
  ];
  for (const [cli, page] of cases) {
    assert(CLI_ADVICE.test(cli), `the command line's words: ${cli}`);
    assertEquals(forPage(cli), page);
    assertEquals(forPage(page), page);
  }
});

Deno.test("sentenceFor: a failed get's error is said in the page's words, with Resume when the page offers it", () => {
  const error = diskError(DIR, FULL, { path: PART, kept: true });
  assertEquals(
    sentenceFor(error, { resume: true }),
    `Cannot write to ${DIR}: the disk is full. Free some space and press Resume to go on from the partial download ${PART}, or pick another Save to folder and get it again.`,
  );
  // The command line's sentence is unchanged.
  assert(error.message.endsWith("or pick another --out."), error.message);
});
