/**
 * The flood floor's clients (`flood_floor.ts`): connections to the bare
 * server (`_bare_server.ts`) from loopback addresses of their own, as the
 * crowd's peers and the flooders come to the tracker (`scripts/_crowd.ts`),
 * but speaking only `_flood_frames.ts`: each sends an announce every
 * announce interval (spread over ticks of 100 ms, as the crowd's are) and
 * the connections together send so many queries a second, pipelined, each
 * from a random one; silent ones (a flood's idle and half-open
 * connections) never send. Query latencies, answers and `busy`s are
 * counted.
 *
 * A child process holds one share ({@linkcode ClientFleet} starts them): it
 * prints one JSON line of {@linkcode ClientStats} once its connections are
 * open, answers `stats` and `reset` lines on its standard input likewise,
 * and closes them and exits when its input ends.
 *
 * @module
 */

import net from "node:net";
import { fileURLToPath } from "node:url";
import { crowdHost } from "../scripts/_crowd.ts";
import { Latencies, type LatenciesJson } from "../scripts/_latency.ts";
import {
  frame,
  FrameSplitter,
  KIND,
  plaintext,
  RecordCipher,
  REQUEST_PAYLOAD_BYTES,
} from "./_flood_frames.ts";
import {
  type LineChild,
  lines,
  openChildren,
  shares,
  spawnLineChild,
} from "../scripts/line_children.ts";

/** Ms between ticks that send the announces due and the queries. */
const TICK_MS = 100;
/** Connections opening at once. */
const OPEN_AT_ONCE = 256;
/** Most ms one connect may take. */
const CONNECT_MS = 10_000;
/** Longest a child may take to answer a line (opening excepted). */
const ANSWER_MS = 30_000;
/** Descriptors a child needs beyond one per connection. */
const SPARE_FDS = 256;
/** Distinct error texts kept. */
const MAX_ERROR_KINDS = 20;

/** Options of one child's connections. */
export interface ClientOptions {
  /** The server, reached from every connection's source address. */
  server: { host: string; port: number };
  /** Connections in this child. */
  peers: number;
  /** Global index of the first (a fleet split over children). @default {0} */
  peerOffset?: number;
  /** Distinct source addresses; connection i from address i mod this. @default {one each} */
  addresses?: number;
  /** `crowdHost` index of the first source address. @default {0} */
  firstAddress?: number;
  /** Never send (idle and half-open connections of a flood). @default {false} */
  silent?: boolean;
  /** Ms between one connection's announces. @default {60_000} */
  announceMs?: number;
  /** Queries a second, all connections together. @default {0} */
  queriesPerSecond?: number;
  /** Seal requests and open replies (the cipher variant). @default {false} */
  cipher?: boolean;
  /**
   * µs of CPU spent after sending each query, as a client that builds and
   * encrypts its messages in JavaScript spends them. @default {0}
   */
  burnUsPerQuery?: number;
}

/** What a child's connections did (summed over a fleet). */
export interface ClientStats {
  /** Connections open, and those that could not be opened. */
  open: number;
  failed: number;
  /** Ms the opening took. */
  openMs: number;
  /** Announces, queries answered, and queries answered `busy`. */
  announces: number;
  queries: number;
  busy: number;
  /** Requests sent and not answered yet. */
  outstanding: number;
  /** Latencies of the queries answered, ms. */
  queryMs: LatenciesJson;
  /** Failures by what they said. */
  errors: Record<string, number>;
}

/** One connection, its requests in flight in order, and its records. */
interface Link {
  socket: net.Socket;
  frames: FrameSplitter;
  /** performance.now() of each request in flight, oldest first, from `head`. */
  sent: number[];
  head: number;
  records?: RecordCipher;
}

/** A child's connections; see the module documentation. */
class Clients {
  #options: ClientOptions;
  #links: Link[] = [];
  #failed = 0;
  #openMs = 0;
  #announces = 0;
  #queries = 0;
  #busy = 0;
  #queryMs = new Latencies();
  #errors = new Map<string, number>();
  #tick = 0;
  #debt = 0;
  #ticker?: ReturnType<typeof setInterval>;
  #request: Uint8Array;
  #announce: Uint8Array;

