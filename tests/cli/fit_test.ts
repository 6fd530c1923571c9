import { assertEquals } from "../assert.ts";
import { ellipsizeMiddle, widthOf } from "../../lib/cli/_fit.ts";

Deno.test("widthOf: CJK and emoji shown as pictures take two columns", () => {
  assertEquals(widthOf("movie.mp4"), 9);
  assertEquals(widthOf("写真.jpg"), 8);
  // Outside the old table's emoji blocks: transport, the newest symbols,
  // a flag's regional indicators.
  assertEquals(widthOf("🚀"), 2);
  assertEquals(widthOf("🫠"), 2);
  assertEquals(widthOf("⌚"), 2);
  assertEquals(widthOf("🇫🇷"), 4);
  // Text-style symbols stay one column; marks and joiners none.
  assertEquals(widthOf("©"), 1);
  assertEquals(widthOf("e\u0301"), 1);
  assertEquals(widthOf("👍🏽"), 2);
});

Deno.test("ellipsizeMiddle keeps a name with new emoji within its columns", () => {
  const name = "🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀-launch.mp4";
  const cut = ellipsizeMiddle(name, 16);
  assertEquals(widthOf(cut) <= 16, true);
  assertEquals(cut.endsWith(".mp4"), true);
});
