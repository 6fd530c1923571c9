// Numbers and names as the terminal shows them (binary units, one decimal
// from KiB up), for the page of `peer ui`.
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
// The characters lib/util/terminal_safe.ts escapes (the peer sends names
// escaped already; this is for names that never went through it, such as
// a dropped file's): controls, separators, format characters (bidi
// controls, zero-width and invisible ones), but a joiner after an emoji.
const UNSAFE =
  /[\p{Cc}\p{Zl}\p{Zp}]|(?<!\p{Extended_Pictographic}[\u{fe0f}\u{1f3fb}-\u{1f3ff}]?)\u200d|(?!\u200d)\p{Cf}/gu;
const MAX_BYTE_ESCAPE = 0xff;
const MAX_SHORT_ESCAPE = 0xffff;

/** Shows `\u202e` and the like as escapes, as the terminal does. */
export function safeText(text) {
  return String(text).replace(UNSAFE, (char) => {
    const code = char.codePointAt(0);
    const hex = code.toString(16);
    if (code <= MAX_BYTE_ESCAPE) return `\\x${hex.padStart(2, "0")}`;
    return code <= MAX_SHORT_ESCAPE
      ? `\\u${hex.padStart(4, "0")}`
      : `\\u{${hex}}`;
  });
}

/** Formats bytes as the terminal does: `512 B`, `1.5 KiB`, `20.0 MiB`. */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

/**
 * `done` of `total` as a percent with one decimal, rounded down as the
 * terminal's progress line is: 100.0% only once the last byte is in.
 */
export function formatPercent(done, total) {
  const percent = total > 0 ? (100 * done) / total : 100;
  return `${(Math.floor(percent * 10) / 10).toFixed(1)}%`;
}

/** Formats a speed in bytes per second: `3.1 MiB/s`. */
export function formatSpeed(bytesPerSecond) {
  return `${formatSize(Math.round(bytesPerSecond))}/s`;
}

/** Formats ms as the terminal does: `45s`, `1m 05s`, `2h 03m`; `—` unknown. */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const seconds = Math.round(ms / 1000);
  const pad = (n) => String(n).padStart(2, "0");
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
}

/** Returns `1 file`, `3 files`. */
export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** A file's name as shown; a folder's is followed by `/ (N files)`. */
export function displayName(file) {
  if (typeof file.files !== "number") return file.name;
  return `${file.name}/ (${plural(file.files, "file")})`;
}
