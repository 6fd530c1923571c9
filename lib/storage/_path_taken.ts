/**
 * Whether a name in a folder is taken, as a `.part`'s claim asks it.
 *
 * @module
 */

/**
 * True unless nothing is at `path`: whatever cannot even be looked at
 * counts as there, left to the open or claim that follows to report.
 */
export async function pathTaken(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}
