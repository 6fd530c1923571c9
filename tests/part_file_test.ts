import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { PartFile } from "../lib/part_file.ts";

Deno.test("PartFile writes at offsets and commits under its name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const part = await PartFile.open({ dir, name: "a.bin", size: 6 });
    part.write(3, new Uint8Array([4, 5, 6]));
    part.write(0, new Uint8Array([1, 2, 3]));
    assertEquals(part.read(2, 2), new Uint8Array([3, 4]));
    const path = await part.commit();
    assertEquals(path, join(dir, "a.bin"));
    assertEquals(await Deno.readFile(path), new Uint8Array([1, 2, 3, 4, 5, 6]));
    await assertRejects(
      () => Deno.stat(join(dir, "a.bin.part")),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile never overwrites an existing file: it picks 'name (1).ext'", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "a.txt"), "mine");
    const part = await PartFile.open({ dir, name: "a.txt", size: 2 });
    part.write(0, new Uint8Array([104, 105]));
    const path = await part.commit();
    assertEquals(path, join(dir, "a (1).txt"));
    assertEquals(await Deno.readTextFile(join(dir, "a.txt")), "mine");
    assertEquals(await Deno.readTextFile(path), "hi");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile refuses a .part that is a symbolic link", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const target = join(dir, "elsewhere");
    await Deno.writeTextFile(target, "precious");
    await Deno.symlink(target, join(dir, "a.bin.part"));
    await assertRejects(() => PartFile.open({ dir, name: "a.bin", size: 4 }));
    assertEquals(await Deno.readTextFile(target), "precious");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile.close() keeps the .part for a later resume", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const part = await PartFile.open({ dir, name: "b", size: 10 });
    part.close();
    assert((await Deno.stat(join(dir, "b.part"))).size === 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
