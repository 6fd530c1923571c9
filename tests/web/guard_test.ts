import { assert, assertEquals } from "../assert.ts";
import {
  checkRequest,
  newToken,
  SECURITY_HEADERS,
  TOKEN_BYTES,
  withSecurityHeaders,
} from "../../lib/web/guard.ts";

const PORT = 43_210;
const TOKEN = "k".repeat(43);
const OPTIONS = { port: PORT, token: TOKEN };

/** A request as a browser would send it; `headers` replace the defaults. */
function request(
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Request {
  const headers = new Headers({
    host: `127.0.0.1:${PORT}`,
    authorization: `Bearer ${TOKEN}`,
    ...init.headers,
  });
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (value === "") headers.delete(name);
  }
  return new Request(`http://127.0.0.1:${PORT}${path}`, {
    method: init.method ?? "GET",
    headers,
  });
}

Deno.test("checkRequest() serves the loopback names of its own port and answers 421 to any other Host", () => {
  for (
    const host of [
      `127.0.0.1:${PORT}`,
      `localhost:${PORT}`,
      `[::1]:${PORT}`,
      `LOCALHOST:${PORT}`,
    ]
  ) {
    assertEquals(
      checkRequest(request("/api/state", { headers: { host } }), OPTIONS),
      undefined,
      host,
    );
  }
  for (
    const host of [
      `evil.example:${PORT}`,
      `127.0.0.1:${PORT + 1}`,
      "127.0.0.1",
      `127.0.0.1.evil.example:${PORT}`,
      "",
    ]
  ) {
    const refused = checkRequest(request("/", { headers: { host } }), OPTIONS);
    assertEquals(refused?.status, 421, host);
  }
});

Deno.test("checkRequest() accepts --ui-host names only when given", () => {
  const lan = request("/api/state", { headers: { host: `192.0.2.7:${PORT}` } });
  assertEquals(checkRequest(lan, OPTIONS)?.status, 421);
  assertEquals(
    checkRequest(lan, { ...OPTIONS, hosts: ["192.0.2.7"] }),
    undefined,
  );
  const v6 = request("/api/state", {
    headers: { host: `[2001:db8::7]:${PORT}` },
  });
  assertEquals(
    checkRequest(v6, { ...OPTIONS, hosts: ["2001:db8::7"] }),
    undefined,
  );
});

Deno.test("checkRequest() wants the token on every API call but not for the page's files", async () => {
  assertEquals(
    checkRequest(request("/", { headers: { authorization: "" } }), OPTIONS),
    undefined,
  );
  assertEquals(
    checkRequest(
      request("/app.js", { headers: { authorization: "" } }),
      OPTIONS,
    ),
    undefined,
  );
  for (
    const authorization of [
      "",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      TOKEN,
      `Basic ${TOKEN}`,
      `Bearer  ${TOKEN}`,
    ]
  ) {
    const refused = checkRequest(
      request("/api/state", { headers: { authorization } }),
      OPTIONS,
    );
    assertEquals(refused?.status, 401, authorization);
    assert((await refused!.json()).error.length > 0);
  }
  // A cookie is no key.
  const cookie = request("/api/state", {
    headers: { authorization: "", cookie: `token=${TOKEN}` },
  });
  assertEquals(checkRequest(cookie, OPTIONS)?.status, 401);
});

Deno.test("checkRequest() refuses a state-changing call from another origin, and lets the page's own through", () => {
  for (const method of ["POST", "PUT"]) {
    for (
      const origin of [
        "http://evil.example",
        `http://127.0.0.1:${PORT + 1}`,
        `https://127.0.0.1:${PORT}`,
        "null",
      ]
    ) {
      const refused = checkRequest(
        request("/api/share", { method, headers: { origin } }),
        OPTIONS,
      );
      assertEquals(refused?.status, 403, `${method} ${origin}`);
    }
    for (
      const origin of [`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`]
    ) {
      assertEquals(
        checkRequest(
          request("/api/share", { method, headers: { origin } }),
          OPTIONS,
        ),
        undefined,
      );
    }
  }
});

Deno.test("newToken() gives 32 random bytes in base64url, new each time", () => {
  const a = newToken();
  const b = newToken();
  assert(a !== b);
  assert(/^[A-Za-z0-9_-]+$/.test(a), a);
  assertEquals(
    Uint8Array.fromBase64(a, { alphabet: "base64url" }).length,
    TOKEN_BYTES,
  );
});

Deno.test("withSecurityHeaders() adds the CSP and forbids framing", () => {
  const response = withSecurityHeaders(new Response("x"));
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    assertEquals(response.headers.get(name), value);
  }
  assert(
    response.headers.get("content-security-policy")!.includes(
      "frame-ancestors 'none'",
    ),
  );
  assertEquals(response.headers.get("x-frame-options"), "DENY");
});
