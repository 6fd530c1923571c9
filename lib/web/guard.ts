/**
 * What every request to the web page's server passes before it is served:
 * the `Host` it was sent to (against DNS rebinding, Transmission
 * CVE-2018-5702), the run's token on every API call (a header, never a
 * cookie, so another site cannot ride on it), and the `Origin` of anything
 * that changes state. Also the headers every answer carries (CSP, no
 * framing). See docs/WEB_UI.md.
 *
 * @module
 */

/** Random bytes in a run's token. */
export const TOKEN_BYTES = 32;

/** Headers on every answer: the page loads only its own files and is never framed. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** Methods that change state: their `Origin`, when sent, must be the page's. */
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Who may talk to the server: see {@linkcode checkRequest}. */
export interface GuardOptions {
  /** The port the server listens on. */
  port: number;
  /** Host names the page is reached by besides the loopback ones (`--ui-host`). */
  hosts?: readonly string[];
  /** This run's token. */
  token: string;
}

/** A new random token for one run, base64url. */
export function newToken(): string {
  return crypto.getRandomValues(new Uint8Array(TOKEN_BYTES))
    .toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * The answer that refuses `request`, or undefined when it may be served:
 * 421 for a `Host` that is not this server's, 401 for an API call without
 * the token, 403 for a state-changing call from another origin.
 */
export function checkRequest(
  request: Request,
  options: GuardOptions,
): Response | undefined {
  const allowed = allowedHosts(options);
  const host = request.headers.get("host")?.toLowerCase();
  if (host === undefined || !allowed.has(host)) {
    return refuse(
      421,
      "This page is served only at the address peer ui printed.",
    );
  }
  const url = new URL(request.url);
  if (!url.pathname.startsWith("/api/")) return undefined;
  if (!sameToken(request.headers.get("authorization"), options.token)) {
    return refuse(
      401,
      "Open the address peer ui printed: it carries this page's key.",
    );
  }
  const origin = request.headers.get("origin");
  if (
    STATE_CHANGING.has(request.method) && origin !== null &&
    !allowed.has(hostOfOrigin(origin))
  ) {
    return refuse(403, "Requests from other web sites are refused.");
  }
  return undefined;
}

/** `response` with {@linkcode SECURITY_HEADERS} added. */
export function withSecurityHeaders(response: Response): Response {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    response.headers.set(name, value);
  }
  return response;
}

/** `Host` values the server answers: loopback names and `hosts`, with the port. */
function allowedHosts(options: GuardOptions): Set<string> {
  const names = ["127.0.0.1", "localhost", "[::1]", ...(options.hosts ?? [])];
  return new Set(
    names.map((name) =>
      `${
        name.includes(":") && !name.startsWith("[") ? `[${name}]` : name
      }:${options.port}`
        .toLowerCase()
    ),
  );
}

/** `host:port` of an `Origin` header, or "" when it is not an http origin. */
function hostOfOrigin(origin: string): string {
  try {
    const url = new URL(origin);
    return url.protocol === "http:" ? url.host.toLowerCase() : "";
  } catch {
    return "";
  }
}

/** Whether `header` is `Bearer TOKEN`, compared in constant time. */
function sameToken(header: string | null, token: string): boolean {
  const match = /^Bearer (\S+)$/.exec(header ?? "");
  if (!match) return false;
  const given = new TextEncoder().encode(match[1]);
  const wanted = new TextEncoder().encode(token);
  let diff = given.length ^ wanted.length;
  for (let i = 0; i < wanted.length; i++) diff |= wanted[i] ^ (given[i] ?? 0);
  return diff === 0;
}

function refuse(status: number, error: string): Response {
  return Response.json({ error }, { status });
}
