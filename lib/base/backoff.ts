/**
 * Waiting between retries: exponential backoff with jitter, capped, and a sleep that a stop signal
 * cuts short.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay, sleep } from "./backoff.ts";
 * // Doubling from 250 ms, capped at 30 s, each with 50-100% jitter.
 * const delay = backoffDelay(3, 250, 30_000);
 * assert.ok(delay >= 1000 && delay <= 2000);
 * assert.ok(backoffDelay(40, 250, 30_000) <= 30_000);
 * const stop = new AbortController();
 * stop.abort();
 * await sleep(60_000, stop.signal); // at once: the signal is aborted
 * ```
 * @module
 */

/** The delay before retry `attempt` (0 first): `baseMs · 2^attempt`, capped at `maxMs`, with jitter (50–100%). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)) * (0.5 + Math.random() / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  // An abort event has fired already for a signal aborted before: it would never be heard.
  if (signal?.aborted) return Promise.resolve();
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
