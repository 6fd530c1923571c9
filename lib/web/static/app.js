// The page of `peer ui`: drives the peer through the JSON API of
// docs/WEB_UI.md. This module keeps the peer's last state and wires the
// page's parts: the status line (status.js), Share (share.js), Get
// (get.js), the notes (notes.js), the transfers (transfers.js), the shared
// files (shared.js) and the tracker's search and list (results.js).
import { api, link, listen, onLinkChange } from "./api.js";
import { fillOutDir, setUpGet } from "./get.js";
import { addNote } from "./notes.js";
import { setUpSearch } from "./results.js";
import { setUpShare, stopCancelled } from "./share.js";
import { renderShared } from "./shared.js";
import { renderStatus } from "./status.js";
import { renderTransfers, setUpTransfers } from "./transfers.js";

/** The last state the peer sent; null before the first. */
let state = null;

/** Redraws the page from the latest state. */
function render() {
  renderStatus(state);
  if (!state) return;
  fillOutDir(state);
  renderTransfers(state);
  renderShared(state);
  stopCancelled(state);
}

/** Handles one event of /api/events. */
function onEvent(type, data) {
  try {
    if (type === "state") {
      state = JSON.parse(data);
      render();
    } else if (type === "note") {
      const note = JSON.parse(data);
      addNote(String(note.text), note.error === true);
    }
  } catch (error) {
    console.error("Bad event from the peer:", error);
  }
}

/** Fetches the whole state (on load and after reconnecting). */
async function refreshState() {
  try {
    state = await api("GET", "/api/state");
    render();
  } catch (error) {
    console.error(error);
  }
}

/** Wires the controls and starts following the peer. */
function setUp() {
  setUpShare();
  setUpGet();
  setUpSearch();
  setUpTransfers();
  onLinkChange(() => renderStatus(state));
  renderStatus(state);
  if (link().hasToken) listen(refreshState, onEvent);
}

setUp();
