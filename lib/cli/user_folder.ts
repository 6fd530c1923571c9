/**
 * Relative paths mean the folder the user typed the command in. `deno task`
 * runs a task in the folder of its `deno.json` (so `deno task --config
 * ~/p2p/deno.json peer share movie.mp4` would look for `~/p2p/movie.mp4`)
 * and says where the user was in `INIT_CWD`, as npm does for its scripts.
 *
 * @module
 */

/** The variable `deno task` (and npm) set to the folder the user was in. */
export const INIT_CWD_ENV = "INIT_CWD";

/**
 * Moves into the folder named by `INIT_CWD` when it is set and exists, so
 * every relative path (files to share, `--out`) resolves against it; returns
 * the folder now current.
 */
export function enterUserFolder(): string {
  let folder: string | undefined;
  try {
    folder = Deno.env.get(INIT_CWD_ENV);
  } catch {
    // No permission to read the environment: stay where we are.
  }
  if (folder) {
    try {
      Deno.chdir(folder);
    } catch {
      // Gone or unreadable: relative paths keep meaning the task's folder.
    }
  }
  return Deno.cwd();
}
