// The Share section of the page of `peer ui`: files dropped on the zone or
// chosen (sent to the peer), or a path on the peer's machine; public or
// private.
import { $, onSubmit } from "./dom.js";
import { formatSize, safeText } from "./format.js";
import { act, api } from "./api.js";
import { addNote } from "./notes.js";

/** Wires the drop zone, the file chooser and the path form. */
export function setUpShare() {
  setUpDrop();
  $("files").addEventListener("change", () => {
    for (const file of $("files").files) upload(file);
    $("files").value = "";
  });
  onSubmit("share-form", async () => {
    const path = $("share-path").value.trim();
    if (!path) {
      return addNote("Type the path of a file or folder to share.", true);
    }
    const body = { path, private: $("share-private").checked };
    const call = () => api("POST", "/api/share", body);
    const shown = safeText(path);
    if (await act(call, `Sharing ${shown}`)) $("share-path").value = "";
  });
}

/** Wires the drop zone: highlight, drop, and Enter/Space/click to choose. */
function setUpDrop() {
  const zone = $("drop");
  let depth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    zone.classList.toggle("over", ++depth > 0);
  });
  const leave = () => zone.classList.toggle("over", --depth > 0);
  zone.addEventListener("dragleave", leave);
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("over");
    for (const file of event.dataTransfer?.files ?? []) upload(file);
  });
  // A file dropped beside the zone must not replace the page.
  for (const type of ["dragover", "drop"]) {
    addEventListener(type, (event) => event.preventDefault());
  }
  zone.addEventListener("click", () => $("files").click());
  zone.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    $("files").click();
  });
}

/** Sends a dropped or chosen file to the peer to share. */
function upload(file) {
  const query = `name=${encodeURIComponent(file.name)}&private=${
    $("share-private").checked ? 1 : 0
  }`;
  const name = safeText(file.name);
  addNote(`Sending ${name} (${formatSize(file.size)}) to the peer…`);
  act(() => api("PUT", `/api/upload?${query}`, file), `Sharing ${name}`);
}
