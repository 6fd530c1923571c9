/**
 * `deno task bench`: measures share, get, an aria2c anchor, a swarm of eight
 * gets from one capped sharer (against the same gets one after the other)
 * and the tracker against this machine's own limits (TCP loopback, streaming
 * SHA-256), all with real processes on 127.0.0.1, and (as root) gets over
 * emulated links and the time to first byte by each NAT route, and folders
 * shared as one ID against tar over TCP, then prints Markdown tables and
 * writes `bench/results/<date>.json`.
 *
 * ```sh
 * deno task bench            # 1 GiB and 4 GiB files, full tracker load (a few minutes)
 * deno task bench --quick    # 256 MiB, 32 MiB swarm, short tracker load (under a minute)
 * deno task bench --profile  # also profiles one get with --cpu-prof
 * deno task bench --crypto   # only encrypted vs plaintext share and gets
 * deno task bench --nat      # only time to first byte by each NAT route
 * deno task bench --folders  # only folders as one ID against tar over TCP
 * deno task bench --crowd    # only the tracker under 1,000 to 100,000 peers
 * deno task bench --floor    # only the floors, aria2c and gets vs aria2c (#19)
 * deno task bench --flood-floor  # only a bare server under the crowd's flood (#22)
 * ```
 *
 * Test files (up to 4 GiB) live in a temporary folder removed at the end,
 * also on Ctrl-C. The task runs with `--allow-all` because Deno grants
 * reads of /proc (peak RSS, CPU time, CPU model) only with all permissions.
 *
 * @module
 */

import { aria2Anchor } from "./aria2.ts";
import { newResults, writeResults } from "./_results.ts";
import {
  sha256Baseline,
  tcpBaseline,
  writeBaseline,
  writeTestFile,
} from "./baselines.ts";
import { cryptoBench, type CryptoResults } from "./crypto.ts";
import { cryptoLinkBench } from "./crypto_link.ts";
import { floorBaseline } from "./floor.ts";
import { floorBench } from "./floor_bench.ts";
import { linkBench } from "./links.ts";
import {
  NAT_FILE_BYTES,
  NAT_FIRST_BYTES,
  natBench,
  type NatPart,
} from "./nat.ts";
import { formatNat, natErrors } from "./nat_report.ts";
import { FOLDER_CACHES, foldersBench, type FoldersPart } from "./folders.ts";
import { folderTargets, formatFolders } from "./folders_report.ts";
// --- crowd (#22) ---
import { CROWD_SIZES, crowdBench } from "./crowd.ts";
import { type CrowdPart, crowdTargets, formatCrowd } from "./crowd_report.ts";
import {
  discoveryBench,
  type DiscoveryPart,
  formatDiscovery,
} from "./discovery.ts";
import { floodFloorBench } from "./flood_floor.ts";
import { type FloodFloorPart, formatFloodFloor } from "./flood_floor_report.ts";
// --- end crowd ---
import { run, stopAll } from "./_process.ts";
import { flushToDisk, SETTLE_MS } from "./settle.ts";
import { SWARM_GETTERS, SWARM_UPLOAD_LIMIT, swarmBench } from "./swarm.ts";
import {
  type BenchResults,
  checkTargets,
  formatReport,
  size,
} from "./report.ts";
import { trackerMemory, trackerQps } from "./tracker_load.ts";
import { startupMs } from "./transfer.ts";
import { transfers } from "./transfer_rows.ts";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Sizes and durations of a full run and a quick one. */
export const PLANS = {
  full: {
    smallBytes: GIB,
    largeBytes: 4 * GIB,
    fallbackLargeBytes: 2 * GIB,
    baselineRuns: 3,
    qpsClients: 64,
    qpsMs: 10_000,
    trackerFiles: 100_000,
    trackerPeers: 10,
    swarmBytes: 64 * MIB,
    linkBytes: 256 * MIB,
    slowLinkBytes: 4 * MIB,
    linkRuns: 2,
    cryptoShareRuns: 5,
    cryptoGetRuns: 5,
    cryptoLinkRuns: 3,
    settleMs: SETTLE_MS,
  },
  quick: {
    smallBytes: 256 * MIB,
    largeBytes: 0,
    fallbackLargeBytes: 0,
    baselineRuns: 3,
    qpsClients: 64,
    qpsMs: 3_000,
    trackerFiles: 10_000,
    trackerPeers: 10,
    swarmBytes: 32 * MIB,
    linkBytes: 16 * MIB,
    slowLinkBytes: MIB,
    linkRuns: 1,
    cryptoShareRuns: 3,
    cryptoGetRuns: 3,
    cryptoLinkRuns: 1,
    // Under a minute: no pause, so its gets vary with the state of memory.
    settleMs: 0,
  },
} as const;

