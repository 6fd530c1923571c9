/**
 * Child process for the aria2c anchor: a BitTorrent HTTP tracker on
 * 127.0.0.1 (webtorrent's `bittorrent-tracker`, pinned, from npm). Prints
 * `listening PORT`, then one `announce EVENT` line per announce it answers.
 *
 * The package is imported by a computed specifier so `deno check` of the
 * repository neither fetches it nor writes it into deno.lock; run this file
 * with `--no-lock`.
 *
 * ```sh
 * deno run --no-lock --allow-net --allow-env --allow-read --allow-sys bench/bt_tracker.ts
 * ```
 *
 * @module
 */

/** The tracker package, pinned. Its `server` entry avoids the WebRTC client. */
export const BT_TRACKER_SPECIFIER = "npm:bittorrent-tracker@11.2.3/server";

interface TrackerServer {
  on(event: string, listener: (...args: unknown[]) => void): void;
  listen(port: number, hostname: string): void;
  http: { address(): { port: number } };
}

async function main(): Promise<void> {
  const module = await import(BT_TRACKER_SPECIFIER);
  const Server = module.default as new (options: object) => TrackerServer;
  const server = new Server({
    udp: false,
    http: true,
    ws: false,
    stats: false,
  });
  server.on("error", (error) => console.error(`error ${error}`));
  server.on("warning", (error) => console.error(`warning ${error}`));
  server.on("start", () => console.log("announce started"));
  server.on("complete", () => console.log("announce completed"));
  server.on("update", () => console.log("announce update"));
  server.on("listening", () => {
    console.log(`listening ${server.http.address().port}`);
  });
  server.listen(0, "127.0.0.1");
}

if (import.meta.main) await main();
