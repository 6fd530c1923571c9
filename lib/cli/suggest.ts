/**
 * "Did you mean …?" for mistyped commands: the known words closest to what
 * was typed, by edit distance (a swap of two neighbouring letters counts as
 * one edit, as `lsit` for `list`).
 *
 * @module
 */

/** Most edits a typed word may be from a suggestion. */
export const MAX_SUGGESTION_EDITS = 2;

/**
 * The candidate closest to `typed`, or undefined when none is within
 * {@linkcode MAX_SUGGESTION_EDITS} edits and less than half the word away.
 *
 * @example
 * ```ts
 * suggest("lsit", ["share", "get", "list", "search"]); // "list"
 * ```
 */
export function suggest(
  typed: string,
  candidates: readonly string[],
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const word = typed.toLowerCase();
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate.toLowerCase());
    const limit = Math.min(
      MAX_SUGGESTION_EDITS,
      Math.ceil(candidate.length / 2) - 1,
    );
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i, ...new Array<number>(b.length).fill(0)]);
  }
  for (let j = 0; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(
        rows[i - 1][j] + 1,
        rows[i][j - 1] + 1,
        rows[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}