/** Free space kept beyond the test files and their downloads. */
const DISK_MARGIN_BYTES = GIB;
/** Longest `df` may take. */
const DF_TIMEOUT_MS = 5_000;

type Plan = (typeof PLANS)[keyof typeof PLANS];

interface Flags {
  quick: boolean;
  profile: boolean;
  /** Only the emulated-link rows (with `crypto`: the encryption one). */
  links: boolean;
  /** Only the encryption rows. */
  crypto: boolean;
  /** Only the NAT-route rows (with `links`: the emulated-link ones too). */
  nat: boolean;
  /** Only the folder rows (with other parts: after them). */
  folders: boolean;
  /** Only the crowd rows (with other parts: after them). */
  crowd: boolean;
  /** Only the time to find peers by each way (with other parts: after them). */
  discovery: boolean;
  /** Only the floors, aria2c and gets from 1 sharer (alone). */
  floor: boolean;
  /** Only the bare server under the crowd bench's flood (alone). */
  floodFloor: boolean;
}

/** A run's results, with the NAT and folder rows beside the report's own. */
type Results =
  & BenchResults
  & NatPart
  & FoldersPart
  & CrowdPart
  & FloodFloorPart
  & DiscoveryPart;

const USAGE =
  `Usage: deno task bench [--quick] [--profile] [--links] [--crypto] [--nat]
                        [--folders] [--crowd] [--discovery] [--floor]
                        [--flood-floor]

  --quick    256 MiB file, 32 MiB swarm, no large file, 3 s tracker load,
             10,000 files, no NAT rows (under a minute)
  --profile  also run one get with --cpu-prof and list its top functions
  --links    only the emulated-link rows (root: network namespaces)
  --crypto   only share and gets encrypted vs plaintext, interleaved; with
             --links, also over one emulated link
  --nat      only time to first byte by each NAT route: direct, mapped,
             punched, relayed (root: network namespaces; under 2 minutes);
             with --links or --crypto, after those
  --folders  only folders shared as one ID (10,000 files of 4 KiB; 4 of
             256 MiB, also got one by one) against tar over one TCP
             connection (a few minutes; --quick: 1,000 files, 4 of 32 MiB;
             --profile: also profile one small-files get); with other
             parts, after them
  --crowd    only the tracker under a crowd of 1,000, 10,000 and 100,000
             simulated peers (--quick: 1,000 and 10,000), each on its own
             loopback address: RSS, CPU, latencies, a real get, a flood
             from 8 addresses (root for 100,000: prlimit --nofile; about
             6 minutes, --quick 2); with other parts, after them
  --discovery  only the time a get takes to find a file and its first
             peer: by a tracker on 127.0.0.1, on the LAN (root: two
             namespaces), in a local DHT of 20 and of 100 nodes (no tracker
             for those); about a minute
  --floor    only whether an encrypted get can reach 4× aria2c (#19): the
             floor in clear and encrypted, aria2c, and gets from 1 sharer
             encrypted and in plaintext, alternated (1 GiB, a few minutes;
             --quick: 256 MiB, no idling); alone
  --flood-floor  only the control of --crowd's flood: a bare server (one
             sealing each record, one under flooders as heavy as the
             crowd's) under the same shape of load, the
             probe's p99 under the flood over its quiet p99, at 1,000 and
             10,000 connections (about 6 minutes; --quick: the bare server
             alone, about 2); alone`;

