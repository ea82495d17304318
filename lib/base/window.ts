/**
 * The window of batches in flight: work started in order, settled in order. A caller acknowledges
 * only the oldest batch, once its outcome is known, so whatever it commits (a cache file's
 * position, an extract moved away) covers a contiguous prefix of what was sent, never a gap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InFlight } from "./window.ts";
 *
 * const window = new InFlight<string, number>(2);
 * window.push("a", Promise.resolve(1));
 * window.push("b", Promise.reject(new Error("refused")));
 * assert.deepEqual(window.full, true);
 * assert.deepEqual(await window.shift(), { item: "a", ok: true, value: 1 });
 * const second = await window.shift();
 * assert.deepEqual([second.item, second.ok], ["b", false]);
 * assert.deepEqual(window.size, 0);
 * ```
 * @module
 */

/** How one piece of work in the window ended, with the item it was started for. */
export type Settled<T, R> =
  & { item: T }
  & ({ ok: true; value: R } | { ok: false; error: unknown });

/** Work in flight, oldest first, at most `limit` at a time. */
export class InFlight<T, R> {
  /** The most work in flight at once. */
  readonly limit: number;
  #queue: Promise<Settled<T, R>>[] = [];

  /** A window of `limit` (at least 1). */
  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  /** How many are in flight. */
  get size(): number {
    return this.#queue.length;
  }

  /** Whether the window holds as many as it may: the caller settles the oldest before more. */
  get full(): boolean {
    return this.#queue.length >= this.limit;
  }

  /**
   * Adds `work`, started for `item`. Its failure is kept until its turn, so that no rejection goes
   * unhandled while older work is being waited for.
   */
  push(item: T, work: Promise<R>): void {
    this.#queue.push(
      work.then(
        (value): Settled<T, R> => ({ item, ok: true, value }),
        (error): Settled<T, R> => ({ item, ok: false, error }),
      ),
    );
  }

  /** The oldest work, once it has settled, taken out of the window. */
  async shift(): Promise<Settled<T, R>> {
    const oldest = this.#queue.shift();
    if (!oldest) throw new Error("InFlight.shift: nothing is in flight");
    return await oldest;
  }
}
