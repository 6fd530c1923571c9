// The notes of the page of `peer ui`: what the page did, what the peer said,
// and what went wrong, latest first.
import { $, make } from "./dom.js";

const MAX_NOTES = 20;

/** Shows a message first in the notes, keeping the latest MAX_NOTES. */
export function addNote(text, isError = false) {
  const list = $("notes");
  const time = make("time", {}, new Date().toLocaleTimeString());
  list.prepend(make("li", isError ? { class: "error" } : {}, time, " ", text));
  while (list.children.length > MAX_NOTES) list.lastElementChild.remove();
  $("notes-empty").hidden = true;
}
