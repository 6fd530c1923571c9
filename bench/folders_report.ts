/**
 * The folder rows of the report and their targets (issue #23): a folder of
 * many small files at ≥ half of tar's throughput over one TCP connection;
 * a folder of a few large files no slower than getting its files one by
 * one; the getter's peak RSS within the get target.
 *
 * @module
 */

import { ms } from "./_format.ts";
import type { FolderRun, FoldersResults, FolderWorkload } from "./folders.ts";
import { GET_TARGET_RSS_BYTES, type TargetCheck } from "./report.ts";

/** Bytes in one MiB. */
const MIB = 1024 ** 2;
/** Least throughput of a small-files folder get, as a fraction of tar's. */
export const FOLDER_SMALL_TARGET_RATIO = 0.5;
/** Most time of a large-files folder get, as a fraction of its single gets'. */
export const FOLDER_LARGE_TARGET_RATIO = 1;

/** Markdown lines of the folder table (nothing if not measured). */
export function formatFolders(folders: FoldersResults | undefined): string[] {
  if (!folders) return [];
  const workloads = [folders.small, folders.large].filter((
    w,
  ): w is FolderWorkload => w !== undefined && w.runs.length > 0);
  if (workloads.length === 0) return [];
  const lines = [
    "",
    `| Folder as one ID, 127.0.0.1 (each run listed, in order) | ${
      workloads.map((w) => `${w.name}, ${mb(w.bytes)} MB`).join(" | ")
    } |`,
    `|---|${workloads.map(() => "---:").join("|")}|`,
  ];
  const row = (name: string, cell: (w: FolderWorkload) => string) =>
    lines.push(`| ${name} | ${workloads.map(cell).join(" | ")} |`);
  row(
    "Writing the folder, untimed set-up (how fast the file system makes files just then)",
    (w) => ms(w.writeMs),
  );
  row("peer share DIR: spawn → ID", (w) => times(w, (r) => r.shareMs));
  row(
    "peer share DIR: its own time (hash + register)",
    (w) => times(w, (r) => r.shareReportedMs),
  );
  row(
    "peer get ID: spawn → exit, folder verified in place",
    (w) => `${times(w, (r) => r.getMs)} (${rates(w, (r) => r.getMs)})`,
  );
  row(
    "peer get ID: its own elapsedMs",
    (w) => times(w, (r) => r.getReportedMs),
  );
  row(
    "peer get ID: its own firstPieceMs",
    (w) => times(w, (r) => r.firstPieceMs),
  );
  row(
    "tar -c → one TCP connection → tar -x (sender start → tar -x exit)",
    (w) => `${times(w, (r) => r.tarMs)} (${rates(w, (r) => r.tarMs)})`,
  );
  row(
    "peer get ÷ tar, throughput: best ÷ best (each run's own)",
    (w) =>
      ratioCell(
        best(w.runs, (r) => r.tarMs) / best(w.runs, (r) => r.getMs),
        w.runs.map((r) => r.tarMs / r.getMs),
      ),
  );
  row(
    "Floor: a bare Deno copier over TCP (no hash, encryption, flush or link checks), peer's permissions: receiver spawn → exit",
    (w) => floorCell(w, (f) => f.peerMs),
  );
  row(
    "Floor, the same with --allow-all (Deno skips resolving each path it opens)",
    (w) => floorCell(w, (f) => f.allMs),
  );
  row(
    "Floor ÷ tar, throughput: best ÷ best (each run's own)",
    (w) =>
      w.runs[0]?.floor
        ? ratioCell(
          best(w.runs, (r) => r.tarMs) / best(w.runs, floorPeerMs),
          w.runs.map((r) => r.tarMs / floorPeerMs(r)),
        )
        : "—",
  );
  row(
    "Single-file shares: spawn → last ID",
    (w) => w.runs[0]?.singles ? times(w, (r) => r.singles?.shareMs) : "—",
  );
  row(
    "Single-file gets one after the other: sum of spawn → exit",
    (w) => w.runs[0]?.singles ? times(w, (r) => r.singles?.sumMs) : "—",
  );
  row(
    "Single-file gets: sum of their own elapsedMs",
    (w) => w.runs[0]?.singles ? times(w, (r) => r.singles?.sumReportedMs) : "—",
  );
  row(
    "Folder get ÷ single gets, time: best ÷ best (each run's own)",
    (w) =>
      w.runs[0]?.singles
        ? ratioCell(
          best(w.runs, (r) => r.getMs) / best(w.runs, singlesMs),
          w.runs.map((r) => r.getMs / singlesMs(r)),
        )
        : "—",
  );
  row(
    "Getter peak RSS: folder get (single gets)",
    (w) =>
      `${mib(Math.max(...w.runs.map((r) => r.peakRssBytes)))}${
        w.runs[0]?.singles
          ? ` (${
            mib(Math.max(...w.runs.map((r) => r.singles?.peakRssBytes ?? 0)))
          })`
          : ""
      }`,
  );
  row(
    "Getter CPU time: folder get (single gets, together)",
    (w) =>
      `${times(w, (r) => r.getCpuMs)}${
        w.runs[0]?.singles ? ` (${times(w, (r) => r.singles?.cpuMs)})` : ""
      }`,
  );
  lines.push(
    "",
    `Folder rows: ${folders.caches} Ratios compare the best run of each side.`,
  );
  if (folders.profile) {
    for (const side of ["getter", "sharer"] as const) {
      const profile = folders.profile[side];
      lines.push(
        "",
        `Top self time in the ${side} of a profiled small-files folder get (main thread, ${
          ms(profile.totalMs)
        } sampled):`,
        "",
        "| Function | Self ms | Share |",
        "|---|---:|---:|",
      );
      for (const entry of profile.entries) {
        lines.push(
          `| ${entry.name} | ${entry.selfMs.toFixed(0)} | ${
            (entry.share * 100).toFixed(0)
          }% |`,
        );
      }
    }
  }
  return lines;
}

