/**
 * The encryption rows of the report and their targets (issue: an encrypted
 * get of 1 GiB from 1 and from 4 sharers at ≥ 70% of the same get in
 * plaintext on loopback, its peak RSS ≤ 100 MiB; the share unchanged; no
 * measurable difference over a link slower than loopback).
 *
 * @module
 */

import type {
  CryptoMode,
  CryptoResults,
  ModeGets,
  ModeTiming,
  Profile,
} from "./crypto.ts";
import { size } from "./_format.ts";

/** Bytes in one MiB. */
const MIB = 1024 ** 2;
/** Least encrypted ÷ plaintext speed of a get on loopback. */
export const CRYPTO_GET_TARGET_RATIO = 0.7;
/** Most peak RSS of an encrypted get, bytes. */
export const CRYPTO_RSS_TARGET_BYTES = 100 * MIB;
/**
 * Least encrypted ÷ plaintext speed of a share and of a get over an
 * emulated link: "unchanged", "no measurable difference", within the
 * run-to-run noise of a median on this kind of machine.
 */
export const CRYPTO_SAME_TARGET_RATIO = 0.95;

/** A target row, as `report.ts` prints them. */
export interface CryptoTarget {
  name: string;
  goal: string;
  measured: string;
  met?: boolean;
}

/** Markdown lines of the encryption table. */
export function formatCrypto(crypto: CryptoResults | undefined): string[] {
  if (!crypto) return [];
  const lines = [
    "",
    "| Encrypted vs plaintext (`P2P_BENCH_PLAINTEXT=1` in every process), interleaved | Plaintext MB/s (runs, s) | Encrypted MB/s (runs, s) | Encrypted ÷ plaintext | Getter peak RSS, encrypted / plaintext | CPU-s per get, getter + sharers: encrypted / plaintext |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  const { share, link } = crypto;
  if (share) {
    lines.push(
      `| peer share ${size(share.bytes)} (its own time: hash + register) | ${
        cells(share)
      } | — | — |`,
    );
  }
  for (const get of crypto.gets) {
    lines.push(
      `| peer get ${size(get.bytes)} from ${get.sharers} sharer${
        get.sharers > 1 ? "s" : ""
      }, 127.0.0.1 | ${cells(get)} | ${mib(get.encrypted.peakRssBytes)} / ${
        mib(get.plaintext.peakRssBytes)
      } | ${cpu(get.encrypted)} / ${cpu(get.plaintext)} |`,
    );
  }
  if (link) {
    lines.push(
      `| peer get ${
        size(link.bytes)
      } from 1 sharer, emulated link ${link.name} (own elapsedMs) | ${
        cells(link)
      } | — | — |`,
    );
  } else if (crypto.linkSkipped) {
    lines.push(`| Emulated link: skipped (${crypto.linkSkipped}) | | | | | |`);
  }
  if (crypto.profiles) lines.push(...formatProfiles(crypto.profiles));
  return lines;
}

/** The targets the encryption rows check. */
export function cryptoTargets(
  crypto: CryptoResults | undefined,
): CryptoTarget[] {
  if (!crypto) return [];
  const targets: CryptoTarget[] = [];
  for (const get of crypto.gets) {
    const what = `${size(get.bytes)} from ${get.sharers}`;
    targets.push({
      name: `Encrypted get vs plaintext, ${what}, 127.0.0.1`,
      goal: `≥ ${CRYPTO_GET_TARGET_RATIO}×`,
      measured: `${get.ratio.toFixed(2)}×`,
      met: get.ratio >= CRYPTO_GET_TARGET_RATIO,
    }, {
      name: `Peak RSS of encrypted get, ${what}`,
      goal: `≤ ${mib(CRYPTO_RSS_TARGET_BYTES)}`,
      measured: mib(get.encrypted.peakRssBytes),
      met: get.encrypted.peakRssBytes <= CRYPTO_RSS_TARGET_BYTES,
    });
  }
  const same = [
    crypto.share && {
      name: `Encrypted share vs plaintext, ${size(crypto.share.bytes)}`,
      ratio: crypto.share.ratio,
    },
    crypto.link && {
      name: `Encrypted get vs plaintext, emulated link ${crypto.link.name}`,
      ratio: crypto.link.ratio,
    },
  ];
  for (const row of same) {
    if (!row) continue;
    targets.push({
      name: row.name,
      goal: `≥ ${CRYPTO_SAME_TARGET_RATIO}× (no measurable difference)`,
      measured: `${row.ratio.toFixed(2)}×`,
      met: row.ratio >= CRYPTO_SAME_TARGET_RATIO,
    });
  }
  return targets;
}

function cells(
  row: { plaintext: ModeTiming; encrypted: ModeTiming; ratio: number },
): string {
  return `${mode(row.plaintext)} | ${mode(row.encrypted)} | ${
    row.ratio.toFixed(2)
  }×`;
}

function mode(t: ModeTiming): string {
  return `${t.mbps.toFixed(t.mbps < 100 ? 1 : 0)} (${
    t.runs.map((ms) => (ms / 1000).toFixed(2)).join(", ")
  })`;
}

function formatProfiles(
  profiles: NonNullable<CryptoResults["profiles"]>,
): string[] {
  const lines: string[] = [];
  for (const mode of Object.keys(profiles) as CryptoMode[]) {
    for (const side of ["getter", "sharer"] as const) {
      lines.push(
        ...formatProfile(
          `${mode} get from 1 sharer`,
          side,
          profiles[mode][side],
        ),
      );
    }
  }
  return lines;
}

function formatProfile(what: string, side: string, profile: Profile): string[] {
  const { totalMs, entries } = profile;
  return [
    "",
    `Top self time of the ${side}'s main thread, ${what} (${
      (totalMs / 1000).toFixed(2)
    } s sampled${side === "sharer" ? ", its share's hashing included" : ""}):`,
    "",
    "| Function | Self ms | Share |",
    "|---|---:|---:|",
    ...entries.map((e) =>
      `| ${e.name} | ${e.selfMs.toFixed(0)} | ${(e.share * 100).toFixed(0)}% |`
    ),
  ];
}

function cpu(gets: ModeGets): string {
  return `${(gets.getterCpuMs / 1000).toFixed(2)} + ${
    (gets.sharersCpuMs / 1000).toFixed(2)
  }`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / MIB)} MiB`;
}
