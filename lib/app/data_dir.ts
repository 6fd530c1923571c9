/**
 * The peer's data folder: where the prompt keeps its history and the web
 * page keeps the files dropped on it.
 *
 * @module
 */

import { join } from "node:path";

/** Environment variable that overrides the data folder. */
export const HOME_ENV = "P2P_HOME";

/** Reads one environment variable, or undefined (also without permission). */
export type EnvReader = (name: string) => string | undefined;

/**
 * The peer's data folder, from the environment: `$P2P_HOME`, else
 * `$XDG_DATA_HOME/p2p`, else `$HOME/.local/share/p2p`, else
 * `%LOCALAPPDATA%\p2p`; undefined when none is set.
 *
 * @example
 * ```ts
 * dataDir((name) => ({ HOME: "/home/ann" })[name]); // "/home/ann/.local/share/p2p"
 * ```
 */
export function dataDir(env: EnvReader = readEnv): string | undefined {
  const home = env(HOME_ENV);
  if (home) return home;
  const xdg = env("XDG_DATA_HOME");
  if (xdg) return join(xdg, "p2p");
  const user = env("HOME");
  if (user) return join(user, ".local", "share", "p2p");
  const local = env("LOCALAPPDATA");
  return local ? join(local, "p2p") : undefined;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** `path` with a leading `~` or `~/` meaning the user's home folder. */
export function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  return home ? home + path.slice(1) : path;
}
