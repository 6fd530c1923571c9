/**
 * The start of the bench's receiving child processes (`tcp_sink.ts`,
 * `floor_sink.ts`): listen on 127.0.0.1 port 0, print `port N` for the
 * parent, and take one connection, exiting if none comes in time.
 *
 * @module
 */

/** Longest a sink waits for its one connection. */
export const ACCEPT_TIMEOUT_MS = 30_000;

/**
 * Listens on 127.0.0.1 port 0, prints `port N`, accepts one connection and
 * stops listening. Exits the process with 1 if none arrives within
 * ACCEPT_TIMEOUT_MS.
 */
export async function acceptOne(): Promise<Deno.TcpConn> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`port ${listener.addr.port}`);
  const timer = setTimeout(() => {
    console.error("No connection arrived; giving up.");
    Deno.exit(1);
  }, ACCEPT_TIMEOUT_MS);
  try {
    return await listener.accept();
  } finally {
    clearTimeout(timer);
  }
}
