/**
 * A command given more arguments than it takes says so in one sentence,
 * exit 2, without echoing them: one may be a private link, whose secret
 * would be shown (and kept in a terminal's scrollback or a CI log).
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { assertOneLine } from "./_cli.ts";
import { runEntry } from "../../scripts/_child.ts";
import {
  formatShareLink,
  generateShareSecret,
} from "../../lib/protocol/share_link.ts";

const TRACKERS = [{ host: "127.0.0.1", port: 1 }];
const PUBLIC = formatShareLink({
  version: 1,
  trackers: TRACKERS,
  kind: "public",
  id: "ab".repeat(32),
});
const PRIVATE = formatShareLink({
  version: 1,
  trackers: TRACKERS,
  kind: "private",
  secret: generateShareSecret(),
  shortId: "cd".repeat(8),
});
/** The private link's secret, as it is written in the link. */
const SECRET_TEXT = PRIVATE.split("/")[5];

Deno.test("peer get with two links says it takes one at a time, exit 2, echoing neither (a private link's secret stays unshown)", async () => {
  for (
    const args of [[PUBLIC, PRIVATE], [PRIVATE, PUBLIC], [
      "ab".repeat(8),
      PRIVATE,
    ]]
  ) {
    const result = await runEntry("peer.ts", ["get", ...args]);
    assertEquals(result.code, 2, result.stderr);
    assertEquals(
      assertOneLine(result.stderr),
      "peer get takes one link or ID at a time.",
    );
    assert(!result.stderr.includes(SECRET_TEXT), result.stderr);
  }
  const json = await runEntry("peer.ts", ["get", PUBLIC, PRIVATE, "--json"]);
  assertEquals(json.code, 2);
  assertEquals(
    JSON.parse(json.stdout.trim().split("\n").at(-1)!).error,
    "peer get takes one link or ID at a time.",
  );
  assert(!json.stdout.includes(SECRET_TEXT), json.stdout);
});

Deno.test("a command that takes no arguments says so without echoing what it was given", async () => {
  const result = await runEntry("peer.ts", ["list", PRIVATE]);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(
    assertOneLine(result.stderr),
    'peer list takes no arguments. Run "peer list --help" for usage.',
  );
});
