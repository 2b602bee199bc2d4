/** Small concurrency helpers for the DuckDB adapter: a keyed lock and a connection pool. */

/** Serialises async work per key (work under different keys runs in parallel). */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Whether work under `key` is running or waiting. */
  isHeld(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Runs fn holding every key (taken in sorted order, so two callers never wait on each other). */
  runAll<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const next = (i: number): Promise<T> => i === sorted.length ? fn() : this.run(sorted[i]!, () => next(i + 1));
    return next(0);
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** A fixed-size pool: each connection serves one caller at a time, waiters queue in order. */
export class Pool<C> {
  readonly #create: () => Promise<C>;
  readonly #destroy: (c: C) => void;
  readonly #max: number;
  readonly #idle: C[] = [];
  readonly #all: C[] = [];
  readonly #waiters: Array<{ resolve: (c: C) => void; reject: (e: Error) => void }> = [];
  #creating = 0;
  #closed = false;
  #closedError = new Error("Cannot use the warehouse: it is closed");
  #lastUsed = performance.now();

  constructor(create: () => Promise<C>, destroy: (c: C) => void, max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`Invalid pool size ${max}: must be a positive integer`);
    this.#create = create;
    this.#destroy = destroy;
    this.#max = max;
  }

  async acquire(): Promise<C> {
    if (this.#closed) throw this.#closedError;
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    if (this.#all.length + this.#creating < this.#max) {
      this.#creating++;
      try {
        const c = await this.#create();
        this.#all.push(c);
        return c;
      } finally {
        this.#creating--;
      }
    }
    return await new Promise<C>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  release(c: C): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(c);
    else this.#idle.push(c);
  }

  async use<T>(fn: (c: C) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    try {
      return await fn(c);
    } finally {
      this.#lastUsed = performance.now();
      this.release(c);
    }
  }

  /** Milliseconds since the last `use` ended, or 0 while a connection is in use or awaited. */
  quietMs(): number {
    const busy = this.#idle.length < this.#all.length || this.#creating > 0 || this.#waiters.length > 0;
    return busy ? 0 : performance.now() - this.#lastUsed;
  }

  /**
   * Rejects waiters, waits (up to `graceMs`) for busy connections to come back, then destroys every connection.
   * Destroying a connection in the middle of a native query crashes the process, so busy ones are waited for.
   * @param reason the error waiters (and later callers) get
   */
  async close(graceMs = 10_000, reason?: Error): Promise<void> {
    this.#closed = true;
    if (reason) this.#closedError = reason;
    for (const w of this.#waiters.splice(0)) w.reject(this.#closedError);
    const deadline = Date.now() + graceMs;
    while ((this.#idle.length < this.#all.length || this.#creating > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const c of this.#all.splice(0)) this.#destroy(c);
    this.#idle.length = 0;
  }
}
