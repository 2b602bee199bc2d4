/**
 * The API reference page: `GET /api/v1/docs` is a static HTML page that loads Redoc's standalone bundle (the
 * maintained `redoc` npm package, read from node_modules once, served by this app: no CDN) and points it at
 * /api/v1/openapi.json. No inline script; a Content-Security-Policy allows scripts from this origin only.
 */
import { z } from "zod";
import { defineRoute, type Route } from "./route.ts";

const BUNDLE = new URL("../node_modules/redoc/bundles/redoc.standalone.js", import.meta.url);
export const SCRIPT_PATH = "/api/v1/docs/redoc.standalone.js";

/** Redoc renders with inline styles and its search runs in a blob: worker; nothing else is allowed. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Convergence API reference</title>
</head>
<body>
<redoc spec-url="/api/v1/openapi.json"></redoc>
<script src="${SCRIPT_PATH}"></script>
</body>
</html>
`;

let bundle: Uint8Array | undefined;
/** The bundle's bytes, read on first use and kept. */
function readBundle(): Uint8Array {
  return bundle ??= Deno.readFileSync(BUNDLE);
}

const headers = (type: string) => ({
  "Content-Type": type,
  "Content-Security-Policy": DOCS_CSP,
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "public, max-age=3600",
});

export const docsRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/docs",
    auth: "none",
    tag: "system",
    summary: "The interactive API reference",
    description: "An HTML page rendering this document with Redoc (served by this app, no CDN).",
    responses: { 200: { description: "The page", contentType: "text/html", schema: z.string() } },
    handler: () => (c) => c.body(PAGE, 200, headers("text/html; charset=utf-8")),
  }),
  defineRoute({
    method: "GET",
    path: SCRIPT_PATH,
    auth: "none",
    tag: "system",
    summary: "The reference page's script",
    description: "Redoc's standalone bundle from the redoc npm package.",
    documented: false,
    responses: { 200: { description: "The script", contentType: "text/javascript", schema: z.string() } },
    handler: () => (c) =>
      c.body(readBundle() as Uint8Array<ArrayBuffer>, 200, headers("text/javascript; charset=utf-8")),
  }),
];
