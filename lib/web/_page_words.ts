/**
 * Sentences written for the command line, said in the page's words. Their
 * advice to give a flag (`--out`, `--tracker`, `--secret-file`,
 * `--piece-size`) or to run a command again becomes what the page offers:
 * the Save to folder, Get, Resume (on a failed get that saved some bytes),
 * the Shared list; or, for what the page cannot change (its tracker, the
 * team's secret, the piece size), how to start `peer ui` or what to run.
 * Only the sentences that reach the page are translated: each one is in
 * tests/web/page_words_test.ts, made by the code that writes it.
 *
 * @module
 */

import { TEAM_SECRET_ENV, TRACKER_ENV } from "../protocol/limits.ts";

/** Options for {@linkcode forPage}. */
export interface PageWordsOptions {
  /**
   * The sentence is a failed get's, and its item offers Resume (it saved
   * some bytes): "run the same get again" becomes "press Resume".
   * @default {false}
   */
  resume?: boolean;
}

/** The page's words for one match, given the options. */
type Words = (options: PageWordsOptions, match: string) => string;

/** What a get run again is, on the page: Resume, else Get again. */
function again(capital: boolean): Words {
  return ({ resume }) => {
    const words = resume ? "press Resume" : "get it again";
    return capital ? words[0].toUpperCase() + words.slice(1) : words;
  };
}

/** Where the page's only remedy is to start `peer ui` another way. */
const RESTART = "restart peer ui";

/**
 * Each command-line phrase and what the page says instead, the longer
 * before the shorter they contain. The page's words never contain a
 * phrase of the list: text said twice (a failure's note) stays the same.
 */
const TRANSLATIONS: readonly (readonly [RegExp, Words])[] = [
  // A get the disk refused (lib/download/_download_error.ts): another
  // folder is the Save to field and Get; the same get again is Resume when
  // the item offers it (it goes to the same folder), else Get.
  [
    /Run the same get again, or pick another --out\./g,
    ({ resume }) =>
      resume
        ? "Press Resume, or pick another Save to folder and get it again."
        : "Get it again, into the same Save to folder or another.",
  ],
  [
    /pick another --out, then run the same get again/g,
    () => "pick another Save to folder, then get it again",
  ],
  [
    /run the same get again to resume/g,
    ({ resume }) =>
      resume
        ? "press Resume to go on"
        : "get it again into the same folder to go on",
  ],
  [/Run the same get again/g, again(true)],
  [/run the same get again/g, again(false)],
  [/pick another --out/g, () => "pick another Save to folder and get it again"],
  // The tracker and the team's secret (lib/discovery): the page has no
  // setting for them.
  [
    new RegExp(`Are they running\\? Set --tracker or ${TRACKER_ENV}\\.`, "g"),
    () => `Are they running? If they are elsewhere, ${RESTART} with --tracker.`,
  ],
  [
    new RegExp(` ?Set --tracker or ${TRACKER_ENV}\\.`, "g"),
    () => ` If the tracker is elsewhere, ${RESTART} with --tracker.`,
  ],
  [
    new RegExp(
      `point --tracker \\(or ${TRACKER_ENV}\\) at the tracker's address`,
      "g",
    ),
    () => `${RESTART} with --tracker set to the tracker's address`,
  ],
  [
    new RegExp(`\\(--secret-file or ${TEAM_SECRET_ENV}\\)`, "g"),
    () => `(${RESTART} with --secret-file)`,
  ],
  [
    new RegExp(
      `leave out --secret-file \\(or unset ${TEAM_SECRET_ENV}\\) for it`,
      "g",
    ),
    () => `${RESTART} without --secret-file (or ${TEAM_SECRET_ENV}) for it`,
  ],
  // A handshake refused (lib/app/user_errors.ts).
  [
    /use its share link, or the team's secret \(--secret-file\)/g,
    () =>
      `paste its share link, or ${RESTART} with the team's secret (--secret-file)`,
  ],
  [
    /leave out the team's secret \(--secret-file\) for it/g,
    () => `${RESTART} without the team's secret (--secret-file) for it`,
  ],
  // A share (lib/app/_share_error.ts, lib/storage, the tracker's refusal):
  // the page cuts every file into pieces of the usual size.
  [
    /Choose a larger --piece-size/g,
    () =>
      "Share it from the command line, with peer share and a larger --piece-size",
  ],
  [
    /choose a larger piece size or share less/g,
    () =>
      "share less, or share it from the command line, with peer share and a larger --piece-size",
  ],
  [
    /every peer at one address must use the same --piece-size for it \(or none\)/g,
    () =>
      "every peer at one address must cut it into pieces of the same size, and the page uses the usual size: stop that other share of it first",
  ],
  [
    /finish it with peer get, or share the finished file/g,
    () => "finish it with Get on this page, or share the finished file",
  ],
  // Words of the prompt (lib/app): its "status" is the page's lists.
  [
    /(No shared file matches "[^"]*"): type "status" to see them\./g,
    (_, match) =>
      `${
        match.slice(0, match.indexOf(": type"))
      }: the Shared list shows what is shared.`,
  ],
  [
    /\(0-9, a-f\) that share printed\./g,
    () => "(0-9, a-f) its sharer gives, or paste its share link.",
  ],
];

/**
 * `text` (a sentence written for the command line) as the page says it:
 * its command-line advice becomes what to do on the page.
 *
 * @example
 * ```ts
 * forPage("Cannot write to /mnt/usb: you may not write there; pick another --out.");
 * // "Cannot write to /mnt/usb: you may not write there; pick another Save
 * //  to folder and get it again."
 * ```
 */
export function forPage(text: string, options: PageWordsOptions = {}): string {
  let said = text;
  for (const [cli, page] of TRANSLATIONS) {
    said = said.replace(cli, (match) => page(options, match));
  }
  return said;
}
