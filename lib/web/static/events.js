// Reading Server-Sent Events from a fetch() body, for the page of `peer ui`
// (EventSource cannot send the token header). Imported by api.js.
/** Longest line the event stream may send before the page gives up on it. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** Reads a `text/event-stream` body, calling `onEvent(type, data)`. */
export async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let type = "";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop();
    if (buffer.length > MAX_EVENT_CHARS) throw new RangeError("Event too long");
    for (const line of lines.map((l) => l.replace(/\r$/, ""))) {
      if (line === "" && data.length > 0) {
        onEvent(type || "message", data.join("\n"));
      }
      if (line === "") [type, data] = ["", []];
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.includes(":") ? line.indexOf(":") : line.length;
      const text = line.slice(colon + 1).replace(/^ /, "");
      if (line.slice(0, colon) === "event") type = text;
      else if (line.slice(0, colon) === "data") data.push(text);
    }
  }
}