/** The targets the folder rows check. */
export function folderTargets(
  folders: FoldersResults | undefined,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const small = folders?.small;
  if (small && small.runs.length > 0) {
    const ratio = best(small.runs, (r) => r.tarMs) /
      best(small.runs, (r) => r.getMs);
    checks.push({
      name: `Folder of ${small.name}: peer get vs tar over TCP`,
      goal: `≥ ${FOLDER_SMALL_TARGET_RATIO}× tar's throughput`,
      measured: `${ratio.toFixed(2)}×${
        small.runs[0]?.floor
          ? ` (the bare Deno copier: ${
            (best(small.runs, (r) => r.tarMs) / best(small.runs, floorPeerMs))
              .toFixed(2)
          }×)`
          : ""
      }`,
      met: ratio >= FOLDER_SMALL_TARGET_RATIO,
    });
  }
  const large = folders?.large;
  if (large && large.runs.some((r) => r.singles)) {
    const ratio = best(large.runs, (r) => r.getMs) /
      best(large.runs, singlesMs);
    const tar = best(large.runs, (r) => r.tarMs) /
      best(large.runs, (r) => r.getMs);
    checks.push({
      name: `Folder of ${large.name}: one get vs one get per file`,
      goal: "no slower",
      measured: `${ratio.toFixed(2)}× the time (${
        tar.toFixed(2)
      }× tar's throughput)`,
      met: ratio <= FOLDER_LARGE_TARGET_RATIO,
    });
  }
  for (const workload of [small, large]) {
    if (!workload || workload.runs.length === 0) continue;
    const peak = Math.max(...workload.runs.map((r) => r.peakRssBytes));
    checks.push({
      name: `Peak RSS of get, folder of ${workload.name}`,
      goal: `≤ ${mib(GET_TARGET_RSS_BYTES)}`,
      measured: mib(peak),
      met: peak <= GET_TARGET_RSS_BYTES,
    });
  }
  return checks;
}

/** Each run's value of `pick` as `1.20 s, 1.31 s`. */
function times(
  w: FolderWorkload,
  pick: (run: FolderRun) => number | undefined,
): string {
  const values = w.runs.map(pick);
  if (values.length === 0 || values.some((v) => v === undefined)) return "—";
  return values.map((v) => ms(v ?? 0)).join(", ");
}

/** The best run's MB/s and files/s for the time `pick` gives. */
function rates(w: FolderWorkload, pick: (run: FolderRun) => number): string {
  const t = best(w.runs, pick) / 1000;
  return `best ${(w.bytes / 1e6 / t).toFixed(0)} MB/s, ${
    Math.round(w.files / t).toLocaleString("en")
  } files/s`;
}

/** The lowest value of `pick` across `runs`. */
function best(runs: FolderRun[], pick: (run: FolderRun) => number): number {
  return Math.min(...runs.map(pick));
}

/** A ratio and each run's own, as `0.52× (0.48, 0.52)`. */
function ratioCell(ratio: number, runs: number[]): string {
  if (runs.length === 0) return "—";
  return `${ratio.toFixed(2)}× (${runs.map((v) => v.toFixed(2)).join(", ")})`;
}

/** The floor's times and rates, or a dash where it did not run. */
function floorCell(
  w: FolderWorkload,
  pick: (floor: NonNullable<FolderRun["floor"]>) => number,
): string {
  if (!w.runs[0]?.floor) return "—";
  const time = (r: FolderRun) => r.floor ? pick(r.floor) : Infinity;
  return `${times(w, (r) => r.floor && pick(r.floor))} (${rates(w, time)})`;
}

/** A run's floor time with the peer's permissions (Infinity without it). */
function floorPeerMs(run: FolderRun): number {
  return run.floor?.peerMs ?? Infinity;
}

/** A run's single gets' total time (Infinity without them). */
function singlesMs(run: FolderRun): number {
  return run.singles?.sumMs ?? Infinity;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(0)} MiB`;
}
