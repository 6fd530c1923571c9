// The notes of the page of `peer ui`: what the page did, what the peer said,
// and what went wrong, latest first.
import { $, make } from "./dom.js";

const MAX_NOTES = 20;

/**
 * Shows a message first in the notes, keeping the latest MAX_NOTES. An
 * error is red and starts with "Error:" for screen readers.
 */
export function addNote(text, isError = false) {
  const list = $("notes");
  const time = make("time", {}, new Date().toLocaleTimeString());
  const item = isError
    ? make(
      "li",
      { class: "error" },
      time,
      " ",
      make("span", { class: "visually-hidden" }, "Error: "),
      text,
    )
    : make("li", {}, time, " ", text);
  list.prepend(item);
  while (list.children.length > MAX_NOTES) list.lastElementChild.remove();
  $("notes-empty").hidden = true;
}

/**
 * Keeps a place first in the notes, for a note known only later (how an
 * API call went): `show(text)` fills it, so that it stays below what was
 * noted meanwhile (its failure, told by the peer); `drop()` removes it.
 */
export function holdNote() {
  const time = make("time", {}, new Date().toLocaleTimeString());
  const item = make("li", { hidden: "" }, time, " ");
  $("notes").prepend(item);
  return {
    show(text) {
      item.append(text);
      item.hidden = false;
      $("notes-empty").hidden = true;
    },
    drop: () => item.remove(),
  };
}
