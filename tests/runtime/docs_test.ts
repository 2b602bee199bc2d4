/** `GET /api/v1/docs`: the reference page and the script it loads, from this app, with a CSP and no inline script. */
import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";

Deno.test("the API reference page and its script are served from the app with a Content-Security-Policy", async (t) => {
  const h = await startHarness();
  try {
    const page = await h.request("GET", "/api/v1/docs");
    await t.step("the page is HTML pointing Redoc at this API's document", () => {
      assert.equal(page.status, 200);
      assert.match(page.headers.get("Content-Type") ?? "", /^text\/html/);
      assert.match(page.text, /<redoc spec-url="\/api\/v1\/openapi.json">/);
      assert.doesNotMatch(page.text, /<script>|<script [^>]*>[^<]+<\/script>/, "no inline script");
      assert.doesNotMatch(page.text, /https?:\/\//, "nothing from another origin");
      const csp = page.headers.get("Content-Security-Policy") ?? "";
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /default-src 'none'/);
    });
    await t.step("the script it references is Redoc's bundle, as JavaScript", async () => {
      const src = /<script src="([^"]+)"><\/script>/.exec(page.text)?.[1];
      assert.ok(src?.startsWith("/api/v1/docs/"), `script ${src}`);
      const js = await h.request("GET", src!);
      assert.equal(js.status, 200);
      assert.match(js.headers.get("Content-Type") ?? "", /^text\/javascript/);
      assert.ok(js.headers.get("Content-Security-Policy"));
      assert.ok(js.text.length > 100_000 && js.text.includes("spec-url"), "the standalone bundle");
    });
  } finally {
    await h.close();
  }
});
