/**
 * Whether LAN discovery can work on this machine, as `peer doctor` asks:
 * join the multicast group as {@linkcode LanDiscovery} does, send one
 * announcement to it, and hear it come back (a member of the group hears
 * its own datagrams, as its neighbours do). The announcement is for a
 * random key nobody offers, so no peer answers it.
 *
 * @module
 */

import {
  decodeLanMessage,
  encodeLanMessage,
  type GroupAddress,
  joinGroup,
  leaveGroup,
  newCookie,
} from "./_lan_wire.ts";

/** Options for {@linkcode checkLanDiscovery}. */
export interface LanCheckOptions {
  /** The TCP port the announcement names. */
  port: number;
  /** The multicast group. */
  group: string;
  /** Its UDP port. */
  udpPort: number;
  /** The local IPv4 address whose interface to use. @default {the route to 224.0.0.0/4} */
  interface?: string;
  /** Ms to wait for the announcement to come back. */
  timeoutMs: number;
}

/** What {@linkcode checkLanDiscovery} found. */
export interface LanCheck {
  /** The group and its UDP port, `239.192.152.143:6771`. */
  group: string;
  /** True if the group could be joined. */
  joined: boolean;
  /** True if the announcement sent to the group came back in time. */
  heard: boolean;
  /** Why the group could not be joined, or sent to (the system's words). */
  error?: string;
}

/**
 * Joins the group, sends one announcement and waits up to `timeoutMs` for
 * it to come back; leaves the group again. Never throws.
 */
export async function checkLanDiscovery(
  options: LanCheckOptions,
): Promise<LanCheck> {
  const where: GroupAddress = {
    group: options.group,
    udpPort: options.udpPort,
    interface: options.interface,
  };
  const result: LanCheck = {
    group: `${where.group}:${where.udpPort}`,
    joined: false,
    heard: false,
  };
  let socket;
  try {
    socket = await joinGroup(where);
  } catch (error) {
    return { ...result, error: message(error) };
  }
  result.joined = true;
  const cookie = newCookie();
  let settle = () => {};
  const done = new Promise<void>((resolve) => settle = resolve);
  socket.on("message", (bytes: Uint8Array) => {
    if (decodeLanMessage(bytes)?.cookie !== cookie) return;
    result.heard = true;
    settle();
  });
  socket.on("error", () => {});
  const sent = (error?: Error | null) => {
    if (!error) return;
    result.error = message(error);
    settle();
  };
  const timer = setTimeout(settle, options.timeoutMs);
  try {
    socket.send(
      encodeLanMessage({
        host: result.group,
        port: options.port,
        keys: [randomKey()],
        cookie,
      }),
      where.udpPort,
      where.group,
      sent,
    );
  } catch (error) {
    sent(error as Error);
  }
  try {
    await done;
  } finally {
    clearTimeout(timer);
    await leaveGroup(socket, where);
  }
  return result;
}

/** 40 random hex digits: a key nobody offers. */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
