/**
 * The web page in a real browser (Debian's headless Chromium, driven by
 * puppeteer-core) against real processes: a tracker, sharers and `peer ui`.
 * Files dropped or fetched through the page are compared with `sha256sum`
 * and byte for byte on disk.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  randomFile,
  requiring,
  sha256File,
  sha256sum,
  tempDir,
  within,
} from "../fixtures.ts";
import { spawnSharer } from "../../scripts/_child.ts";
import {
  type BrowserChoice,
  dropFile,
  launchBrowser,
} from "../../scripts/_browser.ts";
import {
  eachBrowser,
  inPage,
  pageFixture,
  SHOWN_MS,
  tokenOf,
  until,
} from "./_page.ts";

eachBrowser(browserTests);

/** Registers every test of the page in the browser `choice`. */
function browserTests(choice: BrowserChoice): void {
  const browserTest = requiring(undefined);
  browserTest(
    `web page: a dropped file is shared, and its ID on the page is sha256sum's (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      const source = await randomFile(files.path, "holiday photo.jpg", 700_000);
      await dropFile(
        web.page,
        "#drop",
        "holiday photo.jpg",
        await Deno.readFile(source),
      );
      const id = await until<string>(
        web.page,
        `document.querySelector("#shared-rows tr[data-id]")?.dataset.id`,
        "the shared row",
      );
      assertEquals(id, await sha256sum(source));
      const row = await inPage<string>(
        web.page,
        `document.querySelector("#shared-rows tr").textContent`,
      );
      assert(row.includes("holiday photo.jpg"), row);
      // The dropped copy lives in the data folder, byte for byte.
      assertEquals(
        await sha256File(join(web.dir, "home", "dropped", "holiday photo.jpg")),
        id,
      );
      // The keyboard reaches the same: Enter on the drop zone opens the file
      // chooser (the file input is clicked), and the file chosen is shared.
      await inPage(
        web.page,
        `document.querySelector("#files").addEventListener("click", (event) => {
          event.preventDefault();
          document.body.dataset.chooserOpened = "yes";
        }, { once: true })`,
      );
      await web.page.focus("#drop");
      await web.page.keyboard.press("Enter");
      await until(
        web.page,
        `document.body.dataset.chooserOpened === "yes"`,
        "the file chooser",
      );
      const second = await randomFile(files.path, "notes.txt", 5_000);
      const input = await web.page.$("#files");
      await input!.uploadFile(second);
      const secondId = await sha256sum(second);
      await until(
        web.page,
        `document.querySelector('#shared-rows tr[data-id="${secondId}"]')`,
        "the chosen file's row",
      );
      // A path typed on this machine is shared as well.
      const third = await randomFile(files.path, "typed path.bin", 9_000);
      await web.page.type("#share-path", third);
      await web.page.keyboard.press("Enter");
      const thirdId = await sha256sum(third);
      await until(
        web.page,
        `document.querySelector('#shared-rows tr[data-id="${thirdId}"]')`,
        "the typed path's row",
      );
      // Copy link gives the link the peer made (on the clipboard, or selected
      // in a box to copy by hand where the clipboard is refused).
      await web.page.click(`#shared-rows tr[data-id="${thirdId}"] .copy-link`);
      const copied = await until<string>(
        web.page,
        `(async () => {
          const box = document.querySelector("#copy-box");
          if (!box.hidden) return document.querySelector("#copy-text").value;
          const notes = document.querySelector("#notes").textContent;
          if (!/cop/i.test(notes)) return false;
          return await navigator.clipboard.readText().catch(() => "unreadable");
        })()`,
        "the copied link",
      );
      const state = await (await fetch(`${web.ui.origin}/api/state`, {
        headers: { authorization: `Bearer ${tokenOf(web.ui.url)}` },
      })).json();
      const link = state.shared.find((f: { id: string }) => f.id === thirdId)
        .link;
      assertEquals(copied, link);
      assertEquals(web.errors, []);
    },
  );

  // Chromium only: sending slowly needs its network throttling (CDP), which
  // Firefox over WebDriver BiDi does not have.
  if (choice.name === "chromium") {
    browserTest(
      `web page: Cancel stops a file being sent to the peer: nothing of it is kept or shared, and its item says it was cancelled (${choice.name})`,
      async () => {
        await using web = await pageFixture(choice);
        await web.page.emulateNetworkConditions({
          offline: false,
          download: -1,
          upload: 256 * 1024,
          latency: 0,
        });
        await using files = await tempDir();
        // 8 MiB at 256 KiB/s: 32 s to send it all.
        const source = await randomFile(files.path, "slow.bin", 8 << 20);
        await dropFile(
          web.page,
          "#drop",
          "slow.bin",
          await Deno.readFile(source),
        );
        await until(
          web.page,
          `(() => { const p = document.querySelector("#running [data-upload] progress"); return p && p.value > 0 && p.value < p.max; })()`,
          "part of the file received",
        );
        const dropped = join(web.dir, "home", "dropped");
        assertEquals([...Deno.readDirSync(dropped)].length, 1, "the part");
        const clicked = performance.now();
        await web.page.click("#running [data-upload] button.cancel");
        const outcome = await until<string>(
          web.page,
          `document.querySelector('#finished [data-outcome="cancelled"] .outcome')?.textContent`,
          "the cancelled upload",
        );
        assertEquals(outcome, "Cancelled while sending: not shared");
        // The page stopped sending at once: its call ended (its held note
        // is gone, not shown), where it went on sending what was left.
        await until(
          web.page,
          `!document.querySelector("#notes li[hidden]")`,
          "the upload's end",
        );
        const took = performance.now() - clicked;
        assert(took < 5_000, `sending stopped ${took} ms after Cancel`);
        const shown = await inPage<[number, number, string[]]>(
          web.page,
          `[document.querySelectorAll("#running li").length, document.querySelectorAll("#shared-rows tr").length, [...document.querySelectorAll("#notes li")].map((li) => li.className + ":" + li.lastChild.textContent)]`,
        );
        assertEquals(shown[0], 0, "nothing running");
        assertEquals(shown[1], 0, "nothing shared");
        assertEquals(shown[2], [
          ":Cancelling slow.bin",
          ":Sending slow.bin (8.0 MiB) to the peer…",
        ]);
        assertEquals([...Deno.readDirSync(dropped)], []);
        assertEquals(web.errors, []);
      },
    );
  }

  browserTest(
    `web page: a pasted ID is fetched with live progress rising to 100%, and the file on disk is right (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice, ["--download-limit", "4M"]);
      await using files = await tempDir();
      const source = await randomFile(
        files.path,
        "movie.bin",
        12 * 1024 * 1024,
      );
      const sharer = await spawnSharer(source, web.tracker.address);
      try {
        // Keyboard only: focus, type, Enter.
        await web.page.focus("#get-ref");
        await web.page.keyboard.type(sharer.id);
        await web.page.keyboard.press("Enter");
        const seen: number[] = [];
        await within(
          (async () => {
            for (;;) {
              const value = await inPage<number | null>(
                web.page,
                `(() => { const p = document.querySelector("#running [data-transfer] progress"); return p && p.max > 1 ? p.value / p.max : null; })()`,
              );
              if (value !== null) seen.push(value);
              const saved = await inPage<boolean>(
                web.page,
                `Boolean(document.querySelector('#finished [data-outcome="saved"]'))`,
              );
              if (saved) return;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          })(),
          SHOWN_MS,
          "the saved file",
        );
        const between = seen.filter((v) => v > 0.05 && v < 0.95);
        assert(between.length >= 3, `progress seen: ${seen.join(", ")}`);
        for (let i = 1; i < seen.length; i++) {
          assert(
            seen[i] >= seen[i - 1],
            `progress went back: ${seen.join(", ")}`,
          );
        }
        const text = await inPage<string>(
          web.page,
          `document.querySelector('#finished [data-outcome="saved"]').textContent`,
        );
        assert(text.includes("movie.bin"), text);
        assertEquals(await sha256File(join(web.out, "movie.bin")), sharer.id);
        assertEquals(web.errors, []);
      } finally {
        await sharer.child.stop();
      }
    },
  );

  browserTest(
    `web page: cancel stops a get, Resume finishes it from its partial file, says how much was already there, and the bytes are right (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice, ["--download-limit", "3M"]);
      await using files = await tempDir();
      const source = await randomFile(files.path, "big.bin", 12 * 1024 * 1024);
      const sharer = await spawnSharer(source, web.tracker.address);
      try {
        // By its share link this time.
        await web.page.type("#get-ref", sharer.link);
        await web.page.click("#get-button");
        await until(
          web.page,
          `(() => { const p = document.querySelector("#running [data-transfer] progress"); return p && p.max > 1 && p.value / p.max > 0.15; })()`,
          "15% of the file",
        );
        await web.page.click("#running [data-transfer] button.cancel");
        await until(
          web.page,
          `document.querySelector('#finished [data-outcome="cancelled"] button.resume')`,
          "the cancelled get",
        );
        const parts = [...Deno.readDirSync(web.out)].map((e) => e.name);
        assert(
          parts.some((name) =>
            name.startsWith("big.bin") && name.includes(".part")
          ),
          parts.join(", "),
        );
        await web.page.click(
          '#finished [data-outcome="cancelled"] button.resume',
        );
        // It starts from what it had: the first progress shown is past where it stopped.
        const first = await until<number>(
          web.page,
          `(() => { const p = document.querySelector("#running [data-transfer] progress"); return p && p.max > 1 && p.value / p.max; })()`,
          "the resumed get's progress",
        );
        assert(first > 0.1, `resumed at ${first}`);
        // And says so, as peer get does.
        const resumed = await until<string>(
          web.page,
          `document.querySelector("#running [data-transfer] .resumed")?.textContent`,
          "the resumed get's words",
        );
        assert(
          /^Resumed: [\d.]+ MiB of 12\.0 MiB was already here, checked\.$/
            .test(resumed),
          resumed,
        );
        await until(
          web.page,
          `document.querySelector('#finished [data-outcome="saved"]')`,
          "the saved file",
        );
        assertEquals(await sha256File(join(web.out, "big.bin")), sharer.id);
        assertEquals(web.errors, []);
      } finally {
        await sharer.child.stop();
      }
    },
  );

  browserTest(
    `web page: a pasted ID nobody shares yet shows Waiting for a sharer, not a bar at 100%, and Cancel ends the wait (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await web.page.type("#get-ref", "ce".repeat(32));
      await web.page.click("#get-button");
      const shown = await until<string>(
        web.page,
        `(() => { const item = document.querySelector("#running [data-transfer].waiting"); return item && item.querySelector(".numbers").textContent; })()`,
        "the waiting get",
      );
      assert(
        /^Waiting for a sharer… \((4m \d\d|5m 00)s left\)$/.test(shown),
        shown,
      );
      const bar = await inPage<boolean>(
        web.page,
        `document.querySelector("#running [data-transfer] progress").hasAttribute("value")`,
      );
      assertEquals(bar, false, "an empty bar, not a full one");
      await web.page.click("#running [data-transfer] button.cancel");
      const outcome = await until<string>(
        web.page,
        `document.querySelector('#finished [data-outcome="cancelled"] .outcome')?.textContent`,
        "the cancelled get",
      );
      assertEquals(outcome, "Cancelled before anything arrived");
      assertEquals(web.errors, []);
    },
  );

  browserTest(
    `web page: another site's page cannot make the peer do anything, even knowing the port (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      const secret = await randomFile(files.path, "secret.txt", 1_000);
      // An attacker's page on another origin (another port of 127.0.0.1).
      const evil = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () =>
          new Response("<!doctype html><title>evil</title>", {
            headers: { "content-type": "text/html" },
          }),
      );
      try {
        const evilPage = await web.browser.page();
        await evilPage.goto(`http://127.0.0.1:${evil.addr.port}/`);
        const target = `${web.ui.origin}/api/share`;
        const token = tokenOf(web.ui.url);
        const outcomes = await inPage<string[]>(
          evilPage,
          `Promise.all([
          fetch(${
            JSON.stringify(target)
          }, { method: "POST", mode: "no-cors", body: JSON.stringify({ path: ${
            JSON.stringify(secret)
          } }) }).then((r) => "sent " + r.type, (e) => "refused"),
          fetch(${
            JSON.stringify(target)
          }, { method: "POST", headers: { authorization: "Bearer ${token}", "content-type": "application/json" }, body: JSON.stringify({ path: ${
            JSON.stringify(secret)
          } }) }).then((r) => "answered " + r.status, (e) => "refused"),
        ])`,
        );
        assertEquals(outcomes[1], "refused"); // CORS: the preflight has no token and is refused
        await new Promise((resolve) => setTimeout(resolve, 500));
        const state = await (await fetch(`${web.ui.origin}/api/state`, {
          headers: { authorization: `Bearer ${token}` },
        })).json();
        assertEquals(state.shared, []);
        assertEquals(state.transfers, []);
        assertEquals(
          await inPage<string>(
            web.page,
            `document.querySelector("#shared-empty").hidden ? "rows" : "empty"`,
          ),
          "empty",
        );
      } finally {
        await evil.shutdown();
      }
    },
  );

  browserTest(
    `web page: readable at 200% zoom (no sideways scrolling at 640 CSS px), and dark when the system is (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      const narrow = await web.browser.page(640, 900, 2);
      await narrow.goto(
        web.ui.url.replace(/#.*/, "") + new URL(web.ui.url).hash,
        { waitUntil: "load" },
      );
      await until(
        narrow,
        `document.querySelector("#get-out").value !== ""`,
        "the narrow page's state",
      );
      const overflow = await inPage<number>(
        narrow,
        `document.documentElement.scrollWidth - window.innerWidth`,
      );
      assert(overflow <= 0, `scrolls sideways by ${overflow} px`);
      const light = await inPage<string>(
        web.page,
        `getComputedStyle(document.body).backgroundColor`,
      );
      await using darkBrowser = await launchBrowser(choice, { dark: true });
      const darkPage = await darkBrowser.page();
      await darkPage.goto(web.ui.url, { waitUntil: "load" });
      const dark = await inPage<string>(
        darkPage,
        `getComputedStyle(document.body).backgroundColor`,
      );
      assert(light !== dark, `${light} in both`);
      const [r, g, b] = dark.match(/\d+/g)!.map(Number);
      assert(r + g + b < 200, `dark background ${dark}`);
    },
  );

  browserTest(
    `web page: the status line says the tracker is reachable, and search and list show its files, each with a Get that fetches it (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      const source = await randomFile(
        files.path,
        "Concert 2026.mkv",
        2 * 1024 * 1024,
      );
      const other = await randomFile(files.path, "readme.txt", 1_000);
      const sharer = await spawnSharer(source, web.tracker.address);
      const second = await spawnSharer(other, web.tracker.address);
      try {
        const status = await until<string>(
          web.page,
          `(() => { const text = document.querySelector("#status").textContent; return text.includes("reachable") && text; })()`,
          "the tracker's reachability",
        );
        assert(
          status.includes(`tracker ${web.tracker.address} reachable`),
          status,
        );
        // Searching for nothing asks nothing: the page says to List all.
        await web.page.type("#search-text", "   ");
        await web.page.click("#search-button");
        await until(
          web.page,
          `[...document.querySelectorAll("#notes li.error")].some((li) => li.textContent.includes("Give some text to search for, or use List all to see every file."))`,
          "the note for an empty search",
        );
        assertEquals(
          await inPage<boolean>(
            web.page,
            `document.querySelector("#results").hidden && document.querySelector("#results-empty").hidden`,
          ),
          true,
        );
        await web.page.type("#search-text", "concert");
        await web.page.keyboard.press("Enter");
        const found = await until<string[]>(
          web.page,
          `(() => { const rows = [...document.querySelectorAll("#result-rows tr[data-id]")].map((r) => r.dataset.id); return rows.length > 0 && rows; })()`,
          "the search results",
        );
        assertEquals(found, [sharer.id]);
        await web.page.click("#list-button");
        const listed = await until<string[]>(
          web.page,
          `(() => { const rows = [...document.querySelectorAll("#result-rows tr[data-id]")].map((r) => r.dataset.id); return rows.length === 2 && rows; })()`,
          "the whole list",
        );
        assertEquals(listed.sort(), [sharer.id, second.id].sort());
        await web.page.click(
          `#result-rows tr[data-id="${sharer.id}"] button.get`,
        );
        await until(
          web.page,
          `document.querySelector('#finished [data-outcome="saved"]')`,
          "the saved file",
        );
        assertEquals(
          await sha256File(join(web.out, "Concert 2026.mkv")),
          sharer.id,
        );
        assertEquals(web.errors, []);
      } finally {
        await sharer.child.stop();
        await second.child.stop();
      }
    },
  );

  browserTest(
    `web page: a failure told in the background (a share that failed) is a red note starting "Error:" for screen readers, in light and dark mode (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      await using darkBrowser = await launchBrowser(choice, { dark: true });
      const darkPage = await darkBrowser.page();
      await darkPage.goto(web.ui.url, { waitUntil: "load" });
      await until(
        darkPage,
        `document.querySelector("#get-out").value !== ""`,
        "the dark page's state",
      );
      const source = await randomFile(files.path, "lonely.bin", 20_000);
      await web.tracker.child.stop();
      await web.page.type("#share-path", source);
      await web.page.keyboard.press("Enter");
      const find =
        `[...document.querySelectorAll("#notes li")].find((li) => /^#\\d+ lonely\\.bin/.test(li.lastChild.textContent))`;
      const pages = [{ page: web.page, mode: "light" }, {
        page: darkPage,
        mode: "dark",
      }];
      for (const { page, mode } of pages) {
        const shown = await until<string[]>(
          page,
          `(() => { const li = ${find}; return li && [li.className, li.querySelector(".visually-hidden")?.textContent ?? "", getComputedStyle(li).color, getComputedStyle(document.documentElement).getPropertyValue("--error").trim()]; })()`,
          `the failure note (${mode})`,
        );
        const [className, prefix, color, error] = shown;
        assertEquals([className, prefix], ["error", "Error: "], mode);
        const hex = [1, 3, 5].map((i) => parseInt(error.slice(i, i + 2), 16));
        assertEquals(color, `rgb(${hex.join(", ")})`, mode);
      }
      assertEquals(web.errors, []);
    },
  );

  browserTest(
    `web page: a search that fails clears the earlier results and says "The search failed" (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      const source = await randomFile(files.path, "Lecture.mp4", 50_000);
      const sharer = await spawnSharer(source, web.tracker.address);
      try {
        await web.page.click("#list-button");
        await until(
          web.page,
          `document.querySelector('#result-rows tr[data-id="${sharer.id}"]')`,
          "the listed file",
        );
        await web.tracker.child.stop();
        await web.page.type("#search-text", "lecture");
        await web.page.click("#search-button");
        const said = await until<string>(
          web.page,
          `(() => { const p = document.querySelector("#results-empty"); return !p.hidden && p.textContent.startsWith("The search failed: ") && p.textContent; })()`,
          "the failed search",
        );
        assert(said.length > "The search failed: ".length, said);
        const left = await inPage<[number, boolean, boolean]>(
          web.page,
          `[document.querySelectorAll("#result-rows tr").length, document.querySelector("#results").hidden, document.querySelector("#results-more").hidden]`,
        );
        assertEquals(left, [0, true, true]);
      } finally {
        await sharer.child.stop();
      }
    },
  );

  browserTest(
    `web page: after Stop sharing removes the focused row, focus goes to the next row's Stop sharing, then to the Shared heading (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      const ids: string[] = [];
      for (const name of ["first.bin", "second.bin"]) {
        const path = await randomFile(files.path, name, 3_000);
        ids.push(await sha256sum(path));
        await web.page.type("#share-path", path);
        await web.page.keyboard.press("Enter");
        await until(
          web.page,
          `document.querySelector('#shared-rows tr[data-id="${ids.at(-1)}"]')`,
          `the row of ${name}`,
        );
      }
      const first = await inPage<string>(
        web.page,
        `document.querySelector("#shared-rows tr").dataset.id`,
      );
      const second = ids.find((id) => id !== first)!;
      await web.page.focus(`#shared-rows tr[data-id="${first}"] .unshare`);
      await web.page.keyboard.press("Enter");
      await until(
        web.page,
        `!document.querySelector('#shared-rows tr[data-id="${first}"]')`,
        "the first row gone",
      );
      const focused =
        `(() => { const e = document.activeElement; return [e.id || e.className, e.closest("tr")?.dataset.id ?? ""]; })()`;
      assertEquals(await inPage<string[]>(web.page, focused), [
        "unshare",
        second,
      ]);
      await web.page.keyboard.press("Enter");
      await until(
        web.page,
        `document.querySelectorAll("#shared-rows tr").length === 0`,
        "the last row gone",
      );
      assertEquals(await inPage<string[]>(web.page, focused), [
        "shared-title",
        "",
      ]);
      assertEquals(web.errors, []);
    },
  );

  browserTest(
    `web page: Clear takes a finished item off the list (focus to the next one's Clear), Clear finished takes the rest and keeps the running get, and a reload does not bring them back (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      for (const name of ["one.bin", "two.bin", "three.bin"]) {
        await web.page.type(
          "#share-path",
          await randomFile(files.path, name, 2_000),
        );
        await web.page.keyboard.press("Enter");
        await until(
          web.page,
          `[...document.querySelectorAll("#finished .name")].some((e) => e.textContent === "${name}")`,
          `${name} shared`,
        );
      }
      await web.page.type("#get-ref", "cd".repeat(32));
      await web.page.click("#get-button");
      await until(
        web.page,
        `document.querySelector("#running .waiting")`,
        "the waiting get",
      );
      const names =
        `[...document.querySelectorAll("#finished .name")].map((e) => e.textContent)`;
      assertEquals(await inPage<string[]>(web.page, names), [
        "three.bin",
        "two.bin",
        "one.bin",
      ]);
      await web.page.focus(`#finished li:nth-child(2) button.clear`);
      await web.page.keyboard.press("Enter");
      await until(web.page, `${names}.length === 2`, "two.bin gone");
      assertEquals(await inPage<string[]>(web.page, names), [
        "three.bin",
        "one.bin",
      ]);
      const focused =
        `(() => { const e = document.activeElement; return [e.id || e.className, e.closest("li")?.querySelector(".name")?.textContent ?? ""]; })()`;
      assertEquals(await inPage<string[]>(web.page, focused), [
        "clear",
        "one.bin",
      ]);
      await web.page.click("#clear-finished");
      await until(web.page, `${names}.length === 0`, "the finished list empty");
      const left = await inPage<[boolean, number, number]>(
        web.page,
        `[document.querySelector("#finished-head").hidden, document.querySelectorAll("#running [data-transfer]").length, document.querySelectorAll("#shared-rows tr").length]`,
      );
      assertEquals(left, [true, 1, 3]);
      assertEquals(await inPage<string[]>(web.page, focused), [
        "transfers-title",
        "",
      ]);
      await web.page.reload({ waitUntil: "load" });
      await until(
        web.page,
        `document.querySelector("#running .waiting")`,
        "the waiting get, reloaded",
      );
      assertEquals(await inPage<string[]>(web.page, names), []);
      await web.page.click("#running [data-transfer] button.cancel");
      await until(web.page, `${names}.length === 1`, "the cancelled get");
      assertEquals(web.errors, []);
    },
  );

  browserTest(
    `web page: a long note without spaces wraps inside the notes, none cut off (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      await using files = await tempDir();
      const name = "a".repeat(200) + ".bin";
      const path = await randomFile(files.path, name, 1_000);
      await web.page.type("#share-path", path);
      await web.page.keyboard.press("Enter");
      await until(
        web.page,
        `[...document.querySelectorAll("#notes li")].some((li) => li.textContent.includes("${name}"))`,
        "the long note",
      );
      const widths = await inPage<number[]>(
        web.page,
        `(() => { const list = document.querySelector("#notes"); const li = [...list.querySelectorAll("li")].find((li) => li.textContent.includes("${name}")); return [li.scrollWidth, li.clientWidth, list.scrollWidth, list.clientWidth]; })()`,
      );
      const [liScroll, liClient, listScroll, listClient] = widths;
      assert(liScroll <= liClient, `note ${widths.join(", ")}`);
      assert(listScroll <= listClient, `notes ${widths.join(", ")}`);
      assertEquals(web.errors, []);
    },
  );

  browserTest(
    `web page: the "Getting" note keeps its place at the click, below a note that came while the call ran (${choice.name})`,
    async () => {
      await using web = await pageFixture(choice);
      // The answer to POST /api/get is held until the test lets it through.
      await inPage(
        web.page,
        `(() => { const fetched = window.fetch;
        window.fetch = (path, options) => {
          const answer = fetched(path, options);
          if (!String(path).startsWith("/api/get")) return answer;
          window.heldGet = true;
          return new Promise((resolve) => {
            window.releaseGet = () => resolve(answer);
          });
        }; })()`,
      );
      const id = "ce".repeat(32);
      await web.page.type("#get-ref", id);
      await web.page.click("#get-button");
      await until(web.page, `window.heldGet === true`, "the held get");
      // A note while the call runs (the search with nothing to look for).
      // Clicked again until it shows: on a busy machine the first click
      // can land while the page is still busy with its first answers.
      await until(
        web.page,
        `(() => {
          const shown = [...document.querySelectorAll("#notes li.error")]
            .some((li) => li.textContent.includes("Give some text"));
          if (!shown && !window.searchClickedAt ||
            performance.now() - window.searchClickedAt > 1000) {
            window.searchClickedAt = performance.now();
            if (!shown) document.querySelector("#search-button").click();
          }
          return shown;
        })()`,
        "the note meanwhile",
      );
      await inPage(web.page, `window.releaseGet()`);
      await until(
        web.page,
        `[...document.querySelectorAll("#notes li")].some((li) => !li.hidden && li.textContent.includes("Getting ${id}"))`,
        "the Getting note",
      );
      const shown = await inPage<string[]>(
        web.page,
        `[...document.querySelectorAll("#notes li")].filter((li) => !li.hidden).map((li) => li.lastChild.textContent)`,
      );
      // The note (once, or more if clicked again) and then, below it,
      // Getting: its place as of the click.
      assertEquals(shown.at(-1), `Getting ${id}`);
      assert(shown.length >= 2, shown.join(" | "));
      for (const note of shown.slice(0, -1)) {
        assertEquals(
          note,
          "Give some text to search for, or use List all to see every file.",
        );
      }
      assertEquals(web.errors, []);
    },
  );
}
