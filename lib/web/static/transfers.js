// The transfers of the page of `peer ui`: running gets, hashes and files
// being received, with their bars and Cancel; finished ones, with Resume
// and Clear (which takes them off the list, nothing else).
import { $, button, make, sync } from "./dom.js";
import {
  formatDuration,
  formatPercent,
  formatSize,
  formatSpeed,
  plural,
} from "./format.js";
import { act, api } from "./api.js";
import { cancelling, stopSending } from "./share.js";

const FOUND_WORDS = { lan: "on the LAN", dht: "from the DHT" };
const VERBS = { hash: "hashing", get: "getting", upload: "receiving" };

/** The numbers of the finished transfers shown: what Clear finished clears. */
let shownFinished = [];

/** Redraws the running and the finished transfers from `state`. */
export function renderTransfers(state) {
  const uploads = (state.uploads ?? []).map((u) => ({ ...u, kind: "upload" }));
  const running = [...(state.transfers ?? []), ...uploads];
  const runningKey = (work) => `t${work.number}`;
  sync($("running"), running, runningKey, createRunning, updateRunning);
  $("running-empty").hidden = running.length > 0;
  const newestFirst = (a, b) => b.number - a.number;
  const finished = [...(state.finished ?? [])].sort(newestFirst);
  const finishedKey = (done) => `${done.number}${done.resumable ? "r" : ""}`;
  sync($("finished"), finished, finishedKey, createFinished, updateFinished);
  $("finished-head").hidden = finished.length === 0;
  shownFinished = finished.map((done) => done.number);
}

/** Wires Clear finished. */
export function setUpTransfers() {
  $("clear-finished").addEventListener("click", async () => {
    // The button goes with the list: focus goes to the section's heading.
    if (await clear(shownFinished)) {
      $("transfers-title").focus();
    }
  });
}

/**
 * Creates the item of a running transfer, or of a file being received
 * (sent from the page): each with its Cancel.
 */
function createRunning(work) {
  const item = make("li", { class: "card transfer" });
  const head = make("div", { class: "head" }, make("bdi", { class: "name" }));
  if (work.kind === "upload") item.dataset.upload = String(work.number);
  else item.dataset.transfer = String(work.number);
  head.append(button("cancel", "Cancel", work.name, () => cancel(work)));
  const numbers = make("p", { class: "numbers" });
  for (const name of ["percent", "bytes", "speed", "eta", "peers"]) {
    numbers.append(make("span", { class: name }));
  }
  // What an earlier get had left, for a get that resumed its partial file.
  item.append(head, make("progress"), numbers, make("p", { class: "resumed" }));
  return item;
}

/**
 * Fills a running item from a transfer (or an upload).
 * A get that waits for a sharer says so: with no bar while nothing is known
 * of the file (not even its size), with its bar where it stopped when every
 * peer left.
 */
function updateRunning(item, work) {
  const isUpload = work.kind === "upload";
  const verb = VERBS[work.kind] ?? work.kind;
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
  set("resumed", resumedText(work));
  if (waiting && !started) {
    for (const name of ["bytes", "speed", "eta", "peers"]) set(name, "");
    set("percent", waitingText(work));
    return;
  }
  if (work.checking) {
    const { done, total } = work.checking;
    progress.max = Math.max(1, total);
    progress.value = Math.min(done, total);
    for (const name of ["speed", "eta", "peers"]) set(name, "");
    set("percent", total > 0 ? formatPercent(done, total) : "");
    set("bytes", `${formatSize(done)} / ${formatSize(total)}`);
    return;
  }
  const speed = work.bytesPerSecond ?? 0;
  const left = work.total - work.done;
  const eta = left <= 0 ? 0 : speed > 0 ? (1000 * left) / speed : Infinity;
  set(
    "percent",
    started ? formatPercent(work.done, work.total) : "starting…",
  );
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

/**
 * Returns `Waiting for a sharer… (4m 58s left)`, or `Waiting for the
 * tracker…` while none can be reached.
 */
function waitingText(work) {
  const left = typeof work.waitLeftMs === "number"
    ? ` (${formatDuration(work.waitLeftMs)} left)`
    : "";
  const what = work.trackersDown ? "the tracker" : "a sharer";
  return `Waiting for ${what}…${left}`;
}

/**
 * Returns `Resumed: 2.3 MiB of 12.0 MiB was already here, checked.` for a
 * get that resumed what an earlier one left, `Checking what an earlier get
 * left…` while that is checked, else nothing.
 */
function resumedText(work) {
  if (work.checking) return "Checking what an earlier get left…";
  if (!(work.resumed > 0)) return "";
  const held = work.resumed >= work.total
    ? `all ${formatSize(work.total)}`
    : `${formatSize(work.resumed)} of ${formatSize(work.total)}`;
  return `Resumed: ${held} was already here, checked.`;
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
  const onClear = () => clear([done.number]);
  const clearButton = button("clear", "Clear", done.name, onClear);
  clearButton.title = "Take it off this list (no file is touched)";
  item.append(clearButton);
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
    unshared: "Shared, then no longer shared",
    cancelled: done.kind === "upload"
      ? "Cancelled while sending: not shared"
      : done.kind !== "get"
      ? "Cancelled: not shared"
      : done.resumable
      ? "Cancelled; the partial download is kept: Resume goes on from it"
      : "Cancelled before anything arrived",
  };
  item.querySelector(".outcome").textContent = texts[done.outcome] ??
    `Failed: ${done.message ?? "no reason given"}`;
}

/**
 * Cancels a running transfer, or a file being sent; one this page sends
 * stops being sent once the peer stopped receiving it.
 */
async function cancel(work) {
  if (work.tag) cancelling(work.tag);
  const call = () => api("POST", "/api/cancel", { number: work.number });
  const done = await act(call, `Cancelling ${work.name}`);
  if (done && work.tag) stopSending(work.tag);
}

/**
 * Takes the finished transfers `numbers` off the list (the peer forgets
 * them, so a reload does not bring them back); resolves to whether it did.
 */
function clear(numbers) {
  return act(() => api("POST", "/api/clear", { numbers }));
}

/** Resumes a finished get that was cancelled or failed. */
function resume(done) {
  const call = () => api("POST", "/api/resume", { number: done.number });
  act(call, `Resuming ${done.name}`);
}
