/**
 * A get from the page that the disk refuses fails with its file's name on
 * the failed item and in the note, where a get started by ID showed only
 * the ID, and with advice in the page's words (the Save to folder, Get,
 * Resume) where it said the command line's ("pick another --out", "run the
 * same get again"): a Save to folder no one may write to, a disk that
 * fills up (Resume, once there is room, saves the file). Real tracker,
 * sharer and `peer ui`, the page in real browsers; root for `chattr +i`
 * and `mount`.
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { randomFile, requiring, tempDir } from "../fixtures.ts";
import { spawnSharer } from "../../scripts/_child.ts";
import type { BrowserChoice } from "../../scripts/_browser.ts";
import { eachBrowser, inPage, pageFixture, until } from "./_page.ts";

/** Runs `chattr` with `args`; true if it worked. */
function chattr(...args: string[]): Promise<boolean> {
  return run("chattr", args);
}

/** Runs `program` with `args`; true if it worked. */
async function run(program: string, args: string[]): Promise<boolean> {
  try {
    const command = new Deno.Command(program, {
      args,
      stdout: "null",
      stderr: "null",
    });
    return (await command.output()).success;
  } catch {
    return false;
  }
}

eachBrowser((choice: BrowserChoice) =>
  requiring(Deno.uid() === 0 ? undefined : "needs root (chattr +i)")(
    `web page: a get by ID into a folder no one may write to fails naming the file, not its ID (${choice.name})`,
    () => refusedFolder(choice),
  )
);

eachBrowser((choice: BrowserChoice) =>
  requiring(Deno.uid() === 0 ? undefined : "needs root (mount)")(
    `web page: a get onto a disk that fills up says to free some space and press Resume, and Resume then saves the file (${choice.name})`,
    () => fullDisk(choice),
  )
);

async function refusedFolder(choice: BrowserChoice): Promise<void> {
  await using web = await pageFixture(choice);
  await using files = await tempDir();
  const source = await randomFile(files.path, "report.pdf", 300_000);
  const sharer = await spawnSharer(source, web.tracker.address);
  const out = join(files.path, "locked");
  await Deno.mkdir(out);
  if (!await chattr("+i", out)) throw new Error("chattr +i works here");
  try {
    // Save to the locked folder, and the ID (16 characters, then all 64).
    await inPage(web.page, `document.querySelector("#get-out").value = ""`);
    await web.page.type("#get-out", out);
    for (const ref of [sharer.id.slice(0, 16), sharer.id]) {
      await web.page.type("#get-ref", ref);
      await web.page.click("#get-button");
      const shown = await until<string[]>(
        web.page,
        `(() => { const item = document.querySelector('#finished [data-outcome="failed"]'); return item && [item.querySelector(".name").textContent, item.querySelector(".outcome").textContent]; })()`,
        `the failed get of ${ref}`,
      );
      assertEquals(shown, [
        "report.pdf",
        `Failed: Cannot write to ${out}: you may not write there; pick another Save to folder and get it again.`,
      ]);
      const note = await until<string>(
        web.page,
        `[...document.querySelectorAll("#notes li.error")].map((li) => li.lastChild.textContent).find((text) => text.includes("Cannot write to"))`,
        "the failure's note",
      );
      assertEquals(note.replace(/^#\d+ /, "").split(":")[0], "report.pdf");
      await web.page.click("#clear-finished");
      await until(
        web.page,
        `document.querySelector("#finished-head").hidden`,
        "the finished list cleared",
      );
      await inPage(
        web.page,
        `document.querySelectorAll("#notes li").forEach((li) => li.remove())`,
      );
    }
    assertEquals(web.errors, []);
  } finally {
    await chattr("-i", out);
    await sharer.child.stop();
  }
}

async function fullDisk(choice: BrowserChoice): Promise<void> {
  await using web = await pageFixture(choice);
  await using files = await tempDir();
  const source = await randomFile(files.path, "big.bin", 3 * 1024 * 1024);
  const sharer = await spawnSharer(source, web.tracker.address);
  const out = join(files.path, "small");
  await Deno.mkdir(out);
  if (!await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", out])) {
    throw new Error("mount works here");
  }
  try {
    await inPage(web.page, `document.querySelector("#get-out").value = ""`);
    await web.page.type("#get-out", out);
    await web.page.type("#get-ref", sharer.id.slice(0, 16));
    await web.page.click("#get-button");
    const failed = `#finished [data-outcome="failed"]`;
    const shown = await until<string[]>(
      web.page,
      `(() => { const item = document.querySelector('${failed}'); return item && [item.querySelector(".name").textContent, item.querySelector(".outcome").textContent, item.querySelector(".resume")?.textContent]; })()`,
      "the failed get",
    );
    const part = join(out, "big.bin.part");
    assertEquals(shown, [
      "big.bin",
      `Failed: Cannot write to ${out}: the disk is full. Free some space and press Resume to go on from the partial download ${part}, or pick another Save to folder and get it again.`,
      "Resume",
    ]);
    // Room made, Resume does what the sentence says.
    if (!await run("mount", ["-o", "remount,size=8m", out])) {
      throw new Error("remount works here");
    }
    await web.page.click(`${failed} .resume`);
    const saved = await until<string>(
      web.page,
      `document.querySelector('#finished [data-outcome="saved"] .outcome')?.textContent`,
      "the resumed get saved",
    );
    assertEquals(saved, `Saved to ${join(out, "big.bin")}`);
    assertEquals(
      await Deno.readFile(join(out, "big.bin")),
      await Deno.readFile(source),
    );
    assertEquals(web.errors, []);
  } finally {
    await sharer.child.stop();
    // Lazily: peer ui still serves the saved file from it.
    await run("umount", ["--lazy", out]);
  }
}
