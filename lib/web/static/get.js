// The Get form of the page of `peer ui`: an ID or share link, and the
// Save-to folder (the peer's own until the user types one).
import { $, onSubmit } from "./dom.js";
import { safeText } from "./format.js";
import { act, api } from "./api.js";
import { addNote } from "./notes.js";

let outEdited = false;

/**
 * Starts a get of `ref` into the Save-to folder; resolves to whether it did.
 * A private link is never shown back: its secret stays where it was typed.
 */
export function startGet(
  ref,
  name = /\/priv\//i.test(ref) ? "a private link" : ref,
) {
  const outDir = $("get-out").value.trim();
  const body = outDir ? { ref, outDir } : { ref };
  return act(() => api("POST", "/api/get", body), `Getting ${safeText(name)}`);
}

/** Fills Save-to with the peer's folder from `state` while it is empty and untouched. */
export function fillOutDir(state) {
  const out = $("get-out");
  if (!outEdited && out.value === "") out.value = state.outDir ?? "";
}

/** Wires the Get form. */
export function setUpGet() {
  $("get-out").addEventListener("input", () => outEdited = true);
  onSubmit("get-form", async () => {
    const ref = $("get-ref").value.trim();
    if (!ref) return addNote("Type an ID or a share link to get.", true);
    if (await startGet(ref)) $("get-ref").value = "";
  });
}
