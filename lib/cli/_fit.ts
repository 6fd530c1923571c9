/**
 * Fitting a live line into the terminal's width: the columns text takes,
 * and a name shortened in the middle, so that its start and its end (the
 * extension, a folder's count of files) both stay.
 *
 * @module
 */

/** The mark left where text was cut. */
export const ELLIPSIS = "…";

// Characters a terminal draws two columns wide: Hangul jamo, CJK and its
// punctuation, Hangul syllables, compatibility ideographs, fullwidth forms,
// and every emoji shown as a picture by default (Unicode's
// Emoji_Presentation: faces, transport, the newer symbol blocks, the
// regional indicators of flags), as wcwidth and the common terminals do.
const WIDE =
  /[\u{1100}-\u{115f}\u{2e80}-\u{303e}\u{3041}-\u{33ff}\u{3400}-\u{4dbf}\u{4e00}-\u{9fff}\u{a000}-\u{a4cf}\u{ac00}-\u{d7a3}\u{f900}-\u{faff}\u{fe30}-\u{fe4f}\u{ff00}-\u{ff60}\u{ffe0}-\u{ffe6}\u{20000}-\u{3fffd}\p{Emoji_Presentation}]/u;
// Characters drawn on the one before them: combining marks, the zero-width
// joiner, variation selectors and skin tones.
const NO_WIDTH = /[\p{M}\u200d\ufe00-\ufe0f\u{1f3fb}-\u{1f3ff}]/u;

/** Columns `char` (one code point) takes on a terminal: 0, 1 or 2. */
function columnsOf(char: string): number {
  if (char.charCodeAt(0) < 0x300) return 1;
  if (NO_WIDTH.test(char)) return 0;
  return WIDE.test(char) ? 2 : 1;
}

/**
 * Columns `text` takes on a terminal: two for wide characters (CJK, most
 * emoji), none for combining marks and joiners, one for the rest. Text is
 * assumed already escaped (no control characters).
 *
 * @example
 * ```ts
 * widthOf("movie.mp4"); // 9
 * widthOf("写真.jpg"); // 8
 * ```
 */
export function widthOf(text: string): number {
  let width = 0;
  for (const char of text) width += columnsOf(char);
  return width;
}

/** The longest start of `chars` within `width` columns. */
function head(chars: string[], width: number): string {
  let used = 0;
  let end = 0;
  while (end < chars.length && used + columnsOf(chars[end]) <= width) {
    used += columnsOf(chars[end++]);
  }
  // A mark that draws on the last character kept goes with it.
  while (end < chars.length && columnsOf(chars[end]) === 0) end++;
  return chars.slice(0, end).join("");
}

/** The longest end of `chars` within `width` columns. */
function tail(chars: string[], width: number): string {
  let used = 0;
  let start = chars.length;
  while (start > 0 && used + columnsOf(chars[start - 1]) <= width) {
    used += columnsOf(chars[--start]);
  }
  // Never start on a mark whose character was cut off.
  while (start < chars.length && columnsOf(chars[start]) === 0) start++;
  return chars.slice(start).join("");
}

/**
 * `text` within `width` columns, cut in the middle with `…` so that its
 * start and its end stay (a file's extension, a folder's count of files);
 * as it is when it fits, empty when `width` is under 1.
 *
 * @example
 * ```ts
 * ellipsizeMiddle("holiday-photos-2024.tar.gz", 15); // "holiday…4.tar.gz"
 * ```
 */
export function ellipsizeMiddle(text: string, width: number): string {
  if (widthOf(text) <= width) return text;
  if (width < 1) return "";
  const chars = [...text];
  const room = width - 1;
  const start = head(chars, Math.ceil(room / 2));
  const end = tail(chars, room - widthOf(start));
  return `${start}${ELLIPSIS}${end}`;
}

/**
 * `text` within `width` columns, cut at the end with `…`; as it is when it
 * fits, empty when `width` is under 1.
 */
export function ellipsizeEnd(text: string, width: number): string {
  if (widthOf(text) <= width) return text;
  if (width < 1) return "";
  return `${head([...text], width - 1)}${ELLIPSIS}`;
}
