/** Provider calls bound to the run: the org and credential of the step, abort signal, retry logs, page errors. */
import type { ProviderHttpOptions } from "../providers/mod.ts";
import { ProviderError } from "../providers/mod.ts";
import type { ProcessorContext } from "./context.ts";
import { AppError } from "../errors/mod.ts";

/** The org a data step runs for. @throws {Error} outside an org run */
export function orgOf(ctx: ProcessorContext): { slug: string; dataset: string } {
  if (!ctx.org) throw new Error(`Step "${ctx.step.id}" needs an org`);
  return ctx.org;
}

/** The org and the decrypted credential of a data run. @throws {Error} outside a run with an integration */
export function runScope(ctx: ProcessorContext): { org: { slug: string; dataset: string }; credential: string } {
  const org = orgOf(ctx);
  const credential = ctx.state.get("credential");
  if (typeof credential !== "string") throw new Error(`Step "${ctx.step.id}" has no decrypted credential`);
  return { org, credential };
}

/** Transport options that tie provider calls to the run: aborts with `ctx.signal`, logs every retry. */
export function providerOptions(ctx: ProcessorContext): ProviderHttpOptions {
  const signal = ctx.signal;
  return {
    fetch: (input, init) => {
      const own = init?.signal ?? undefined;
      return fetch(input, { ...init, signal: own && signal ? AbortSignal.any([own, signal]) : own ?? signal ?? null });
    },
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal!.reason);
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, ms);
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    onRetry: (r) =>
      ctx.logger.warn("provider call retried", {
        provider: r.provider,
        endpoint: r.endpoint,
        attempt: r.attempt,
        delay_ms: r.delayMs,
        error: r.error.message,
      }),
  };
}

/** A failed page as the step reports it: a 502 naming what and which page; an abort of the run as is. */
function pageFailure(ctx: ProcessorContext, what: string, page: number, err: unknown): unknown {
  if (ctx.signal?.aborted) return ctx.signal.reason;
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof ProviderError ? "PROVIDER_ERROR" : "STEP_FAILED";
  return new AppError(code, `Fetching ${what} page ${page} failed: ${message}`, { cause: err });
}

/**
 * Every page of a provider listing. A failure becomes a 502 `PROVIDER_ERROR` naming what was fetched, the page,
 * and (through the provider error) the provider and endpoint; an abort of the run is rethrown as is.
 */
export async function allPages<P>(ctx: ProcessorContext, what: string, pages: AsyncIterable<P>): Promise<P[]> {
  const out: P[] = [];
  try {
    for await (const page of pages) {
      out.push(page);
      if (ctx.signal?.aborted) throw ctx.signal.reason;
    }
  } catch (err) {
    throw pageFailure(ctx, what, out.length + 1, err);
  }
  ctx.logger.info("provider pages fetched", { what, pages: out.length });
  return out;
}

/**
 * A provider listing as a stream of row batches, one per page, so a step holds at most two pages, never its whole
 * range. The first page is fetched before this returns: a provider that refuses the call fails the step before any
 * write begins. While the rows of one page are written, the next page is already being fetched. Failures are
 * reported as in {@link allPages}.
 */
export async function pageBatches<P, R>(
  ctx: ProcessorContext,
  what: string,
  pages: AsyncIterable<P>,
  toRows: (page: P) => R[],
): Promise<AsyncIterable<R[]>> {
  const it = pages[Symbol.asyncIterator]();
  let fetched = 0;
  const next = async (): Promise<IteratorResult<P, unknown>> => {
    try {
      const r = await it.next();
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      if (!r.done) fetched++;
      return r;
    } catch (err) {
      throw pageFailure(ctx, what, fetched + 1, err);
    }
  };
  const first = await next();
  async function* batches(): AsyncGenerator<R[]> {
    let rows = 0;
    let current = first;
    let finished = false;
    try {
      while (!current.done) {
        const ahead = next();
        ahead.catch(() => {}); // awaited below; left unawaited only when the consumer stops early
        // One turn of the event loop sends the request, so the provider works on the next page while this one is
        // written (network I/O only moves while this thread is not busy).
        await new Promise((resolve) => setTimeout(resolve, 0));
        const batch = toRows(current.value);
        rows += batch.length;
        yield batch;
        current = await ahead;
      }
      finished = true;
      ctx.logger.info("provider pages fetched", { what, pages: fetched, rows });
    } finally {
      // The consumer stopped early: end the listing once any page in flight has arrived.
      if (!finished) Promise.resolve(it.return?.()).catch(() => {});
    }
  }
  return batches();
}