  constructor(options: ClientOptions) {
    this.#options = options;
    const sealed = options.cipher ?? false;
    this.#request = plaintext(KIND.query, REQUEST_PAYLOAD_BYTES, sealed);
    this.#announce = plaintext(KIND.announce, REQUEST_PAYLOAD_BYTES, sealed);
  }

  /** Opens every connection (OPEN_AT_ONCE at a time), then starts ticking. */
  async open(): Promise<void> {
    const started = performance.now();
    const { peers, peerOffset = 0, firstAddress = 0 } = this.#options;
    const addresses = this.#options.addresses ?? Infinity;
    let next = 0;
    const worker = async () => {
      while (next < peers) {
        const global = peerOffset + next++;
        const host = crowdHost(firstAddress + global % addresses);
        try {
          this.#links.push(await this.#connect(host));
        } catch (error) {
          this.#failed++;
          this.#note(error);
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(OPEN_AT_ONCE, peers) }, worker),
    );
    this.#openMs = performance.now() - started;
    if (!this.#options.silent) {
      this.#ticker = setInterval(() => this.#onTick(), TICK_MS);
    }
  }

  stats(): ClientStats {
    let outstanding = 0;
    for (const link of this.#links) outstanding += link.sent.length - link.head;
    return {
      open: this.#links.filter((link) => !link.socket.destroyed).length,
      failed: this.#failed,
      openMs: this.#openMs,
      announces: this.#announces,
      queries: this.#queries,
      busy: this.#busy,
      outstanding,
      queryMs: this.#queryMs.toJSON(),
      errors: Object.fromEntries(this.#errors),
    };
  }

  reset(): void {
    this.#announces = this.#queries = this.#busy = 0;
    this.#queryMs.reset();
    this.#errors.clear();
  }

  close(): void {
    clearInterval(this.#ticker);
    for (const link of this.#links) link.socket.destroy();
  }

  #connect(localAddress: string): Promise<Link> {
    const { host, port } = this.#options.server;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, localAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`Connecting from ${localAddress} timed out`));
      }, CONNECT_MS);
      socket.once("error", (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.setNoDelay(true);
        const link: Link = {
          socket,
          frames: new FrameSplitter(),
          sent: [],
          head: 0,
          records: this.#options.cipher ? new RecordCipher() : undefined,
        };
        socket.on("data", (data: Uint8Array) => this.#onData(link, data));
        socket.on("error", (error) => this.#note(error));
        resolve(link);
      });
    });
  }

  #onData(link: Link, data: Uint8Array): void {
    link.frames.push(data);
    for (let payload; (payload = link.frames.next()) !== undefined;) {
      const sent = link.sent[link.head++];
      if (link.head === link.sent.length) link.sent.length = link.head = 0;
      let kind: number;
      try {
        kind = link.records ? link.records.open(payload)[0] : payload[0];
      } catch (error) {
        this.#note(error);
        link.socket.destroy();
        return;
      }
      if (kind === KIND.query) {
        this.#queries++;
        this.#queryMs.add(performance.now() - sent);
      } else if (kind === KIND.busy) this.#busy++;
      else this.#announces++;
    }
  }

  #send(link: Link, plain: Uint8Array): void {
    if (link.socket.destroyed) return;
    const payload = link.records ? link.records.seal(plain) : plain;
    link.sent.push(performance.now());
    link.socket.write(frame(payload));
  }

  #onTick(): void {
    const links = this.#links;
    const slots = Math.max(
      1,
      Math.round((this.#options.announceMs ?? 60_000) / TICK_MS),
    );
    const slot = this.#tick++ % slots;
    for (let i = slot; i < links.length; i += slots) {
      this.#send(links[i], this.#announce);
    }
    this.#debt += (this.#options.queriesPerSecond ?? 0) * TICK_MS / 1000;
    const burnMs = (this.#options.burnUsPerQuery ?? 0) / 1000;
    for (; this.#debt >= 1 && links.length > 0; this.#debt--) {
      this.#send(
        links[Math.floor(Math.random() * links.length)],
        this.#request,
      );
      if (burnMs > 0) burn(burnMs);
    }
  }

  #note(error: unknown): void {
    const key = (error instanceof Error ? error.message : String(error))
      .slice(0, 160);
    if (this.#errors.has(key) || this.#errors.size < MAX_ERROR_KINDS) {
      this.#errors.set(key, (this.#errors.get(key) ?? 0) + 1);
    }
  }
}