async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args);
  if (!flags) {
    console.log(USAGE);
    return args.includes("--help") || args.includes("-h") ? 0 : 2;
  }
  const plan = flags.quick ? PLANS.quick : PLANS.full;
  const work = await Deno.makeTempDir({ prefix: "p2p-bench-" });
  const interrupt = () => {
    console.error("Interrupted: stopping processes and removing test files.");
    stopAll().finally(() => {
      Deno.removeSync(work, { recursive: true });
      Deno.exit(130);
    });
  };
  Deno.addSignalListener("SIGINT", interrupt);
  const results: Results = newResults({
    quick: flags.quick,
    // The NAT rows alone idle before nothing.
    settleMs: natOnly(flags) ? 0 : plan.settleMs,
    smallBytes: plan.smallBytes,
  });
  try {
    await runAll(plan, flags, work, results);
  } finally {
    await stopAll();
    await Deno.remove(work, { recursive: true }).catch(() => {});
    Deno.removeSignalListener("SIGINT", interrupt);
  }
  results.machine.loadAfter = Deno.loadavg();
  results.targets = [
    ...checkTargets(results),
    ...folderTargets(results.folders),
    ...crowdTargets(results.crowd),
  ];
  console.log(
    [
      formatReport(results),
      ...formatNat(results.nat, results.natSkipped),
      ...formatFolders(results.folders),
      ...formatCrowd(results.crowd),
      ...formatFloodFloor(results.floodFloor),
      ...formatDiscovery(results.discovery),
    ].join("\n"),
  );
  const file = await writeResults(
    results,
    ([
      "crypto",
      "links",
      "nat",
      "folders",
      "crowd",
      "discovery",
      "floor",
      "floodFloor",
    ] as const)
      .filter((part) => flags[part])
      .map((part) => part === "floodFloor" ? "flood-floor" : part),
  );
  console.log(`\nResults written to ${file}`);
  return results.errors.length === 0 ? 0 : 1;
}

function parseFlags(args: string[]): Flags | undefined {
  const known = new Set([
    "--quick",
    "--profile",
    "--links",
    "--crypto",
    "--nat",
    "--folders",
    "--crowd",
    "--discovery",
    "--floor",
    "--flood-floor",
  ]);
  if (args.some((arg) => !known.has(arg))) return undefined;
  const floor = args.includes("--floor");
  // The floor rows run alone: with another part, say how to run them.
  if (floor && args.some((arg) => !["--floor", "--quick"].includes(arg))) {
    return undefined;
  }
  const floodFloor = args.includes("--flood-floor");
  if (
    floodFloor &&
    args.some((arg) => !["--flood-floor", "--quick"].includes(arg))
  ) {
    return undefined;
  }
  return {
    quick: args.includes("--quick"),
    profile: args.includes("--profile"),
    links: args.includes("--links"),
    crypto: args.includes("--crypto"),
    nat: args.includes("--nat"),
    folders: args.includes("--folders"),
    crowd: args.includes("--crowd"),
    discovery: args.includes("--discovery"),
    floor,
    floodFloor,
  };
}

/** True for a run of the NAT rows and nothing else. */
function natOnly(flags: Flags): boolean {
  return flags.nat && !flags.links && !flags.crypto && !flags.folders &&
    !flags.crowd && !flags.discovery;
}

