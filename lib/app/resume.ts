/**
 * Telling a get that resumes a `.part` an earlier get left from one that
 * starts afresh, and how much that `.part` held: `peer get`, the prompt and
 * the web page all say so. The download says whether it resumed one (its
 * report's `resumed`, whatever that `.part` is named: an earlier get may
 * have saved under another name, or found the name held), and tells the
 * bytes in its first report that is neither a wait nor one of the check's
 * (`checking`), made once that `.part` is checked and before any peer is
 * linked.
 *
 * @module
 */

import type { DownloadProgress } from "../download/types.ts";

/**
 * Bytes an earlier get had saved, read off `progress`: `undefined` while
 * the reports are waits or the check's (the file not found or the `.part`
 * not checked yet), else the bytes the first other report holds when the
 * download resumed a `.part`, 0 for a get that starts afresh. Call it with
 * each report until it answers.
 */
export function resumedBytes(progress: DownloadProgress): number | undefined {
  if (progress.waiting || progress.checking) return undefined;
  return progress.resumed && progress.peers === 0 ? progress.received : 0;
}
