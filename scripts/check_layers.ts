/**
 * Checks that `lib/` keeps the layering that docs/ARCHITECTURE.md draws:
 * every import points to the same folder, to a lower layer, or from a
 * subfolder to its parent; a file whose name starts with `_` is imported only
 * from its own folder; and no files import each other in a circle.
 *
 * ```sh
 * deno task check-layers
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/**
 * Each folder of `lib/` and its layer: a file may import from its own folder,
 * from any folder of a lower layer, and from the folder it sits in.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  "util": 0,
  "protocol": 1,
  "secure": 1,
  "net": 2,
  "storage": 2,
  "discovery": 3,
  "tracker": 3,
  "swarm": 3,
  "nat": 3,
  "download": 4,
  "app": 5,
  "web": 6,
  "cli": 7,
  "cli/prompt": 7,
};

/** One import that breaks the layering, or a folder the table lacks. */
export interface LayerViolation {
  /** The importing file, relative to the root given to the check. */
  file: string;
  /** What is wrong, in one sentence. */
  problem: string;
}

// `import … from "./x.ts"`, `export … from`, `import "./x.ts"`, a module
// loaded when used, `import("./x.ts")`, and a Worker's
// `new URL("./x.ts", import.meta.url)`.
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b(?:[^"';]*?\bfrom)?\s*["'](\.{1,2}\/[^"']+)["']|(?:new URL|\bimport)\(\s*["'](\.{1,2}\/[^"']+)["']/g;

/**
 * Lists every layering problem among the `.ts` files under `libDir`
 * (an empty list when the layout is sound).
 */
export async function findLayerViolations(
  libDir: string,
  layers: Readonly<Record<string, number>> = LAYERS,
): Promise<LayerViolation[]> {
  const files = await listTsFiles(libDir);
  const graph = new Map<string, string[]>();
  const violations: LayerViolation[] = [];
  for (const file of files) {
    const folder = dirOf(file);
    if (folder !== "" && !(folder in layers)) {
      violations.push({
        file,
        problem: `Folder "lib/${folder}" has no layer in the table.`,
      });
    }
    const targets = importsOf(await Deno.readTextFile(`${libDir}/${file}`))
      .map((spec) => normalize(`${folder}/${spec}`))
      .filter((target) => !target.startsWith("../"));
    graph.set(file, targets);
    for (const target of targets) {
      const problem = importProblem(file, target, layers);
      if (problem) violations.push({ file, problem });
    }
  }
  for (const cycle of findCycles(graph)) {
    violations.push({
      file: cycle[0],
      problem: `Import cycle: ${cycle.join(" → ")}.`,
    });
  }
  return violations;
}

function importProblem(
  file: string,
  target: string,
  layers: Readonly<Record<string, number>>,
): string | undefined {
  const from = dirOf(file);
  const to = dirOf(target);
  if (baseOf(target).startsWith("_") && from !== to) {
    return `Imports ${target}, which is private to lib/${to}.`;
  }
  if (from === to || from === "") return undefined;
  if (to === "") return `Imports ${target}, which sits outside every layer.`;
  if (from.startsWith(`${to}/`)) return undefined;
  const fromRank = layers[from];
  const toRank = layers[to];
  if (fromRank === undefined || toRank === undefined) return undefined;
  if (toRank < fromRank) return undefined;
  return toRank === fromRank
    ? `Imports ${target} sideways (lib/${from} and lib/${to} share layer ${fromRank}).`
    : `Imports ${target} upwards (layer ${toRank} from layer ${fromRank}).`;
}

function importsOf(source: string): string[] {
  const specs: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    specs.push(match[1] ?? match[2]);
  }
  return specs;
}

function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") {
        cycles.push([...stack.slice(stack.indexOf(next)), next]);
      } else if (!state.has(next) && graph.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

async function listTsFiles(root: string, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) files.push(...await listTsFiles(root, path));
    else if (entry.isFile && entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts.at(-1) !== "..") {
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join("/");
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

if (import.meta.main) {
  const lib = fileURLToPath(new URL("../lib", import.meta.url));
  const violations = await findLayerViolations(lib);
  for (const { file, problem } of violations) {
    console.error(`lib/${file}: ${problem}`);
  }
  if (violations.length > 0) Deno.exit(1);
  console.log(
    "lib/ keeps its layers: no upward, sideways or circular imports.",
  );
}
