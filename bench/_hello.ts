/** The baseline of the API benchmark: a bare Hono "hello" app on Deno.serve. */
import { Hono } from "hono";

const app = new Hono();
app.get("/", (c) => c.text("hello"));
Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 0),
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`listening ${port}`),
}, app.fetch);
