/**
 * The shortest heads of strings that still tell them apart, as git
 * lengthens a short hash where two would read the same.
 *
 * @module
 */

/**
 * Each of `texts` cut to `least` characters, or longer where another of
 * them starts the same: one character past the longest start it shares
 * with any other (the whole text if that is all there is). Equal texts
 * stay equal.
 *
 * @example
 * ```ts
 * distinctPrefixes(["abcd12", "abcd34", "ffff00"], 2); // ["abcd1", "abcd3", "ff"]
 * ```
 */
export function distinctPrefixes(
  texts: readonly string[],
  least: number,
): string[] {
  // Sorted, a text's longest start shared with another is with a neighbour.
  const sorted = [...new Set(texts)].sort();
  const lengths = new Map(sorted.map((text) => [text, least]));
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    const length = sharedStart(a, b) + 1;
    if (length > lengths.get(a)!) lengths.set(a, length);
    if (length > lengths.get(b)!) lengths.set(b, length);
  }
  return texts.map((text) => text.slice(0, lengths.get(text)));
}

/** How many characters `a` and `b` start with alike. */
function sharedStart(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
