/**
 * The page's own files (`lib/web/static/`), read once when the server
 * starts and served from memory. `deno compile` embeds the folder
 * (`scripts/compile.ts` includes it), so the page works offline from the
 * single binary too.
 *
 * @module
 */

/** The files of the page, by the path they are served at. */
export const STATIC_FILES: Readonly<Record<string, string>> = {
  "/": "index.html",
  "/app.js": "app.js",
  "/api.js": "api.js",
  "/dom.js": "dom.js",
  "/events.js": "events.js",
  "/format.js": "format.js",
  "/get.js": "get.js",
  "/notes.js": "notes.js",
  "/results.js": "results.js",
  "/share.js": "share.js",
  "/shared.js": "shared.js",
  "/status.js": "status.js",
  "/transfers.js": "transfers.js",
  "/style.css": "style.css",
};

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** One file of the page, in memory. */
interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

/** Serves the page's files. */
export class StaticPage {
  #files: Map<string, StaticFile>;

  private constructor(files: Map<string, StaticFile>) {
    this.#files = files;
  }

  /** Reads every file of {@linkcode STATIC_FILES}. */
  static async load(): Promise<StaticPage> {
    const files = new Map<string, StaticFile>();
    for (const [path, name] of Object.entries(STATIC_FILES)) {
      const body = await Deno.readFile(
        new URL(`./static/${name}`, import.meta.url),
      );
      files.set(path, { body, type: TYPES[name.split(".").pop()!] });
    }
    return new StaticPage(files);
  }

  /** The answer for a `GET` of `path`, or undefined when the page has no such file. */
  answer(path: string): Response | undefined {
    const file = this.#files.get(path);
    if (!file) return undefined;
    return new Response(file.body, {
      headers: { "Content-Type": file.type, "Cache-Control": "no-cache" },
    });
  }
}
