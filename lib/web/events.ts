/**
 * Live updates to the page as Server-Sent Events: every open page holds one
 * `GET /api/events` answer, and each event is written to all of them.
 *
 * @module
 */

/** How often a comment line is sent to notice pages that went away. */
export const HEARTBEAT_MS = 15_000;
/** Events queued for one slow page before it is cut off (it reconnects). */
export const MAX_QUEUED_EVENTS = 64;

const encoder = new TextEncoder();

/** Every page listening, and a way to tell them all something. */
export class EventStreams {
  #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #heartbeat = setInterval(() => this.#write(": still here\n\n"), HEARTBEAT_MS);

  constructor() {
    Deno.unrefTimer(this.#heartbeat);
  }

  /** How many pages listen now. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * A new page's answer: a `text/event-stream` that starts with `first`
   * (the state now) and carries every later {@linkcode send}.
   */
  open(first: { event: string; data: unknown }): Response {
    let client: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = controller;
        this.#clients.add(controller);
        controller.enqueue(encoder.encode(frame(first.event, first.data)));
      },
      cancel: () => {
        this.#clients.delete(client);
      },
    }, { highWaterMark: MAX_QUEUED_EVENTS });
    return new Response(body, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
      },
    });
  }

  /** Sends `data` as JSON under the name `event` to every page. */
  send(event: string, data: unknown): void {
    if (this.#clients.size > 0) this.#write(frame(event, data));
  }

  /** Ends every stream (the pages show that the peer is gone). */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const client of this.#clients) {
      try {
        client.close();
      } catch {
        // Already errored or closed.
      }
    }
    this.#clients.clear();
  }

  #write(text: string): void {
    const bytes = encoder.encode(text);
    for (const client of this.#clients) {
      // A page that stopped reading: drop it rather than queue without end.
      if ((client.desiredSize ?? 0) <= 0) {
        this.#clients.delete(client);
        try {
          client.error(new Error("Too slow."));
        } catch {
          // Already closed.
        }
        continue;
      }
      client.enqueue(bytes);
    }
  }
}

/** One event: its name and its data as one line of JSON. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
