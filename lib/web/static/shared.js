// The files this peer shares, on the page of `peer ui`: size, ID, what was
// sent and to how many, with Copy ID, Copy link and Stop sharing.
import { $, button, make, sync } from "./dom.js";
import { displayName, formatSize } from "./format.js";
import { act, api } from "./api.js";
import { addNote } from "./notes.js";

/** Redraws the shared files from `state`. */
export function renderShared(state) {
  const shared = state.shared ?? [];
  sync($("shared-rows"), shared, (f) => f.id, createShared, updateShared);
  $("shared-table").hidden = shared.length === 0;
  $("shared-empty").hidden = shared.length > 0;
}

/** Creates the row of a shared file. */
function createShared(file) {
  const bdi = make("bdi", {}, displayName(file));
  const name = make("td", { class: "name" }, bdi);
  if (file.private) name.append(" ", make("span", { class: "tag" }, "private"));
  const id = make("code", { title: file.id });
  const copyId = () => copy(file.id, `Copied the ID of ${file.name}`);
  const copyLink = () => copy(file.link, `Copied the link of ${file.name}`);
  const actions = make(
    "td",
    { class: "actions" },
    button("copy-id", "Copy ID", file.name, copyId),
    button("copy-link", "Copy link", file.name, copyLink),
    button("unshare", "Stop sharing", file.name, () => unshare(file)),
  );
  return make(
    "tr",
    { "data-id": file.id },
    name,
    make("td", { class: "num size" }),
    make("td", { class: "id" }, id),
    make("td", { class: "num sent" }),
    make("td", { class: "num downloaders" }),
    actions,
  );
}

/** Fills the ID and the numbers of a shared file's row. */
function updateShared(row, file) {
  // A file shared later may lengthen it.
  row.querySelector(".id code").textContent = file.shortId;
  row.querySelector(".size").textContent = formatSize(file.size);
  row.querySelector(".sent").textContent = formatSize(file.uploaded ?? 0);
  row.querySelector(".downloaders").textContent = String(file.downloaders ?? 0);
}

/** Copies `text`, or selects it in a read-only box to copy by hand. */
async function copy(text, done) {
  const box = $("copy-box");
  try {
    await navigator.clipboard.writeText(text);
    box.hidden = true;
    addNote(done);
  } catch {
    const input = $("copy-text");
    input.value = text;
    box.hidden = false;
    input.focus();
    input.select();
    addNote("Could not copy: the text is selected below; press Ctrl+C.", true);
  }
}

/** Stops sharing a file. */
function unshare(file) {
  const call = () => api("POST", "/api/unshare", { id: file.id });
  act(call, `Stopped sharing ${file.name}`);
}
