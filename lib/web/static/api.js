// The page's link to the peer of `peer ui`: the token, the JSON API of
// docs/WEB_UI.md, and /api/events followed with reconnects.
import { readEvents } from "./events.js";
import { addNote, holdNote } from "./notes.js";

const TOKEN_KEY = "p2p-token";
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 10_000;
/** What the page says once the peer refused its key. */
export const KEY_REFUSED =
  "The peer refused this page's key. Open the address peer ui printed again.";

const token = readToken();
let connected = false;
let keyRefused = false;
let changed = () => {};

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

/**
 * Returns how the link stands: whether the page has a token, follows the
 * peer's events, and whether the peer refused the key.
 */
export function link() {
  return { hasToken: Boolean(token), connected, keyRefused };
}

/** Calls `callback` when the peer refuses the key or the events drop. */
export function onLinkChange(callback) {
  changed = callback;
}

/** Returns the message of a thrown value. */
export function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Calls the API with the token; a failure throws the peer's sentence. An
 * `options.signal` that aborts it throws its reason.
 */
export async function api(method, path, body, options = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  let payload = body;
  if (body instanceof Blob) {
    headers["Content-Type"] = "application/octet-stream";
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  const { signal } = options;
  try {
    response = await fetch(path, { method, headers, body: payload, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new Error("Cannot reach the peer. Is peer ui still running?");
  }
  const answer = await response.json().catch(() => ({}));
  if (response.ok) return answer;
  if (response.status === 401) {
    keyRefused = true;
    changed();
    throw new Error(KEY_REFUSED);
  }
  throw new Error(answer.error ?? `The peer answered ${response.status}.`);
}

/**
 * Runs an API call, notes how it went; resolves to whether it worked. The
 * note of success takes its place at the call ("Getting NAME" before the
 * peer's note of its failure, which may come before the answer); it may be
 * a function of the answer, saying nothing when it returns nothing.
 */
export async function act(call, success) {
  const held = success ? holdNote() : undefined;
  try {
    const answer = await call();
    const text = typeof success === "function" ? success(answer) : success;
    if (text) held?.show(text);
    else held?.drop();
    return true;
  } catch (error) {
    held?.drop();
    addNote(messageOf(error), true);
    return false;
  }
}

/**
 * Follows /api/events, calling `onOpen()` at each connection and
 * `onEvent(type, data)` at each event; reconnects after 1 s, 2 s, 4 s, … at
 * most 10 s.
 */
export async function listen(onOpen, onEvent) {
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
        onOpen();
        await readEvents(response.body, onEvent);
      }
    } catch {
      // Dropped or refused: retried below.
    }
    connected = false;
    changed();
    if (keyRefused) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}
