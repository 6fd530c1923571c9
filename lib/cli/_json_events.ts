/**
 * The order of `--json` output on stdout for `peer share` and `peer get`:
 * the result lines first (one per shared file, or the get's), then, with
 * `--verbose`, the event lines (`{"event":…}`), so that a script can take
 * the first line as the result. The reachability answer comes from the
 * tracker at any time, often before a get's result: the peer node is
 * started without telling it ({@linkcode quietServing}) and it is told
 * after the results ({@linkcode tellReachabilityAfter}).
 *
 * @module
 */

import type { PeerNode } from "../app/peer_node.ts";
import { showReachability, type TrackerFlags } from "./flags.ts";
import { SERVING_POLL_MS } from "./serving_line.ts";

/**
 * The flags to start the peer node with (`startServing`): with `--json`,
 * flags that tell nothing as it serves (its reachability event would come
 * before the results; troubles are not told with `--json` anyway), else
 * `flags` as they are. `--verbose` logging on stderr is unchanged.
 */
export function quietServing<T extends TrackerFlags>(flags: T): T {
  return flags.json ? { ...flags, json: false, quiet: true } : flags;
}

/**
 * With `--json --verbose`, prints the `{"event":"reachability",…}` line
 * once the results are out: now if the tracker has answered, else when it
 * does (looked for every SERVING_POLL_MS until disposed). Nothing
 * otherwise.
 *
 * @example
 * ```ts
 * printSaved(result, flags);
 * using _reachability = tellReachabilityAfter(node, flags);
 * ```
 */
export function tellReachabilityAfter(
  node: Pick<PeerNode, "reachability">,
  flags: TrackerFlags,
): Disposable {
  const told = () => {
    const known = node.reachability;
    if (known) showReachability(known, flags);
    return known !== undefined;
  };
  if (!flags.json || !flags.verbose || told()) {
    return { [Symbol.dispose]() {} };
  }
  const timer = setInterval(() => {
    if (told()) clearInterval(timer);
  }, SERVING_POLL_MS);
  return { [Symbol.dispose]: () => clearInterval(timer) };
}
