// The status line of the page of `peer ui`: where the peer serves and who
// can reach it, or what is wrong with the page's link to it.
import { $ } from "./dom.js";
import { KEY_REFUSED, link } from "./api.js";

const NO_TOKEN =
  "Open the address peer ui printed; it carries this page's key.";
const LOST = "Lost the connection to the peer; retrying…";
const TRACKER_WORDS = { true: "reachable", false: "not reachable" };
const UNREACHABLE =
  "not reachable from outside: peers come by hole punching or the tracker's relay";

/** Writes the status line from `state`, the peer's last (null before the first). */
export function renderStatus(state) {
  $("status").textContent = statusText(state);
}

/** Returns where the peer serves and who can reach it, or what is wrong. */
function statusText(state) {
  const { hasToken, connected, keyRefused } = link();
  if (!hasToken) return NO_TOKEN;
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
