// The Tracker section of the page of `peer ui`: search the tracker or list
// every file it knows, each with its ID (as much as tells it apart, as the
// peer sends it) and Get.
import { $, button, make, onSubmit } from "./dom.js";
import { displayName, formatSize, plural } from "./format.js";
import { api, messageOf } from "./api.js";
import { startGet } from "./get.js";
import { addNote } from "./notes.js";

/** Wires Search and List all. */
export function setUpSearch() {
  onSubmit("search-form", () => {
    const text = $("search-text").value.trim();
    if (!text) {
      return addNote(
        "Give some text to search for, or use List all to see every file.",
        true,
      );
    }
    showResults(`/api/search?q=${encodeURIComponent(text)}`);
  });
  $("list-button").addEventListener("click", () => showResults("/api/list"));
}

/**
 * Lists the files of a tracker's answer (from /api/list or /api/search),
 * and says how many more it left out, as the command line does.
 */
async function showResults(path) {
  let files;
  let more;
  try {
    const answer = await api("GET", path);
    files = answer.files ?? [];
    more = Number(answer.more) || 0;
  } catch (error) {
    // The rows of an earlier answer would pass for this one's: cleared.
    const message = messageOf(error);
    $("result-rows").replaceChildren();
    $("results").hidden = true;
    $("results-more").hidden = true;
    $("results-empty").textContent = `The search failed: ${message}`;
    $("results-empty").hidden = false;
    return addNote(message, true);
  }
  const rows = files.map((file) => {
    const getting = Math.min(file.partial ?? 0, file.peers);
    const holders = plural(file.peers - getting, "sharer") +
      (getting > 0 ? `, ${getting} getting` : "");
    const name = make("bdi", { title: file.id }, displayName(file));
    // As long as tells it apart from a look-alike listed with it.
    const id = make("code", { title: file.id }, file.shortId);
    const onGet = () => startGet(file.id, file.name);
    const get = button("get", "Get", file.name, onGet);
    return make(
      "tr",
      { "data-id": file.id },
      make("td", { class: "name" }, name),
      make("td", { class: "num" }, formatSize(file.size)),
      make("td", { class: "id" }, id),
      make("td", {}, holders),
      make("td", { class: "actions" }, get),
    );
  });
  $("result-rows").replaceChildren(...rows);
  $("results").hidden = rows.length === 0;
  $("results-empty").textContent = "No files.";
  $("results-empty").hidden = rows.length > 0;
  const narrow = path.startsWith("/api/search")
    ? "narrow the search"
    : "search to narrow it";
  $("results-more").textContent = more > 0
    ? `… and ${more} more ${more === 1 ? "file" : "files"}; ${narrow}.`
    : "";
  $("results-more").hidden = more === 0;
}
