/**
 * What `peer get` loads: `peer.ts` imports each command's module only when
 * that command runs, and the get's modules leave out what a get seldom or
 * never uses (the web page, the prompt, `peer doctor`, asking the router for
 * a port), so their code takes no memory in a get (#19). Read from
 * `deno info --json`, whose graph marks each `import()` as dynamic.
 */

import { assert, assertEquals } from "../assert.ts";
import { ROOT } from "../../scripts/_child.ts";

/** One module of `deno info --json`. */
interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    isDynamic?: boolean;
  }[];
}

/**
 * The repository paths of the modules `entry` loads before it runs, those
 * it may import later, and those it imports itself (statically).
 */
async function graphOf(
  entry: string,
): Promise<{ loaded: Set<string>; dynamic: Set<string>; own: Set<string> }> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert(success, `deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const dynamic = new Set<string>();
  const own = new Set<string>();
  for (const root of info.roots) {
    for (const dependency of modules.get(root)?.dependencies ?? []) {
      if (dependency.code && !dependency.isDynamic) {
        own.add(dependency.code.specifier);
      }
    }
  }
  const stack = [...info.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    const name = info.redirects[specifier] ?? specifier;
    if (loaded.has(name)) continue;
    loaded.add(name);
    for (const dependency of modules.get(name)?.dependencies ?? []) {
      if (!dependency.code) continue;
      if (dependency.isDynamic) dynamic.add(dependency.code.specifier);
      else stack.push(dependency.code.specifier);
    }
  }
  return {
    loaded: repoPaths(loaded),
    dynamic: repoPaths(dynamic),
    own: repoPaths(own),
  };
}

function repoPaths(specifiers: Set<string>): Set<string> {
  const root = new URL(`file://${ROOT}`).href;
  return new Set(
    [...specifiers].filter((s) => s.startsWith(root)).map((s) =>
      s.slice(root.length)
    ),
  );
}

/** Modules a `peer get` must not load: the paths, or folders ending in "/". */
const NOT_IN_A_GET = [
  "lib/web/",
  "lib/cli/prompt/",
  "lib/cli/share.ts",
  "lib/cli/ui.ts",
  "lib/cli/doctor.ts",
  "lib/app/doctor.ts",
  "lib/app/session.ts",
  "lib/nat/port_mapping.ts",
  "lib/nat/_upnp_igd.ts",
  "lib/nat/_pmp_client.ts",
  // Only a get the tracker sends to meet a peer behind a NAT needs these.
  "lib/nat/relay_client.ts",
  "lib/nat/hole_punch.ts",
  "lib/nat/_node_socket.ts",
];

function unwanted(paths: Set<string>): string[] {
  return [...paths].filter((path) =>
    NOT_IN_A_GET.some((name) =>
      name.endsWith("/") ? path.startsWith(name) : path === name
    )
  ).sort();
}

Deno.test("peer.ts loads each command's module only when that command runs", async () => {
  const { loaded, dynamic } = await graphOf("peer.ts");
  for (
    const command of [
      "lib/cli/get.ts",
      "lib/cli/share.ts",
      "lib/cli/list.ts",
      "lib/cli/doctor.ts",
      "lib/cli/ui.ts",
      "lib/cli/prompt/prompt.ts",
    ]
  ) {
    assert(!loaded.has(command), `peer.ts loads ${command} before it runs`);
    // A literal import() is in the graph: deno compile takes it along.
    assert(dynamic.has(command), `peer.ts never imports ${command}`);
  }
  assertEquals(unwanted(loaded), []);
});

Deno.test("peer get loads neither the web page, the prompt, doctor, the router's port mapping nor the relay and hole punch", async () => {
  const entry = await graphOf("peer.ts");
  const get = await graphOf("lib/cli/get.ts");
  assertEquals(unwanted(new Set([...entry.loaded, ...get.loaded])), []);
  // Each is still there for the peer that needs it.
  for (
    const module of [
      "lib/nat/port_mapping.ts",
      "lib/nat/relay_client.ts",
      "lib/nat/hole_punch.ts",
    ]
  ) {
    assert(get.dynamic.has(module), `a get never imports ${module}`);
  }
  // Its defaults come from session_types.ts, without the session's modules
  // (nor, through them, doctor's checks).
  assert(get.own.has("lib/app/session_types.ts"));
  assert(!get.own.has("lib/app/session.ts"), "get.ts imports the session");
});
