import { assert, assertEquals } from "./assert.ts";
import { tempDir } from "./fixtures.ts";
import { PERMISSIONS, ROOT } from "../scripts/_child.ts";
import {
  COMPILE_TARGETS,
  compileReadiness,
  explainCompileFailure,
} from "../scripts/compile.ts";
import { smoke } from "../scripts/smoke.ts";

/** Writes `peer` and `tracker` scripts into `dir` that run the entry files. */
async function wrappers(dir: string, peerVersionOverride?: string) {
  for (const name of ["peer", "tracker"]) {
    const run = `exec "${Deno.execPath()}" run ${
      PERMISSIONS[`${name}.ts`].join(" ")
    } "${ROOT}${name}.ts" "$@"`;
    const fake = peerVersionOverride && name === "peer"
      ? `[ "$1" = "--version" ] && { echo ${peerVersionOverride}; exit 0; }\n`
      : "";
    await Deno.writeTextFile(`${dir}/${name}`, `#!/bin/sh\n${fake}${run}\n`, {
      mode: 0o755,
    });
  }
}

Deno.test("the release smoke test shares and fetches a file with the executables in a folder", async () => {
  await using dir = await tempDir();
  await wrappers(dir.path);
  await smoke(dir.path);
});

Deno.test("the release smoke test fails when an executable reports another version", async () => {
  await using dir = await tempDir();
  await wrappers(dir.path, "9.9.9");
  let failure = "";
  await smoke(dir.path).catch((error) => failure = error.message);
  assert(failure.includes("9.9.9"), failure);
});

async function compileTask(args: string[], env: Record<string, string> = {}) {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}scripts/compile.ts`, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    stderr: new TextDecoder().decode(result.stderr).trim(),
  };
}

Deno.test("deno task compile --target refuses an unknown target in one line with exit 2", async () => {
  const { code, stderr } = await compileTask(["--target", "sparc-sun-solaris"]);
  assertEquals(code, 2);
  assertEquals(stderr.split("\n").length, 1, stderr);
  for (const target of COMPILE_TARGETS) assert(stderr.includes(target), stderr);
});

Deno.test("deno task compile lets deno compile download its runtime, and explains in one sentence when that fails", async (t) => {
  // A target whose runtime is not cached here makes deno compile download
  // it; the proxy, a closed port on this machine, makes that fail at once.
  const target = "aarch64-apple-darwin";
  const readiness = await compileReadiness(target);
  if (readiness.ready) {
    await t.step({
      name:
        `skipped: a runtime for ${target} is at hand (${readiness.runtime})`,
      ignore: true,
      fn: () => {},
    });
    return;
  }
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const proxy = `http://127.0.0.1:${closed.addr.port}`;
  closed.close();
  const { code, stderr } = await compileTask(["--target", target], {
    HTTPS_PROXY: proxy,
    HTTP_PROXY: proxy,
  });
  await Deno.remove(`${ROOT}dist/${target}`, { recursive: true }).catch(
    () => {},
  );
  assertEquals(code, 1, stderr);
  assertEquals(stderr.split("\n").length, 1, stderr);
  assert(stderr.includes("could not download"), stderr);
  assert(stderr.includes("DENORT_BIN"), stderr);
  assert(stderr.includes(target), stderr);
});

Deno.test("explainCompileFailure() passes other compile errors through", () => {
  const text = explainCompileFailure(
    "peer.ts",
    undefined,
    'error: Module not found "file:///x.ts".',
  );
  assert(text.startsWith("deno compile failed for peer.ts"), text);
});

Deno.test("the release workflow builds all five targets, smoke-tests Linux binaries and publishes checksums", async () => {
  const workflow = await Deno.readTextFile(
    `${ROOT}.github/workflows/release.yml`,
  );
  for (const target of COMPILE_TARGETS) {
    assert(workflow.includes(target), `${target} missing from release.yml`);
  }
  for (
    const step of [
      "deno task compile --target",
      "scripts/smoke.ts",
      "sha256sum",
      "deno-version: v2.9.6",
      "lib/protocol/version.ts",
    ]
  ) {
    assert(workflow.includes(step), `"${step}" missing from release.yml`);
  }
});
