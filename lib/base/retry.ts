/**
 * The one retry policy: an operation is tried again, with backoff, for as long as its failures are
 * retriable and the `--retry-for` budget lasts. Clients only classify their errors (a permanent
 * one, see `errors.ts`, is never retried); what to do about them is decided here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PermanentError } from "./errors.ts";
 * import { retry } from "./retry.ts";
 * let calls = 0;
 * const value = await retry(() => {
 *   if (++calls < 3) throw new Error("connection reset");
 *   return Promise.resolve("stored");
 * }, { minDelayMs: 1 });
 * assert.deepEqual([value, calls], ["stored", 3]);
 * // A permanent failure is thrown at once; a spent budget names the setting that sets it.
 * await assert.rejects(retry(() => Promise.reject(new PermanentError("401")), {}), /401/);
 * await assert.rejects(
 *   retry(() => Promise.reject(new Error("refused")), { retryForMs: 20, minDelayMs: 5 }),
 *   /^PermanentError: refused; gave up after 20ms of retrying \(--retry-for\)$/,
 * );
 * ```
 * @module
 */
import { backoffDelay, sleep } from "./backoff.ts";
import { isPermanent, PermanentError } from "./errors.ts";
import { formatDuration } from "./units.ts";

/** How an operation is retried. */
export interface RetryOptions {
  /** Whether a failure may be retried; default: any but a permanent one (`errors.ts`). */
  isRetriable?: (error: unknown) => boolean;
  /**
   * How long failures are retried (`--retry-for`), from the first attempt; default: forever. Past
   * it the last failure is thrown, as a permanent error saying so; 0: it is thrown as it is.
   */
  retryForMs?: number;
  /** The first delay; it doubles per attempt, with jitter. Default 250 ms. */
  minDelayMs?: number;
  /** The longest delay; default 30 s. */
  maxDelayMs?: number;
  /** Told of each failure about to be retried (attempt 0 is the first). */
  onRetry?: (error: unknown, attempt: number) => void;
  /** Cuts the waiting short: the operation is tried once more, and its failure is thrown. */
  signal?: AbortSignal;
}

/**
 * What is left of the budget for one attempt: an attempt given this never outlasts the budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { remainingMs } from "./retry.ts";
 * assert.equal(remainingMs(Date.now() + 60_000, 1000) > 1000, true);
 * assert.equal(remainingMs(Date.now() - 5, 1000), 1000); // past the deadline: the floor
 * ```
 */
export function remainingMs(deadline: number, floorMs: number): number {
  return Math.max(floorMs, deadline - Date.now());
}

/**
 * Runs `attempt` until it resolves, retrying what `isRetriable` allows with backoff; see the module
 * example. `attempt` is given the attempt number and the deadline of the budget.
 */
export async function retry<T>(
  attempt: (number: number, deadline: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const retryForMs = options.retryForMs ?? Infinity;
  const deadline = Date.now() + retryForMs;
  const isRetriable = options.isRetriable ?? ((error: unknown) => !isPermanent(error));
  for (let number = 0;; number++) {
    try {
      return await attempt(number, deadline);
    } catch (error) {
      if (!isRetriable(error) || options.signal?.aborted || retryForMs === 0) throw error;
      if (Date.now() >= deadline) {
        throw new PermanentError(
          `${(error as Error).message}; gave up after ${
            formatDuration(retryForMs)
          } of retrying (--retry-for)`,
          { cause: error },
        );
      }
      options.onRetry?.(error, number);
      const delay = backoffDelay(number, options.minDelayMs ?? 250, options.maxDelayMs ?? 30_000);
      // A stop cuts the wait short, and the operation has its last try.
      await sleep(Math.min(delay, deadline - Date.now()), options.signal);
    }
  }
}
