/**
 * A tiny TCP probe run inside NAT lab namespaces by natlab_test.ts.
 *
 * ```sh
 * deno run --allow-net _probe.ts serve HOST
 *   # prints "listening on HOST:PORT", then "from IP:PORT" for each
 *   # connection, and answers it with the line "IP:PORT" it came from
 * deno run --allow-net _probe.ts connect TIMEOUT_MS HOST:PORT[@LOCAL_PORT]…
 *   # tries all at once, then prints one JSON line per target, in order:
 *   # {"seen":"IP:PORT"} (what the server saw),
 *   # or {"error":"timeout"} or {"error":"ECONNREFUSED"} (the error code)
 * ```
 *
 * @module
 */

import { connect } from "node:net";

/** Most bytes of a server's answer the probe reads. */
const MAX_ANSWER = 256;

async function serve(hostname: string): Promise<void> {
  const listener = Deno.listen({ hostname, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  console.log(`listening on ${hostname}:${port}`);
  for await (const conn of listener) {
    const from = conn.remoteAddr as Deno.NetAddr;
    console.log(`from ${from.hostname}:${from.port}`);
    const line = new TextEncoder().encode(`${from.hostname}:${from.port}\n`);
    conn.write(line).catch(() => {}).finally(() => conn.close());
  }
}

/** What `host:port`, from `localPort` if given, gets within `timeoutMs`. */
function probe(
  target: string,
  timeoutMs: number,
): Promise<{ seen?: string; error?: string }> {
  const match = /^([\d.]+):(\d+)(?:@(\d+))?$/.exec(target);
  if (!match) throw new TypeError(`Bad target "${target}".`);
  const [, host, port, localPort] = match;
  return new Promise((resolve) => {
    let answer = "";
    const socket = connect({
      host,
      port: Number(port),
      ...(localPort ? { localPort: Number(localPort) } : {}),
    });
    const timer = setTimeout(() => finish({ error: "timeout" }), timeoutMs);
    function finish(result: { seen?: string; error?: string }): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    }
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      answer += text;
      if (answer.includes("\n") || answer.length > MAX_ANSWER) {
        finish({ seen: answer.split("\n")[0] });
      }
    });
    socket.on("end", () => finish({ seen: answer.trim() }));
    socket.on(
      "error",
      (error: NodeJS.ErrnoException) =>
        finish({ error: error.code ?? error.message }),
    );
  });
}

const [mode, ...args] = Deno.args;
if (mode === "serve") {
  await serve(args[0]);
} else if (mode === "connect") {
  const [timeoutMs, ...targets] = args;
  // At once, so that checking several timeouts takes one.
  const results = await Promise.all(
    targets.map((target) => probe(target, Number(timeoutMs))),
  );
  for (const result of results) console.log(JSON.stringify(result));
} else {
  console.error("Usage: _probe.ts serve HOST | connect TIMEOUT_MS TARGET…");
  Deno.exit(2);
}
