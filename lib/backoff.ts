/**
 * Waiting between retries: exponential backoff with jitter, capped, and a sleep that a stop signal
 * cuts short.
 *
 * @example
 * ```ts
 * import { backoffDelay, sleep } from "./backoff.ts";
 * for (let attempt = 0; !(await tryOnce()); attempt++) await sleep(backoffDelay(attempt, 250, 30_000));
 * ```
 * @module
 */

/** The delay before retry `attempt` (0 first): `baseMs · 2^attempt`, capped at `maxMs`, with jitter (50–100%). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)) * (0.5 + Math.random() / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