/** Keeps this thread busy for `ms`. */
function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Spinning: the CPU a heavier client would spend.
  }
}

/** Adds `b` into `a`: two children's stats as one. */
export function mergeClientStats(a: ClientStats, b: ClientStats): ClientStats {
  const queryMs = new Latencies();
  queryMs.merge(a.queryMs);
  queryMs.merge(b.queryMs);
  const errors = { ...a.errors };
  for (const [key, n] of Object.entries(b.errors)) {
    errors[key] = (errors[key] ?? 0) + n;
  }
  return {
    open: a.open + b.open,
    failed: a.failed + b.failed,
    openMs: Math.max(a.openMs, b.openMs),
    announces: a.announces + b.announces,
    queries: a.queries + b.queries,
    busy: a.busy + b.busy,
    outstanding: a.outstanding + b.outstanding,
    queryMs: queryMs.toJSON(),
    errors,
  };
}

/** Options for {@linkcode ClientFleet.open}. */
export interface FleetOptions extends ClientOptions {
  /** Child processes the connections are split over. */
  processes: number;
  /** Their `nice` value (they stand for other machines). @default {0} */
  nice?: number;
}

/** Connections split over child processes; see the module documentation. */
export class ClientFleet {
  #parts: LineChild[];

  private constructor(parts: LineChild[]) {
    this.#parts = parts;
  }

  /** Starts the children; resolves once every one has opened its share. */
  static async open(options: FleetOptions): Promise<ClientFleet> {
    const { processes, nice = 0, ...client } = options;
    const children = await openChildren(
      shares(client.peers, processes, client.peerOffset ?? 0),
      ({ count, offset }) =>
        spawnPart({ ...client, peers: count, peerOffset: offset }, nice),
      ANSWER_MS + client.peers * 10,
    );
    return new ClientFleet(children);
  }

  /** Process IDs of the children. */
  get pids(): number[] {
    return this.#parts.map((part) => part.pid);
  }

  /** The whole fleet's stats. */
  async stats(): Promise<ClientStats> {
    const all = await Promise.all(
      this.#parts.map((part) => part.ask<ClientStats>("stats", ANSWER_MS)),
    );
    return all.reduce(mergeClientStats);
  }

  /** Forgets counts and latencies in every child. */
  async reset(): Promise<void> {
    await Promise.all(this.#parts.map((part) => part.ask("reset", ANSWER_MS)));
  }

  /** Closes every connection and waits for the children to exit. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#parts.map((part) => part.stop()));
  }
}

/** Open files one child of `peers` connections needs. */
export function clientFds(peers: number): number {
  return peers + SPARE_FDS;
}

function spawnPart(options: ClientOptions, nice: number): LineChild {
  const args = [
    "run",
    "--allow-net",
    "--allow-read",
    fileURLToPath(import.meta.url),
    JSON.stringify(options),
  ];
  return spawnLineChild(Deno.execPath(), args, {
    label: "Client child",
    stopMs: ANSWER_MS,
    nice,
  });
}

/** The child: opens its connections, then answers lines until its input ends. */
async function child(options: ClientOptions): Promise<void> {
  const clients = new Clients(options);
  await clients.open();
  const say = (value: unknown) => console.log(JSON.stringify(value));
  say(clients.stats());
  for await (const line of lines(Deno.stdin.readable)) {
    if (line === "reset") clients.reset();
    say(clients.stats());
  }
  clients.close();
}

if (import.meta.main) {
  await child(JSON.parse(Deno.args[0]));
  Deno.exit(0);
}
