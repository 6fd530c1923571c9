/**
 * The swarm rows of the report: one capped sharer and eight getters at
 * once, against the same gets one after the other.
 *
 * @module
 */

import type { SwarmResult } from "./swarm.ts";
import { ms, size } from "./_format.ts";

/** Appends the swarm table's Markdown lines to `lines`. */
export function formatSwarm(s: SwarmResult, lines: string[]): void {
  lines.push(
    "",
    `| One sharer (\`--upload-limit ${s.uploadLimit}\`) → ${s.getters} getters, ${
      size(s.bytes)
    } | Wall time, all verified | MB/s delivered | Sharer upload | Peers per getter | Detail |`,
    "|---|---:|---:|---:|---:|---|",
  );
  const row = (name: string, run: SwarmResult["swarm"]) =>
    lines.push(
      `| ${name} | ${ms(run.wallMs)} | ${run.deliveredMbps.toFixed(0)} | ${
        run.sharerUploadFiles.toFixed(2)
      }× file | ${run.meanPeers.toFixed(1)} | gets took ${
        ms(Math.min(...run.getMs))
      }–${ms(Math.max(...run.getMs))}; each received ${
        run.receivedPerGetterFiles.toFixed(2)
      }× the file; ${run.verified} of ${s.getters} SHA-256 match the ID |`,
    );
  row(`${s.getters} gets started at once (each serving)`, s.swarm);
  row(`The same ${s.getters} gets one after the other`, s.sequential);
  lines.push(
    `| One after the other ÷ at once | ${s.speedup.toFixed(2)}× | | | | |`,
  );
}
