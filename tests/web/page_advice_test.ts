/**
 * What the page tells a user to do is what the page offers, or how to
 * start `peer ui`, not the command line's flags: a share of an unfinished
 * download by its path ("finish it with Get on this page", where it said
 * "with peer get"), a team tracker asked without the team's secret
 * ("restart peer ui with --secret-file", where it said "--secret-file or
 * P2P_TEAM_SECRET"). Real tracker and `peer ui`, the page in real
 * browsers. Disk errors are in get_disk_error_test.ts.
 *
 * @module
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { tempDir, unfinishedPart } from "../fixtures.ts";
import type { BrowserChoice } from "../../scripts/_browser.ts";
import { eachBrowser, inPage, pageFixture, until } from "./_page.ts";

/** The text of the latest error note that includes `text`, once shown. */
function errorNote(text: string): string {
  return `[...document.querySelectorAll("#notes li.error")].map((li) => li.lastChild.textContent).find((note) => note.includes(${
    JSON.stringify(text)
  }))`;
}

eachBrowser((choice: BrowserChoice) => {
  Deno.test(`web page: sharing an unfinished download by its path says to finish it with Get, not peer get (${choice.name})`, async () => {
    await using web = await pageFixture(choice);
    const part = join(web.dir, "c.bin.part");
    await unfinishedPart(part);
    await web.page.type("#share-path", part);
    await web.page.click("#share-button");
    const note = await until<string>(
      web.page,
      errorNote("unfinished download"),
      "the refusal's note",
    );
    assertEquals(
      note.replace(/ \((about \d+% done|nothing received yet)\)/, ""),
      `#1 c.bin.part: Cannot share "${part}": it is an unfinished download of c.bin; finish it with Get on this page, or share the finished file.`,
    );
    assertEquals(web.errors, []);
  });

  Deno.test(`web page: a team tracker asked without the secret says to restart peer ui with --secret-file, not to set P2P_TEAM_SECRET (${choice.name})`, async () => {
    await using files = await tempDir();
    const secret = join(files.path, "team.secret");
    await using web = await pageFixture(choice, [], {
      trackerArgs: ["--secret-file", secret],
    });
    await web.page.click("#list-button");
    const note = await until<string>(
      web.page,
      errorNote("team tracker"),
      "List all's error",
    );
    assert(
      note.includes(
        "it is a team tracker and needs the team's secret (restart peer ui with --secret-file)",
      ),
      note,
    );
    assert(!/P2P_|--secret-file or/.test(note), note);
    // No other note keeps the command line's words.
    const notes = await inPage<string>(
      web.page,
      `document.querySelector("#notes").textContent`,
    );
    assert(!/P2P_|Set --/.test(notes), notes);
    // Chromium logs the call's 502 itself.
    const errors = web.errors.filter((e) => !e.includes("status of 502"));
    assertEquals(errors, []);
  });
});