async function runAll(
  plan: Plan,
  flags: Flags,
  work: string,
  results: Results,
): Promise<void> {
  if (flags.floodFloor) {
    results.floodFloor = { rows: [] };
    const into = results.floodFloor;
    await section(results, "flood floor", () =>
      floodFloorBench(into, {
        variants: flags.quick ? ["bare"] : undefined,
        step,
      }));
    return;
  }
  if (flags.floor) {
    const file = smallFile(plan, work);
    await section(
      results,
      "floor against aria2c",
      () =>
        floorBench(file, plan.smallBytes, results, {
          work,
          floorRuns: plan.baselineRuns,
          getRuns: plan.baselineRuns,
          settleMs: plan.settleMs,
          step,
        }),
    );
    return;
  }
  if (
    flags.crypto || flags.links || flags.nat || flags.folders ||
    flags.crowd || flags.discovery
  ) {
    if (flags.crypto) await cryptoOnly(plan, flags, work, results);
    else if (flags.links) {
      await section(
        results,
        "emulated links",
        () => links(plan, work, results),
      );
    }
    if (flags.nat) {
      await section(results, "NAT routes", () => natRoutes(work, results));
    }
    if (flags.folders) await folders(plan, flags, work, results);
    if (flags.crowd) await crowd(flags, work, results);
    if (flags.discovery) {
      results.discovery = { rows: [] };
      const rows = results.discovery.rows;
      await section(
        results,
        "discovery",
        () => discoveryBench(rows, { work, step }),
      );
    }
    return;
  }
  const small = smallFile(plan, work);
  await section(results, "baselines", async () => {
    step("TCP loopback baseline");
    results.tcp = await tcpBaseline(plan.smallBytes, plan.baselineRuns);
    step("SHA-256 baseline");
    results.sha256 = sha256Baseline(small, plan.baselineRuns);
    step("file write baseline");
    results.write = await writeBaseline(
      `${work}/write-baseline.bin`,
      plan.smallBytes,
      plan.baselineRuns,
      { settleMs: plan.settleMs },
    );
    step("file write baseline, past the page cache");
    results.writeDirect = await writeBaseline(
      `${work}/write-baseline.bin`,
      plan.smallBytes,
      plan.baselineRuns,
      { settleMs: plan.settleMs, direct: true },
    );
    step("floor: receive, hash and write with no protocol");
    results.floor = await floorBaseline(small, plan.baselineRuns, {
      work,
      hex: results.sha256.hex,
      settleMs: plan.settleMs,
    });
    step("floor, encrypted: the same through the secret stream");
    results.floorEncrypted = await floorBaseline(small, plan.baselineRuns, {
      work,
      hex: results.sha256.hex,
      settleMs: plan.settleMs,
      encrypted: true,
    });
    results.startupMs = await startupMs();
  });
  await section(
    results,
    `transfers of ${size(plan.smallBytes)}`,
    () =>
      transfers(small, plan.smallBytes, results, {
        work,
        profile: flags.profile,
        settleMs: plan.settleMs,
        step,
      }),
  );
  await section(
    results,
    "encryption",
    () => encryption(small, plan, work, results),
  );
  await section(results, "aria2c anchor", async () => {
    step("aria2c anchor");
    results.aria2 = await aria2Anchor(small, plan.smallBytes, work, {
      settleMs: plan.settleMs,
    });
  });
  await Deno.remove(small);
  await section(results, "swarm", () => swarm(plan.swarmBytes, work, results));
  await section(results, "emulated links", () => links(plan, work, results));
  if (!flags.quick) {
    await section(results, "NAT routes", () => natRoutes(work, results));
  }
  await folders(plan, flags, work, results);
  const large = await largeSize(plan, work, results);
  if (large > 0) {
    const path = `${work}/bench-${size(large).replace(" ", "")}.bin`;
    step(`writing a ${size(large)} test file`);
    writeTestFile(path, large);
    await section(
      results,
      `transfers of ${size(large)}`,
      () =>
        transfers(path, large, results, {
          work,
          settleMs: plan.settleMs,
          step,
        }),
    );
    await Deno.remove(path);
  }
  await section(results, "tracker queries", async () => {
    step(`tracker queries, ${plan.qpsClients} clients`);
    results.trackerQps = await trackerQps(plan.qpsClients, plan.qpsMs);
  });
  await section(results, "tracker capacity", async () => {
    step("tracker queries with the rate limit lifted");
    results.trackerCapacity = await trackerQps(plan.qpsClients, plan.qpsMs, {
      unlimited: true,
    });
  });
  await section(results, "tracker memory", async () => {
    step(
      `tracker memory, ${plan.trackerFiles} files × ${plan.trackerPeers} peers`,
    );
    results.trackerMemory = await trackerMemory(
      plan.trackerFiles,
      plan.trackerPeers,
    );
  });
  if (!flags.quick) await crowd(flags, work, results);
}

