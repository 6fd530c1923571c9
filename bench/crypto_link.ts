/**
 * What encryption costs over an emulated link (root only; see `links.ts`):
 * one lab, a tracker and a sharer of each mode on its sharer side, gets of
 * each mode on its getter side, alternated, each timed by its own
 * `elapsedMs`. On a link slower than loopback the cipher should not show.
 *
 * @module
 */

import {
  type LinkOptions,
  NetLab,
  netlabAvailable,
} from "../scripts/netlab.ts";
import {
  CRYPTO_MODES,
  type CryptoLinkRow,
  type CryptoMode,
  modeEnv,
  roundOrder,
  timing,
  trackerFlags,
} from "./crypto.ts";
import { get, serveTracker, share } from "./links.ts";

/** The link of the row: a long round trip, no loss, no rate cap. */
export const CRYPTO_LINK: { name: string; link: LinkOptions } = {
  name: "RTT 100 ms",
  link: { rttMs: 100 },
};

/** Options for {@linkcode cryptoLinkBench}. */
export interface CryptoLinkOptions {
  /** Bytes of `file`. */
  bytes: number;
  /** Gets timed in each mode (alternated, plaintext first). */
  runs: number;
  /** Working folder for the getter's downloads. */
  work: string;
  /** Says what is being measured. */
  step: (text: string) => void;
}

/**
 * Gets `file` over CRYPTO_LINK from 1 sharer in each mode; resolves to the
 * reason instead when labs cannot run here.
 */
export async function cryptoLinkBench(
  file: string,
  options: CryptoLinkOptions,
): Promise<{ row: CryptoLinkRow } | { skipped: string }> {
  const reason = await netlabAvailable();
  if (reason) return { skipped: reason };
  await using lab = await NetLab.create({
    prefix: "p2pcrypto",
    link: CRYPTO_LINK.link,
  });
  const trackers = {} as Record<CryptoMode, string>;
  let id = "";
  for (const mode of CRYPTO_MODES) {
    trackers[mode] = await serveTracker(lab, {
      denoFlags: trackerFlags(mode),
      env: modeEnv(mode),
    });
    id = await share(lab, file, trackers[mode], { env: modeEnv(mode) });
  }
  const runs: Record<CryptoMode, number[]> = { plaintext: [], encrypted: [] };
  for (let round = 0; round < options.runs; round++) {
    for (const mode of roundOrder(round)) {
      options.step(
        `emulated link ${CRYPTO_LINK.name}: get, ${mode} (${
          round + 1
        } of ${options.runs})`,
      );
      const out = `${options.work}/crypto-link-${mode}-${round}`;
      const got = await get(lab, id, trackers[mode], out, {
        env: modeEnv(mode),
      });
      if (got.dropped.length > 0) {
        throw new Error(`The ${mode} get dropped ${got.dropped.join("; ")}`);
      }
      runs[mode].push(got.ms);
    }
  }
  const plaintext = timing(options.bytes, runs.plaintext);
  const encrypted = timing(options.bytes, runs.encrypted);
  return {
    row: {
      name: CRYPTO_LINK.name,
      bytes: options.bytes,
      plaintext,
      encrypted,
      ratio: encrypted.mbps / plaintext.mbps,
    },
  };
}
