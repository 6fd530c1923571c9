/**
 * A file being sent from one tab of the page, cancelled from another tab:
 * the sending tab stops sending and says it was cancelled. Real `peer ui`,
 * real Chromium (its network throttling sends slowly: CDP, which Firefox
 * over WebDriver BiDi does not have).
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { randomFile, requiring, tempDir } from "../fixtures.ts";
import { dropFile, findBrowser } from "../../scripts/_browser.ts";
import { inPage, pageFixture, until } from "./_page.ts";

const chromium = findBrowser("chromium");

requiring(
  chromium ? undefined : "no chromium (apt install chromium-headless-shell)",
)(
  "web page: a file being sent is cancelled from another tab: the sending tab stops sending it and says so",
  async () => {
    await using web = await pageFixture(chromium!);
    await web.page.emulateNetworkConditions({
      offline: false,
      download: -1,
      upload: 256 * 1024,
      latency: 0,
    });
    const other = await web.browser.page();
    await other.goto(web.ui.url, { waitUntil: "load" });
    await until(
      other,
      `document.querySelector("#get-out").value !== ""`,
      "the other tab's first state",
    );
    await using files = await tempDir();
    // 8 MiB at 256 KiB/s: 32 s to send it all.
    const source = await randomFile(files.path, "slow.bin", 8 << 20);
    await dropFile(web.page, "#drop", "slow.bin", await Deno.readFile(source));
    await until(
      other,
      `(() => { const p = document.querySelector("#running [data-upload] progress"); return p && p.value > 0 && p.value < p.max; })()`,
      "part of the file received, seen in the other tab",
    );
    const clicked = performance.now();
    await other.click("#running [data-upload] button.cancel");
    for (const [tab, page] of [["sending", web.page], ["other", other]]) {
      const outcome = await until<string>(
        page as typeof web.page,
        `document.querySelector('#finished [data-outcome="cancelled"] .outcome')?.textContent`,
        `the cancelled upload (${tab} tab)`,
      );
      assertEquals(outcome, "Cancelled while sending: not shared");
    }
    // The sending tab stopped sending: its call ended (its held note is
    // gone, not shown), where it went on sending the rest, unread.
    await until(
      web.page,
      `!document.querySelector("#notes li[hidden]")`,
      "the upload's end in the sending tab",
    );
    const took = performance.now() - clicked;
    assert(took < 5_000, `sending stopped ${took} ms after Cancel`);
    const notes = await inPage<string[]>(
      web.page,
      `[...document.querySelectorAll("#notes li")].map((li) => li.className + ":" + li.lastChild.textContent)`,
    );
    assertEquals(notes, [
      ":Stopped sending slow.bin: it was cancelled on another page.",
      ":Sending slow.bin (8.0 MiB) to the peer…",
    ]);
    const running = await inPage<number>(
      web.page,
      `document.querySelectorAll("#running li").length`,
    );
    assertEquals(running, 0, "nothing running");
    assertEquals([...Deno.readDirSync(join(web.dir, "home", "dropped"))], []);
    assertEquals(web.errors, []);
  },
);
