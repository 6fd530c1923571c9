/**
 * One question over UDP, asked again on a schedule until an answer comes:
 * what SSDP's search and NAT-PMP/PCP requests both are. Every exchange has
 * its own socket on an ephemeral port, closed when it ends, and a deadline.
 *
 * @module
 */

import { createSocket } from "node:dgram";

/** Where an answer came from. */
export interface UdpSource {
  /** The sender's IP address. */
  address: string;
  /** The sender's UDP port. */
  port: number;
}

/** Options for {@linkcode exchangeUdp}. */
export interface UdpExchangeOptions<T> {
  /** Where to send: an IPv4 address (unicast or multicast). */
  host: string;
  /** The UDP port to send to. */
  port: number;
  /** The datagrams to send, all of them at each round. */
  requests: readonly Uint8Array[];
  /**
   * Ms after the start at which each round after the first is sent (the
   * first goes at once); ascending.
   */
  resendAtMs: readonly number[];
  /** Ms to wait in all before giving up. */
  timeoutMs: number;
  /**
   * Reads a datagram: a value ends the exchange with it; undefined ignores
   * the datagram (a stray, or an answer to something else). Must not throw.
   */
  accept(bytes: Uint8Array, from: UdpSource): T | undefined;
  /** Ends the exchange early, resolving undefined. */
  signal?: AbortSignal;
}

/**
 * Sends `requests` to `host:port` now and at each of `resendAtMs`, and
 * resolves to the first value `accept` makes of an answer, or undefined
 * at the deadline, on abort, or if the socket fails. Never rejects.
 */
export function exchangeUdp<T>(
  options: UdpExchangeOptions<T>,
): Promise<T | undefined> {
  const { host, port, requests, signal } = options;
  if (signal?.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const timers: ReturnType<typeof setTimeout>[] = [];
    let done = false;
    const finish = (value: T | undefined) => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      try {
        socket.close();
      } catch {
        // Closed already, after an error.
      }
      resolve(value);
    };
    const onAbort = () => finish(undefined);
    const sendAll = () => {
      for (const request of requests) {
        // A failed send (no route yet) is one lost datagram: the next
        // round, or the deadline, settles it.
        socket.send(request, port, host, () => {});
      }
    };
    socket.on("error", () => finish(undefined));
    socket.on("message", (bytes: Uint8Array, from: UdpSource) => {
      const value = options.accept(bytes, from);
      if (value !== undefined) finish(value);
    });
    signal?.addEventListener("abort", onAbort, { once: true });
    timers.push(setTimeout(() => finish(undefined), options.timeoutMs));
    for (const at of options.resendAtMs) {
      if (at < options.timeoutMs) timers.push(setTimeout(sendAll, at));
    }
    sendAll();
  });
}

/** `count` resend times starting at `firstMs` and doubling (RFC 6886's schedule). */
export function doublingSchedule(firstMs: number, count: number): number[] {
  const times: number[] = [];
  let wait = firstMs;
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += wait;
    times.push(at);
    wait *= 2;
  }
  return times;
}