/** One capped sharer → eight gets at once, then one after the other. */
async function swarm(
  bytes: number,
  work: string,
  results: BenchResults,
): Promise<void> {
  const file = `${work}/swarm-${size(bytes).replace(" ", "")}.bin`;
  step(`writing a ${size(bytes)} test file`);
  writeTestFile(file, bytes);
  try {
    step(
      `1 sharer at ${SWARM_UPLOAD_LIMIT}/s → ${SWARM_GETTERS} gets of ${
        size(bytes)
      } at once, then one after the other`,
    );
    results.swarm = await swarmBench(file, bytes, work);
  } finally {
    await Deno.remove(file);
  }
}

/** Gets over emulated links against one TCP stream (root only). */
async function links(
  plan: Plan,
  work: string,
  results: BenchResults,
): Promise<void> {
  const file = `${work}/link-${size(plan.linkBytes).replace(" ", "")}.bin`;
  const slow = `${work}/slow-${size(plan.slowLinkBytes).replace(" ", "")}.bin`;
  writeTestFile(file, plan.linkBytes);
  writeTestFile(slow, plan.slowLinkBytes);
  try {
    const measured = await linkBench(file, slow, {
      bytes: plan.linkBytes,
      slowBytes: plan.slowLinkBytes,
      runs: plan.linkRuns,
      work,
      step,
    });
    if ("skipped" in measured) {
      step(`emulated links skipped: ${measured.skipped}`);
      results.linksSkipped = measured.skipped;
    } else {
      results.links = measured.results;
      for (const row of measured.results) {
        if (row.failed) {
          results.errors.push(`emulated link ${row.name}: ${row.failed}`);
        }
      }
      await section(
        results,
        "encryption over an emulated link",
        () => encryptionOverLink(file, plan, work, results),
      );
    }
  } finally {
    await Deno.remove(file);
    await Deno.remove(slow);
  }
}

/** Time to first byte by each NAT route, against a TCP connect (root only). */
async function natRoutes(work: string, results: Results): Promise<void> {
  const file = `${work}/nat-${size(NAT_FILE_BYTES).replace(" ", "")}.bin`;
  const first = `${work}/nat-first-${NAT_FIRST_BYTES}.bin`;
  writeTestFile(file, NAT_FILE_BYTES);
  writeTestFile(first, NAT_FIRST_BYTES);
  try {
    const measured = await natBench(file, first, { work, step });
    if ("skipped" in measured) {
      step(`NAT routes skipped: ${measured.skipped}`);
      results.natSkipped = measured.skipped;
    } else {
      results.nat = measured;
      results.errors.push(...natErrors(measured));
    }
  } finally {
    await Deno.remove(file);
    await Deno.remove(first);
  }
}

/** Folders as one ID against tar over TCP, small files then large. */
async function folders(
  plan: Plan,
  flags: Flags,
  work: string,
  results: Results,
): Promise<void> {
  results.folders = { caches: FOLDER_CACHES };
  const into = results.folders;
  await section(results, "folders", () =>
    foldersBench(into, {
      work,
      quick: flags.quick,
      settleMs: plan.settleMs,
      profile: flags.profile,
      step,
    }));
}

