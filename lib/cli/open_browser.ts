/**
 * Opening the page in the user's browser, when there is one. The page's
 * address carries its token, and a command's arguments are visible to other
 * users of the machine (the process list), so the browser is sent to a
 * small file only this user can read that forwards to the address, as
 * Jupyter does; the address itself never appears in a command line.
 *
 * @module
 */

import { join } from "node:path";

/**
 * Programs that open a file in the desktop's browser, by operating system,
 * by absolute path: `--allow-run` names them so (a bare name that is not
 * installed makes Deno print a notice at every start), and each is run only
 * if it was allowed.
 */
export const OPENERS: Readonly<Record<string, readonly string[]>> = {
  linux: ["/usr/bin/xdg-open", "/usr/local/bin/xdg-open"],
  darwin: ["/usr/bin/open"],
  windows: ["C:\\Windows\\System32\\rundll32.exe"],
};
/** Arguments before the file, by operating system. */
const OPENER_ARGS: Readonly<Record<string, readonly string[]>> = {
  windows: ["url.dll,FileProtocolHandler"],
};
/** How long the forwarding file stays for the browser to read it. */
export const FORWARD_FILE_MS = 60_000;

/**
 * Asks the desktop to open `url` in the browser; resolves to false when
 * there is no desktop (no display on Linux) or no opener could run. Never
 * throws.
 */
export async function openBrowser(url: string): Promise<boolean> {
  const opener = (OPENERS[Deno.build.os] ?? []).find(allowedAndThere);
  if (!opener || !hasDesktop()) return false;
  try {
    const dir = await Deno.makeTempDir({ prefix: "p2p-ui-" });
    const file = join(dir, "open.html");
    await Deno.writeTextFile(file, forwardingPage(url), { mode: 0o600 });
    const child = new Deno.Command(opener, {
      args: [...(OPENER_ARGS[Deno.build.os] ?? []), file],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const removal = setTimeout(
      () => Deno.remove(dir, { recursive: true }).catch(() => {}),
      FORWARD_FILE_MS,
    );
    Deno.unrefTimer(removal);
    const { success } = await child.status;
    return success;
  } catch {
    return false;
  }
}

/** A page that sends the browser on to `url` at once. */
function forwardingPage(url: string): string {
  const safe = url.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${safe}"><title>p2p</title><a href="${safe}">Open p2p</a>\n`;
}

function hasDesktop(): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    return Boolean(
      Deno.env.get("DISPLAY") || Deno.env.get("WAYLAND_DISPLAY"),
    );
  } catch {
    return false;
  }
}

function allowedAndThere(path: string): boolean {
  try {
    const { state } = Deno.permissions.querySync({
      name: "run",
      command: path,
    });
    return state === "granted" && Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
