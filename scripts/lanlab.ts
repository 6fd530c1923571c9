/**
 * A local network in namespaces for the LAN discovery tests and bench: two
 * hosts on a bridge that lives in a namespace of its own, so no multicast
 * can reach a real interface. Needs Linux, root and `ip`.
 *
 * @module
 */

import {
  deleteNamespaces,
  ip,
  prerequisiteProblem,
  removeStaleNamespaces,
} from "./_namespaces.ts";

/** The lab's namespaces: the bridge's and the two hosts'. */
export interface LanLab extends AsyncDisposable {
  /** The bridge's namespace. */
  br: string;
  /** Host `a`, 10.79.0.1. */
  a: string;
  /** Host `b`, 10.79.0.2. */
  b: string;
}

/** Why a LAN lab cannot be made here, or undefined when it can. */
export function lanLabAvailable(): string | undefined {
  return prerequisiteProblem("LAN labs", [{ name: "ip", pkg: "iproute2" }]);
}

/**
 * Two hosts, `a` (10.79.0.1) and `b` (10.79.0.2), on one bridge in a
 * namespace of its own, with a route for multicast: a local network with
 * nothing else on it, deleted on dispose.
 */
export async function lanLab(): Promise<LanLab> {
  await removeStaleNamespaces(/^p2plan-(\d+)-/);
  const tag = `p2plan-${Deno.pid}-${crypto.randomUUID().slice(0, 6)}`;
  const names = { br: `${tag}-br`, a: `${tag}-a`, b: `${tag}-b` };
  const made: string[] = [];
  try {
    for (const ns of Object.values(names)) {
      await ip(`netns add ${ns}`);
      made.push(ns);
    }
    await ip(`-n ${names.br} link add br0 type bridge`);
    await ip(`-n ${names.br} link set br0 up`);
    for (const [side, address] of [["a", "10.79.0.1"], ["b", "10.79.0.2"]]) {
      const ns = names[side as "a" | "b"];
      await ip(
        `link add ${side}0 netns ${ns} type veth peer name ${side}br netns ${names.br}`,
      );
      await ip(`-n ${names.br} link set ${side}br master br0 up`);
      await ip(`-n ${ns} addr add ${address}/24 dev ${side}0`);
      await ip(`-n ${ns} link set ${side}0 up`);
      await ip(`-n ${ns} link set lo up`);
      await ip(`-n ${ns} route add 224.0.0.0/4 dev ${side}0`);
    }
  } catch (error) {
    await deleteNamespaces(made);
    throw error;
  }
  return {
    ...names,
    async [Symbol.asyncDispose]() {
      await deleteNamespaces(made);
    },
  };
}
