/**
 * The folder floor's program (issue #23): the least a Deno program must do
 * to copy a folder of files over one TCP connection, with nothing of
 * p2p's — no hashing, no encryption, no flush to disk, no checks against
 * links. Run it with the peer's permissions to see what a get of many
 * small files can cost at best on this machine; `bench/folder_floor.ts`
 * times it beside `tar`.
 *
 * `send DIR`: listens on 127.0.0.1, prints `ready PORT`, accepts one
 * connection, and sends every file below `DIR` (one level of subfolders,
 * as the bench writes them) as `u16 name length, name, u32 size, bytes`,
 * each file opened, read and closed with synchronous calls, batched into
 * writes of up to SEND_BATCH_BYTES.
 *
 * `recv DEST PORT`: connects, makes each subfolder once and each file with
 * `createNew` (as a get makes its files), one write and a close each;
 * prints the files made and exits.
 *
 * @module
 */

/** Bytes the sender gathers before one socket write. */
const SEND_BATCH_BYTES = 1024 * 1024;
/** Bytes of one socket read on the receiving side. */
const RECV_CHUNK_BYTES = 1024 * 1024;
/** Bytes of a record's head: name length (u16) and size (u32). */
const HEAD_BYTES = 6;

/** Sends every file below `dir` to the one connection accepted. */
async function send(dir: string): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`ready ${listener.addr.port}`);
  using conn = await listener.accept();
  const encoder = new TextEncoder();
  const batch = new Uint8Array(SEND_BATCH_BYTES);
  const view = new DataView(batch.buffer);
  let used = 0;
  const flush = async () => {
    for (let sent = 0; sent < used;) {
      sent += await conn.write(batch.subarray(sent, used));
    }
    used = 0;
  };
  for (const folder of sortedNames(dir)) {
    for (const name of sortedNames(`${dir}/${folder}`)) {
      const path = encoder.encode(`${folder}/${name}`);
      using file = Deno.openSync(`${dir}/${folder}/${name}`);
      const size = file.statSync().size;
      if (HEAD_BYTES + path.length + size > batch.length) {
        throw new Error(`${folder}/${name} is too large for the floor`);
      }
      if (used + HEAD_BYTES + path.length + size > batch.length) await flush();
      view.setUint16(used, path.length);
      batch.set(path, used + 2);
      view.setUint32(used + 2 + path.length, size);
      const at = used + HEAD_BYTES + path.length;
      for (let got = 0; got < size;) {
        const n = file.readSync(batch.subarray(at + got, at + size));
        if (!n) throw new Error(`${folder}/${name} shrank while sent`);
        got += n;
      }
      used = at + size;
    }
  }
  await flush();
}

/** Receives files from `port` into `dest`; the count made. */
async function receive(dest: string, port: number): Promise<number> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const decoder = new TextDecoder();
  Deno.mkdirSync(dest, { recursive: true });
  const folders = new Set<string>();
  let held = new Uint8Array(4 * RECV_CHUNK_BYTES);
  let start = 0;
  let end = 0;
  const chunk = new Uint8Array(RECV_CHUNK_BYTES);
  let made = 0;
  for (;;) {
    const n = await conn.read(chunk);
    if (n === null) break;
    if (end + n > held.length) {
      const kept = held.subarray(start, end);
      const next = new Uint8Array(Math.max(held.length, 2 * (kept.length + n)));
      next.set(kept);
      held = next;
      end = kept.length;
      start = 0;
    }
    held.set(chunk.subarray(0, n), end);
    end += n;
    const view = new DataView(held.buffer);
    while (end - start >= HEAD_BYTES) {
      const length = view.getUint16(start);
      if (end - start < HEAD_BYTES + length) break;
      const size = view.getUint32(start + 2 + length);
      const body = start + HEAD_BYTES + length;
      if (end < body + size) break;
      const path = decoder.decode(held.subarray(start + 2, start + 2 + length));
      const folder = path.slice(0, path.lastIndexOf("/"));
      if (!folders.has(folder)) {
        Deno.mkdirSync(`${dest}/${folder}`, { recursive: true });
        folders.add(folder);
      }
      using file = Deno.openSync(`${dest}/${path}`, {
        write: true,
        createNew: true,
      });
      const bytes = held.subarray(body, body + size);
      for (let written = 0; written < size;) {
        written += file.writeSync(bytes.subarray(written));
      }
      made++;
      start = body + size;
    }
  }
  if (start !== end) throw new Error("The stream ended inside a file");
  return made;
}

function sortedNames(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
}

if (import.meta.main) {
  const [mode, path, port] = Deno.args;
  if (mode === "send" && path) await send(path);
  else if (mode === "recv" && path && port) {
    console.log(`made ${await receive(path, Number(port))}`);
  } else {
    console.error("usage: folder_floor_copy.ts send DIR | recv DEST PORT");
    Deno.exit(2);
  }
}
