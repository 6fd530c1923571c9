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

/**
 * This page's files still being sent, by the tag the page gave each (the
 * peer's state names it): what stops sending one when it is cancelled.
 */
const sending = new Map();
/** Tags of this page's files whose Cancel was clicked on this page. */
const cancelledHere = new Set();
/** Tags this page gives: its own random start, then a count. */
const TAG_START = [...crypto.getRandomValues(new Uint8Array(8))]
  .map((byte) => byte.toString(16).padStart(2, "0")).join("");
let tagsGiven = 0;

/**
 * Sends a dropped or chosen file to the peer to share. One cancelled on the
 * way (its item says so) is not "Sharing", and is no error.
 */
function upload(file) {
  const tag = `${TAG_START}-${++tagsGiven}`;
  const query = `name=${encodeURIComponent(file.name)}&private=${
    $("share-private").checked ? 1 : 0
  }&tag=${tag}`;
  const name = safeText(file.name);
  const stop = new AbortController();
  sending.set(tag, stop);
  addNote(`Sending ${name} (${formatSize(file.size)}) to the peer…`);
  const send = () =>
    api("PUT", `/api/upload?${query}`, file, { signal: stop.signal })
      .catch((error) => {
        if (stop.signal.aborted) return { cancelled: true };
        throw error;
      })
      .finally(() => {
        sending.delete(tag);
        cancelledHere.delete(tag);
      });
  act(send, (answer) => answer.cancelled ? undefined : `Sharing ${name}`);
}

/**
 * Notes that this page cancels the file tagged `tag` (Cancel on its item),
 * so that its end is not told as another page's doing.
 */
export function cancelling(tag) {
  if (sending.has(tag)) cancelledHere.add(tag);
}

/**
 * Stops sending the file tagged `tag`, if this page sends it: the peer,
 * which stopped receiving it, would otherwise be sent the rest, unread.
 */
export function stopSending(tag) {
  sending.get(tag)?.abort();
}

/**
 * Stops sending this page's files that `state` lists as cancelled: the
 * browser would otherwise send the rest, unread. One cancelled on another
 * page (its Cancel reaches only the peer) is told here.
 */
export function stopCancelled(state) {
  for (const done of state.finished ?? []) {
    const stop = done.kind === "upload" && done.outcome === "cancelled"
      ? sending.get(done.tag)
      : undefined;
    if (!stop || stop.signal.aborted) continue;
    stop.abort();
    if (!cancelledHere.has(done.tag)) {
      addNote(
        `Stopped sending ${done.name}: it was cancelled on another page.`,
      );
    }
  }
}