// --- crowd (#22) ---
/** The tracker under crowds of simulated peers. */
async function crowd(
  flags: Flags,
  work: string,
  results: Results,
): Promise<void> {
  results.crowd = { rows: [] };
  const into = results.crowd;
  await section(results, "crowd", () =>
    crowdBench(into, {
      sizes: flags.quick ? CROWD_SIZES.quick : CROWD_SIZES.full,
      work,
      step,
    }));
}
// --- end crowd ---

/** Writes the small test file; resolves to its path. */
function smallFile(plan: Plan, work: string): string {
  const path = `${work}/bench-${size(plan.smallBytes).replace(" ", "")}.bin`;
  step(`writing a ${size(plan.smallBytes)} test file`);
  writeTestFile(path, plan.smallBytes);
  return path;
}

/** `--crypto`: the encryption rows alone; with `--links`, the link one too. */
async function cryptoOnly(
  plan: Plan,
  flags: Flags,
  work: string,
  results: BenchResults,
): Promise<void> {
  const small = smallFile(plan, work);
  await section(
    results,
    "encryption",
    () => encryption(small, plan, work, results, { profile: flags.profile }),
  );
  await Deno.remove(small);
  if (!flags.links) return;
  const file = `${work}/link-${size(plan.linkBytes).replace(" ", "")}.bin`;
  writeTestFile(file, plan.linkBytes);
  await section(
    results,
    "encryption over an emulated link",
    () => encryptionOverLink(file, plan, work, results),
  );
  await Deno.remove(file);
}

/** Share and gets of the small `file`, encrypted vs plaintext, interleaved. */
async function encryption(
  file: string,
  plan: Plan,
  work: string,
  results: BenchResults,
  options: { profile?: boolean } = {},
): Promise<void> {
  results.crypto ??= { gets: [] } satisfies CryptoResults;
  await flushToDisk();
  await cryptoBench(file, plan.smallBytes, results.crypto, {
    work,
    shareRuns: plan.cryptoShareRuns,
    getRuns: plan.cryptoGetRuns,
    settleMs: plan.settleMs,
    profile: options.profile,
    step,
  });
}

/** Gets of `file` (`plan.linkBytes`) over one emulated link, both modes. */
async function encryptionOverLink(
  file: string,
  plan: Plan,
  work: string,
  results: BenchResults,
): Promise<void> {
  results.crypto ??= { gets: [] };
  const measured = await cryptoLinkBench(file, {
    bytes: plan.linkBytes,
    runs: plan.cryptoLinkRuns,
    work,
    step,
  });
  if ("skipped" in measured) {
    step(`encryption over an emulated link skipped: ${measured.skipped}`);
    results.crypto.linkSkipped = measured.skipped;
  } else {
    results.crypto.link = measured.row;
  }
}

/** The large file size the disk allows (the file plus its download). */
async function largeSize(
  plan: Plan,
  work: string,
  results: BenchResults,
): Promise<number> {
  if (plan.largeBytes === 0) return 0;
  const df = await run("df", ["-B1", "--output=avail", work], DF_TIMEOUT_MS);
  const free = Number(df.stdout.trim().split("\n").pop());
  for (const bytes of [plan.largeBytes, plan.fallbackLargeBytes]) {
    if (!Number.isFinite(free) || free >= 2 * bytes + DISK_MARGIN_BYTES) {
      if (bytes !== plan.largeBytes) {
        results.sizes.largeNote = `${size(plan.largeBytes)} did not fit in ${
          size(free)
        } free`;
      }
      results.sizes.large = bytes;
      return bytes;
    }
  }
  results.sizes.largeNote = `no large file: only ${size(free)} free`;
  return 0;
}

async function section(
  results: BenchResults,
  name: string,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`  ${name} failed: ${message}`);
    results.errors.push(`${name}: ${message}`);
  }
}

function step(text: string): void {
  console.error(`… ${text}`);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
