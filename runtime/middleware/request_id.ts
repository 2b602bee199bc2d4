/** Gives every request an id: a valid incoming `X-Request-ID` is echoed, anything else is replaced. */
import type { MiddlewareHandler } from "hono";

const VALID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestId(): MiddlewareHandler {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header("X-Request-ID");
    const id = incoming && VALID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-ID", id); // applies to whatever response follows, onError's included
    await next();
  };
}
