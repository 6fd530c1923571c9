/**
 * The tracker's files on the page, with a look-alike someone registered
 * (an ID whose first 16 hex characters are the real file's): each row
 * shows as much of its ID as tells it apart, as `peer list` does, and Get
 * on the real one fetches the real file. Real tracker, sharer and `peer
 * ui`, the page in real browsers.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { randomFile, requiring, sha256File, tempDir } from "../fixtures.ts";
import { spawnSharer } from "../../scripts/_child.ts";
import type { BrowserChoice } from "../../scripts/_browser.ts";
import { TrackerClient } from "../../lib/discovery/tracker_client.ts";
import { HASH_BYTES, MIN_PIECE_SIZE } from "../../lib/protocol/limits.ts";
import { eachBrowser, inPage, pageFixture, until } from "./_page.ts";

eachBrowser((choice: BrowserChoice) =>
  requiring(undefined)(
    `web page: search and list show a look-alike's ID and the real file's each long enough to tell them apart, as peer list does (${choice.name})`,
    () => lookAlike(choice),
  )
);

async function lookAlike(choice: BrowserChoice): Promise<void> {
  await using web = await pageFixture(choice);
  await using files = await tempDir();
  const source = await randomFile(files.path, "b.bin", 300_000);
  const other = await randomFile(files.path, "other.bin", 1_000);
  const sharer = await spawnSharer(source, web.tracker.address);
  const second = await spawnSharer(other, web.tracker.address);
  const [host, port] = web.tracker.address.split(":");
  const liar = await TrackerClient.connect({ host, port: Number(port) });
  try {
    const real = sharer.id;
    // Anyone may register a file whose ID starts as the real one does.
    const fake = real.slice(0, 16) + (real[16] === "0" ? "f" : "0").repeat(48);
    await liar.register({
      id: fake,
      name: "b.bin",
      size: 300_000,
      pieceSize: MIN_PIECE_SIZE,
      pieceHashes: new Uint8Array(
        Math.ceil(300_000 / MIN_PIECE_SIZE) * HASH_BYTES,
      ),
    }, 7777);
    const rows =
      `(() => { const rows = [...document.querySelectorAll("#result-rows tr[data-id]")].map((r) => [r.dataset.id, r.querySelector("td.id")?.textContent ?? "", r.querySelector("td.id code")?.title ?? ""]); return rows.length === COUNT && rows; })()`;
    const expected = (...ids: string[]) =>
      ids.map((id) => [
        id,
        id === second.id ? id.slice(0, 16) : id.slice(0, 17),
        id,
      ]).sort();

    await web.page.click("#list-button");
    const listed = await until<string[][]>(
      web.page,
      rows.replace("COUNT", "3"),
      "the three files listed",
    );
    assertEquals(listed.sort(), expected(real, fake, second.id));

    await web.page.type("#search-text", "b.bin");
    await web.page.click("#search-button");
    const found = await until<string[][]>(
      web.page,
      rows.replace("COUNT", "2"),
      "the two files found",
    );
    assertEquals(found.sort(), expected(real, fake));

    // The header names the column.
    const header = await inPage<string[]>(
      web.page,
      `[...document.querySelectorAll("#results thead th")].map((th) => th.textContent.trim())`,
    );
    assertEquals(header.slice(0, 4), ["Name", "Size", "ID", "Peers"]);

    await web.page.click(`#result-rows tr[data-id="${real}"] button.get`);
    await until(
      web.page,
      `document.querySelector('#finished [data-outcome="saved"]')`,
      "the saved file",
    );
    assertEquals(await sha256File(join(web.out, "b.bin")), real);
    assertEquals(web.errors, []);
  } finally {
    liar.close();
    await sharer.child.stop();
    await second.child.stop();
  }
}
