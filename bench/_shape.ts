/**
 * A reference for the API benchmark: plain Deno.serve answering with the product's response shape (the same
 * ~380-byte JSON status body, `Content-Type` and a fresh `X-Request-ID`), no framework and no app logic. It shows
 * what the shape alone costs on Deno: a response with two headers leaves Deno's one-header fast path.
 */
const body = JSON.stringify({
  org_slug: "bench_org_0",
  integrations: Object.fromEntries(
    ["OPENAI", "ANTHROPIC", "DEEPSEEK", "GCP_SA"].map((p) => [
      p,
      { status: "NOT_CONFIGURED", configured_at: null, last_validated_at: null },
    ]),
  ),
});
Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 0),
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`listening ${port}`),
}, () => new Response(body, { headers: { "Content-Type": "application/json", "X-Request-ID": crypto.randomUUID() } }));
