// The page of `peer ui`: drives the peer through the JSON API of
// docs/WEB_UI.md. Every element is built with createElement and text nodes,
// since names come from the network and must never be read as HTML.
import {
  formatDuration,
  formatSize,
  formatSpeed,
  plural,
  safeText,
} from "./format.js";
import { readEvents } from "./events.js";

const TOKEN_KEY = "p2p-token";
const MAX_NOTES = 20;
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 10_000;
const NO_TOKEN =
  "Open the address peer ui printed; it carries this page's key.";
const KEY_REFUSED =
  "The peer refused this page's key. Open the address peer ui printed again.";
const LOST = "Lost the connection to the peer; retrying…";
const TRACKER_WORDS = { true: "reachable", false: "not reachable" };
const FOUND_WORDS = { lan: "on the LAN", dht: "from the DHT" };
const VERBS = { hash: "hashing", get: "getting", upload: "receiving" };
const UNREACHABLE =
  "not reachable from outside: peers come by hole punching or the tracker's relay";

const token = readToken();
/** The last state the peer sent; null before the first. */
let state = null;
let connected = false;
let keyRefused = false;
let outEdited = false;

/** Returns the element with the ID `id`. */
function $(id) {
  return document.getElementById(id);
}

/** Returns the token from `#token=` (then hides it) or sessionStorage. */
function readToken() {
  const match = /[#&]token=([^&]+)/.exec(location.hash);
  if (match) {
    const found = decodeURIComponent(match[1]);
    try {
      sessionStorage.setItem(TOKEN_KEY, found);
    } catch {
      // Storage may be off: the token then lasts until a reload.
    }
    history.replaceState(null, "", location.pathname + location.search);
    return found;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

/** A file's name as shown; a folder's is followed by `/ (N files)`. */
function displayName(file) {
  if (typeof file.files !== "number") return file.name;
  return `${file.name}/ (${plural(file.files, "file")})`;
}

/** Returns the message of a thrown value. */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/** Creates an element; string children become text, never parsed as HTML. */
function make(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/** Creates a button labelled `TEXT NAME` for screen readers, and its click. */
function button(className, text, name, onClick) {
  const label = `${text} ${name}`;
  const attributes = { type: "button", class: className, "aria-label": label };
  const element = make("button", attributes, text);
  element.addEventListener("click", onClick);
  return element;
}

/** Calls the API with the token; a failure throws the peer's sentence. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  let payload = body;
  if (body instanceof Blob) {
    headers["Content-Type"] = "application/octet-stream";
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch {
    throw new Error("Cannot reach the peer. Is peer ui still running?");
  }
  const answer = await response.json().catch(() => ({}));
  if (response.ok) return answer;
  if (response.status === 401) {
    keyRefused = true;
    renderStatus();
    throw new Error(KEY_REFUSED);
  }
  throw new Error(answer.error ?? `The peer answered ${response.status}.`);
}

/** Runs an API call, notes how it went; resolves to whether it worked. */
async function act(call, success) {
  try {
    await call();
    if (success) addNote(success);
    return true;
  } catch (error) {
    addNote(messageOf(error), true);
    return false;
  }
}

/** Shows a message first in the notes, keeping the latest MAX_NOTES. */
function addNote(text, isError = false) {
  const list = $("notes");
  const time = make("time", {}, new Date().toLocaleTimeString());
  list.prepend(make("li", isError ? { class: "error" } : {}, time, " ", text));
  while (list.children.length > MAX_NOTES) list.lastElementChild.remove();
  $("notes-empty").hidden = true;
}

/**
 * Makes `container`'s children match `items` in order, keeping the element
 * of each key so that focus stays where it was across redraws.
 */
function sync(container, items, keyOf, create, update) {
  const old = new Map([...container.children].map((c) => [c.dataset.key, c]));
  items.forEach((item, index) => {
    const key = keyOf(item);
    const element = old.get(key) ?? create(item);
    old.delete(key);
    element.dataset.key = key;
    update(element, item);
    const here = container.children[index] ?? null;
    if (here !== element) container.insertBefore(element, here);
  });
  for (const element of old.values()) element.remove();
}

/** Redraws the page from the latest state. */
function render() {
  renderStatus();
  if (!state) return;
  const out = $("get-out");
  if (!outEdited && out.value === "") out.value = state.outDir ?? "";
  const running = [...(state.transfers ?? []), ...(state.uploads ?? [])];
  const runningKey = (w) =>
    w.number === undefined ? `u${w.name}` : `t${w.number}`;
  sync($("running"), running, runningKey, createRunning, updateRunning);
  $("running-empty").hidden = running.length > 0;
  const newestFirst = (a, b) => b.number - a.number;
  const finished = [...(state.finished ?? [])].sort(newestFirst);
  const finishedKey = (done) => `${done.number}${done.resumable ? "r" : ""}`;
  sync($("finished"), finished, finishedKey, createFinished, updateFinished);
  $("finished-title").hidden = finished.length === 0;
  const shared = state.shared ?? [];
  sync($("shared-rows"), shared, (f) => f.id, createShared, updateShared);
  $("shared-table").hidden = shared.length === 0;
  $("shared-empty").hidden = shared.length > 0;
}

/** Writes the status line. */
function renderStatus() {
  $("status").textContent = statusText();
}

/** Returns where the peer serves and who can reach it, or what is wrong. */
function statusText() {
  if (!token) return NO_TOKEN;
  if (keyRefused) return KEY_REFUSED;
  if (!connected) return state ? LOST : "Connecting to the peer…";
  if (!state) return "Connecting to the peer…";
  const tracker = TRACKER_WORDS[String(state.trackerReachable)] ?? "checking…";
  const parts = [
    `Serving on ${state.address}`,
    `tracker ${state.tracker} ${tracker}`,
  ];
  const reach = state.reachability;
  if (reach?.reachable && reach.mapped) {
    parts.push(`reachable at ${reach.mapped} (router forwards the port)`);
  } else if (reach?.reachable) parts.push("reachable from outside");
  else if (reach) parts.push(UNREACHABLE);
  return parts.join(" · ");
}

/** Creates the item of a running transfer, or of a file being received. */
function createRunning(work) {
  const item = make("li", { class: "card transfer" });
  const head = make("div", { class: "head" }, make("bdi", { class: "name" }));
  if (work.number !== undefined) {
    item.dataset.transfer = String(work.number);
    head.append(button("cancel", "Cancel", work.name, () => cancel(work)));
  } else item.dataset.upload = work.name;
  const numbers = make("p", { class: "numbers" });
  for (const name of ["percent", "bytes", "speed", "eta", "peers"]) {
    numbers.append(make("span", { class: name }));
  }
  item.append(head, make("progress"), numbers);
  return item;
}

/**
 * Fills a running item from a transfer (or an upload, which has no number).
 * A get that waits for a sharer says so: with no bar while nothing is known
 * of the file (not even its size), with its bar where it stopped when every
 * peer left.
 */
function updateRunning(item, work) {
  const isUpload = work.number === undefined;
  const verb = VERBS[isUpload ? "upload" : work.kind] ?? work.kind;
  const started = isUpload || work.started !== false;
  const waiting = !isUpload && work.waiting === true;
  const set = (name, text) => item.querySelector(`.${name}`).textContent = text;
  item.classList.toggle("waiting", waiting);
  set("name", `${verb} ${work.name}`);
  const progress = item.querySelector("progress");
  progress.setAttribute("aria-label", `${verb} ${work.name}`);
  if (started) {
    progress.max = Math.max(1, work.total);
    progress.value = work.total > 0 ? Math.min(work.done, work.total) : 1;
  } else progress.removeAttribute("value");
  if (waiting && !started) {
    for (const name of ["bytes", "speed", "eta", "peers"]) set(name, "");
    set("percent", waitingText(work));
    return;
  }
  const percent = work.total > 0 ? (100 * work.done) / work.total : 100;
  const speed = work.bytesPerSecond ?? 0;
  const left = work.total - work.done;
  const eta = left <= 0 ? 0 : speed > 0 ? (1000 * left) / speed : Infinity;
  set("percent", started ? `${percent.toFixed(1)}%` : "starting…");
  set("bytes", `${formatSize(work.done)} / ${formatSize(work.total)}`);
  set("speed", isUpload ? "" : started ? formatSpeed(speed) : "—");
  set(
    "eta",
    isUpload
      ? ""
      : waiting
      ? waitingText(work)
      : `ETA ${started ? formatDuration(eta) : "—"}`,
  );
  set("peers", typeof work.peers === "number" ? peersText(work) : "");
}

/** Returns `Waiting for a sharer… (4m 58s left)`. */
function waitingText(work) {
  const left = typeof work.waitLeftMs === "number"
    ? ` (${formatDuration(work.waitLeftMs)} left)`
    : "";
  return `Waiting for a sharer…${left}`;
}

/** Returns `3 peers (1 relayed, 1 on the LAN)`, as the terminal says it. */
function peersText(work) {
  const ways = [
    ...Object.entries(work.routes ?? {}),
    ...Object.entries(work.found ?? {}).map(([where, count]) => [
      FOUND_WORDS[where] ?? where,
      count,
    ]),
  ].filter(([, count]) => count > 0)
    .map(([way, count]) => `${count} ${way}`);
  const peers = plural(work.peers, "peer");
  return ways.length > 0 ? `${peers} (${ways.join(", ")})` : peers;
}

/** Creates the item of a finished transfer, with Resume when it can. */
function createFinished(done) {
  const item = make(
    "li",
    { class: "card finished", "data-finished": String(done.number) },
    make("bdi", { class: "name" }, done.name),
    make("span", { class: "outcome" }),
  );
  const onResume = () => resume(done);
  if (done.resumable) {
    item.append(button("resume", "Resume", done.name, onResume));
  }
  return item;
}

/**
 * Fills a finished item: `Saved to PATH`, `Failed: MESSAGE`, … A cancelled
 * get says what the command line says of one: whether its partial
 * download is kept to resume.
 */
function updateFinished(item, done) {
  item.dataset.outcome = done.outcome;
  const texts = {
    saved: done.path ? `Saved to ${done.path}` : "Saved",
    shared: "Shared",
    cancelled: done.kind !== "get"
      ? "Cancelled: not shared"
      : done.resumable
      ? "Cancelled; the partial download is kept: Resume goes on from it"
      : "Cancelled before anything arrived",
  };
  item.querySelector(".outcome").textContent = texts[done.outcome] ??
    `Failed: ${done.message ?? "no reason given"}`;
}

/** Creates the row of a shared file. */
function createShared(file) {
  const bdi = make("bdi", {}, displayName(file));
  const name = make("td", { class: "name" }, bdi);
  if (file.private) name.append(" ", make("span", { class: "tag" }, "private"));
  const id = make("code", { title: file.id }, file.id.slice(0, 16));
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

/** Fills the numbers of a shared file's row. */
function updateShared(row, file) {
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

/** Cancels a running transfer. */
function cancel(work) {
  const call = () => api("POST", "/api/cancel", { number: work.number });
  act(call, `Cancelling ${work.name}`);
}

/** Resumes a finished get that was cancelled or failed. */
function resume(done) {
  const call = () => api("POST", "/api/resume", { number: done.number });
  act(call, `Resuming ${done.name}`);
}

/** Stops sharing a file. */
function unshare(file) {
  const call = () => api("POST", "/api/unshare", { id: file.id });
  act(call, `Stopped sharing ${file.name}`);
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

/**
 * Starts a get of `ref` into the Save-to folder; resolves to whether it did.
 * A private link is never shown back: its secret stays where it was typed.
 */
function startGet(ref, name = /\/priv\//i.test(ref) ? "a private link" : ref) {
  const outDir = $("get-out").value.trim();
  const body = outDir ? { ref, outDir } : { ref };
  return act(() => api("POST", "/api/get", body), `Getting ${safeText(name)}`);
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
    return addNote(messageOf(error), true);
  }
  const rows = files.map((file) => {
    const getting = Math.min(file.partial ?? 0, file.peers);
    const holders = plural(file.peers - getting, "sharer") +
      (getting > 0 ? `, ${getting} getting` : "");
    const name = make("bdi", { title: file.id }, displayName(file));
    const onGet = () => startGet(file.id, file.name);
    const get = button("get", "Get", file.name, onGet);
    return make(
      "tr",
      { "data-id": file.id },
      make("td", { class: "name" }, name),
      make("td", { class: "num" }, formatSize(file.size)),
      make("td", {}, holders),
      make("td", { class: "actions" }, get),
    );
  });
  $("result-rows").replaceChildren(...rows);
  $("results").hidden = rows.length === 0;
  $("results-empty").hidden = rows.length > 0;
  const narrow = path.startsWith("/api/search")
    ? "narrow the search"
    : "search to narrow it";
  $("results-more").textContent = more > 0
    ? `… and ${more} more ${more === 1 ? "file" : "files"}; ${narrow}.`
    : "";
  $("results-more").hidden = more === 0;
}

/** Handles one event of /api/events. */
function onEvent(type, data) {
  try {
    if (type === "state") {
      state = JSON.parse(data);
      render();
    } else if (type === "note") addNote(String(JSON.parse(data).text));
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

/** Follows /api/events, reconnecting after 1 s, 2 s, 4 s, … at most 10 s. */
async function listen() {
  let delay = RETRY_FIRST_MS;
  while (!keyRefused) {
    try {
      const headers = { Authorization: `Bearer ${token}` };
      const response = await fetch("/api/events", {
        headers,
        cache: "no-store",
      });
      keyRefused = response.status === 401;
      if (response.ok && response.body) {
        connected = true;
        delay = RETRY_FIRST_MS;
        refreshState();
        await readEvents(response.body, onEvent);
      }
    } catch {
      // Dropped or refused: retried below.
    }
    connected = false;
    renderStatus();
    if (keyRefused) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
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

/** Calls `handler` on submit of the form `id`, without navigating. */
function onSubmit(id, handler) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler();
  });
}

/** Wires the controls and starts following the peer. */
function setUp() {
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
  $("get-out").addEventListener("input", () => outEdited = true);
  onSubmit("get-form", async () => {
    const ref = $("get-ref").value.trim();
    if (!ref) return addNote("Type an ID or a share link to get.", true);
    if (await startGet(ref)) $("get-ref").value = "";
  });
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
  renderStatus();
  if (token) listen();
}

setUp();
