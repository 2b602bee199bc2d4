/** Peak resident memory of this process: the kernel's high-water mark where there is one, else sampled. */

const MiB = 1024 * 1024;

/** VmHWM from /proc/self/status (Linux) in MiB, or undefined elsewhere. */
export function peakRssMb(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Samples `Deno.memoryUsage().rss` every `everyMs` until stopped. */
export class RssSampler {
  #peak = Deno.memoryUsage().rss;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(everyMs = 20) {
    this.#timer = setInterval(() => (this.#peak = Math.max(this.#peak, Deno.memoryUsage().rss)), everyMs);
  }

  get peakMb(): number {
    return Math.round(this.#peak / MiB);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#peak = Math.max(this.#peak, Deno.memoryUsage().rss);
  }
}
