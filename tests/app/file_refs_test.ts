import { assertEquals, assertThrows } from "../assert.ts";
import { idFromRef, pickOne } from "../../lib/app/_file_refs.ts";
import { UsageError } from "../../lib/app/usage_error.ts";

const ID = "ab".repeat(32);
/** "été.txt" as macOS writes names: letters and combining accents (NFD). */
const NFD = "e\u0301te\u0301.txt";
/** The same name as typed on most keyboards: one character per accent (NFC). */
const NFC = "\u00e9t\u00e9.txt";

Deno.test("a name typed in NFC finds a file named in NFD, and back", () => {
  assertEquals(idFromRef(NFC, [{ id: ID, name: NFD }]), ID);
  assertEquals(idFromRef(NFD, [{ id: ID, name: NFC }]), ID);
  const item = { id: ID, name: NFD, number: 1 };
  assertEquals(pickOne([item], NFC, "shared file", "status"), item);
  assertThrows(
    () => idFromRef("ete.txt", [{ id: ID, name: NFD }]),
    UsageError,
  );
});

Deno.test('an empty or blank reference asks for a link, ID or name, not whether "" is one', () => {
  for (const ref of ["", "  "]) {
    const error = assertThrows(
      () => idFromRef(ref, [{ id: ID, name: "" }]),
      UsageError,
    );
    assertEquals(
      error.message,
      'Give a share link, a file ID or a name seen in "list".',
    );
  }
});
