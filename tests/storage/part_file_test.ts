import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { tempDir } from "../fixtures.ts";
import {
  PartBusyError,
  PartFile,
  type PartIdentity,
} from "../../lib/storage/part_file.ts";

function identity(size: number, id = "a".repeat(64)): PartIdentity {
  return { id, size, pieceSize: 16384, hashesDigest: "d".repeat(64) };
}

Deno.test("PartFile writes at offsets and commits under its name", async () => {
  await using dir = await tempDir();
  const part = await PartFile.open({
    dir: dir.path,
    name: "a.bin",
    identity: identity(6),
  });
  part.write(3, new Uint8Array([4, 5, 6]));
  part.write(0, new Uint8Array([1, 2, 3]));
  assertEquals(part.read(2, 2), new Uint8Array([3, 4]));
  const path = await part.commit();
  assertEquals(path, join(dir.path, "a.bin"));
  assertEquals(await Deno.readFile(path), new Uint8Array([1, 2, 3, 4, 5, 6]));
  await assertRejects(
    () => Deno.stat(join(dir.path, "a.bin.part")),
    Deno.errors.NotFound,
  );
  await assertRejects(
    () => Deno.stat(join(dir.path, "a.bin.part.json")),
    Deno.errors.NotFound,
  );
});

Deno.test("PartFile never overwrites an existing file: it picks 'name (1).ext'", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "a.txt"), "mine");
  const part = await PartFile.open({
    dir: dir.path,
    name: "a.txt",
    identity: identity(2),
  });
  part.write(0, new Uint8Array([104, 105]));
  const path = await part.commit();
  assertEquals(path, join(dir.path, "a (1).txt"));
  assertEquals(await Deno.readTextFile(join(dir.path, "a.txt")), "mine");
  assertEquals(await Deno.readTextFile(path), "hi");
});

Deno.test("PartFile with force replaces an existing file of the name", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "a.txt"), "old");
  const part = await PartFile.open({
    dir: dir.path,
    name: "a.txt",
    identity: identity(2),
    force: true,
  });
  part.write(0, new Uint8Array([104, 105]));
  assertEquals(await part.commit(), join(dir.path, "a.txt"));
  assertEquals(await Deno.readTextFile(join(dir.path, "a.txt")), "hi");
});

Deno.test("PartFile never writes through a symbolic link planted at the .part name", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "elsewhere");
  await Deno.writeTextFile(target, "precious");
  await Deno.symlink(target, join(dir.path, "a.bin.part"));
  await Deno.symlink(
    join(dir.path, "nowhere"),
    join(dir.path, "a (1).bin.part"),
  );
  const part = await PartFile.open({
    dir: dir.path,
    name: "a.bin",
    identity: identity(4),
  });
  part.write(0, new Uint8Array([1, 2, 3, 4]));
  assertEquals(part.partPath, join(dir.path, "a (2).bin.part"));
  await part.commit();
  assertEquals(await Deno.readTextFile(target), "precious");
  await assertRejects(
    () => Deno.stat(join(dir.path, "nowhere")),
    Deno.errors.NotFound,
  );
});

Deno.test("PartFile reopens its own .part to resume and leaves another file's alone", async () => {
  await using dir = await tempDir();
  const first = await PartFile.open({
    dir: dir.path,
    name: "b",
    identity: identity(10),
  });
  first.write(0, new Uint8Array([9]));
  first.close();
  const again = await PartFile.open({
    dir: dir.path,
    name: "b",
    identity: identity(10),
  });
  assert(again.resumed);
  assertEquals(again.partPath, first.partPath);
  assertEquals(again.read(0, 1), new Uint8Array([9]));
  again.close();
  const other = await PartFile.open({
    dir: dir.path,
    name: "b",
    identity: identity(10, "b".repeat(64)),
  });
  assert(!other.resumed);
  assertEquals(other.partPath, join(dir.path, "b (1).part"));
  other.close();
});

Deno.test("PartFile leaves a .part without its own record alone: it may be the user's file", async () => {
  await using dir = await tempDir();
  const mine = new Uint8Array(5000).fill(7);
  await Deno.writeFile(join(dir.path, "c.part"), mine);
  const part = await PartFile.open({
    dir: dir.path,
    name: "c",
    identity: identity(3),
  });
  assert(!part.resumed);
  assertEquals(part.partPath, join(dir.path, "c (1).part"));
  part.write(0, new Uint8Array([1, 2, 3]));
  assertEquals(await part.commit(), join(dir.path, "c"));
  assertEquals(await Deno.readFile(join(dir.path, "c.part")), mine);

  // JSON that is not a record of ours does not make the .part ours either,
  // and is not replaced. (A record that is not JSON at all is what a crash
  // can leave: that .part is resumed, its pieces checked, as resume_test
  // shows.)
  await Deno.writeTextFile(join(dir.path, "d.part"), "my notes");
  await Deno.writeTextFile(join(dir.path, "d.part.json"), '{"notes":1}');
  const other = await PartFile.open({
    dir: dir.path,
    name: "d",
    identity: identity(3),
  });
  assertEquals(other.partPath, join(dir.path, "d (1).part"));
  other.close();
  assertEquals(await Deno.readTextFile(join(dir.path, "d.part")), "my notes");
  assertEquals(
    await Deno.readTextFile(join(dir.path, "d.part.json")),
    '{"notes":1}',
  );
});

Deno.test("PartFile never replaces a file at its record's name that is not a record", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "e.part.json"), '{"mine":true}');
  const part = await PartFile.open({
    dir: dir.path,
    name: "e",
    identity: identity(2),
  });
  assertEquals(part.partPath, join(dir.path, "e (1).part"));
  part.close();
  assertEquals(
    await Deno.readTextFile(join(dir.path, "e.part.json")),
    '{"mine":true}',
  );
  // Our .part it made and gave up is gone again; the resume works as usual.
  await assertRejects(
    () => Deno.stat(join(dir.path, "e.part")),
    Deno.errors.NotFound,
  );
  const again = await PartFile.open({
    dir: dir.path,
    name: "e",
    identity: identity(2),
  });
  assert(again.resumed);
  assertEquals(again.partPath, join(dir.path, "e (1).part"));
  again.close();
});

Deno.test("PartFile refuses a .part another download holds", async () => {
  await using dir = await tempDir();
  const first = await PartFile.open({
    dir: dir.path,
    name: "d",
    identity: identity(3),
  });
  try {
    await assertRejects(
      () => PartFile.open({ dir: dir.path, name: "d", identity: identity(3) }),
      PartBusyError,
    );
  } finally {
    first.close();
  }
});

Deno.test("PartFile handles a 255-byte name: the .part is shorter, the final file keeps it", async () => {
  await using dir = await tempDir();
  const name = "é".repeat(125) + ".bin1";
  assertEquals(new TextEncoder().encode(name).length, 255);
  const part = await PartFile.open({
    dir: dir.path,
    name,
    identity: identity(2),
  });
  part.write(0, new Uint8Array([1, 2]));
  assert(
    new TextEncoder().encode(part.partPath.split("/").pop()!).length <= 255,
  );
  assertEquals(await part.commit(), join(dir.path, name));
  assertEquals(
    await Deno.readFile(join(dir.path, name)),
    new Uint8Array([1, 2]),
  );
});
