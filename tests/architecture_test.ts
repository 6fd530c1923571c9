import { assertEquals } from "./assert.ts";
import { findLayerViolations } from "../scripts/check_layers.ts";

const LIB = new URL("../lib", import.meta.url).pathname;

Deno.test("lib/ has no upward, sideways, private or circular imports", async () => {
  assertEquals(await findLayerViolations(LIB), []);
});

Deno.test("the layer check names each kind of bad import in a made-up tree", async () => {
  const root = await Deno.makeTempDir({ prefix: "p2p-layers-" });
  try {
    const files: Record<string, string> = {
      "util/a.ts": 'import { b } from "../net/b.ts";\n',
      "net/b.ts": 'export const b = 1;\nimport "../net/c.ts";\n',
      "net/c.ts": 'import { b } from "./b.ts";\n',
      "storage/d.ts": 'import { b } from "../net/b.ts";\n',
      "swarm/e.ts": 'import { f } from "../storage/_f.ts";\n',
      "storage/_f.ts": "export const f = 1;\n",
      "cli/prompt/g.ts": 'import { h } from "../h.ts";\n',
      "cli/h.ts": "export const h = 1;\n",
      "odd/i.ts": "export const i = 1;\n",
      "util/j.ts":
        'export const j = () => import("../cli/h.ts");\nconst w = new URL("./k.ts", import.meta.url);\n',
      "util/k.ts":
        'export async function k() {\n  await import("../storage/_f.ts");\n}\n',
    };
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, {
        recursive: true,
      });
      await Deno.writeTextFile(`${root}/${path}`, text);
    }
    const problems = (await findLayerViolations(root)).map((v) =>
      `${v.file}: ${v.problem}`
    );
    assertEquals(problems.sort(), [
      "net/b.ts: Import cycle: net/b.ts → net/c.ts → net/b.ts.",
      'odd/i.ts: Folder "lib/odd" has no layer in the table.',
      "storage/d.ts: Imports net/b.ts sideways (lib/storage and lib/net share layer 2).",
      "swarm/e.ts: Imports storage/_f.ts, which is private to lib/storage.",
      "util/a.ts: Imports net/b.ts upwards (layer 2 from layer 0).",
      "util/j.ts: Imports cli/h.ts upwards (layer 7 from layer 0).",
      "util/k.ts: Imports storage/_f.ts, which is private to lib/storage.",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
