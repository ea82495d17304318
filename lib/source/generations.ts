/**
 * The generation numbers of one log (SPEC §3): the number of the file being read, and the number
 * the next file gets. One object owns them: the tailer takes a number from it for each file it
 * begins, and the capture loop tells it when CouchDB stores a file under another number (the
 * number was another file's: a lost or replaced cache file). Nobody else counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Generations } from "./generations.ts";
 * const generations = new Generations();
 * generations.startAt(4); // the cache file said generation 4
 * assert.equal(generations.assign(4), 4); // the file at the path is that file
 * assert.equal(generations.following(), 5); // a file after it would be 5
 * // CouchDB holds generation 4 for another file, and stored this one as 7.
 * assert.equal(generations.moved(4, 7), true);
 * assert.deepEqual([generations.current, generations.following()], [7, 8]);
 * ```
 * @module
 */

/** The numbering of one log's files; see the module example. */
export class Generations {
  #current: number | null = null;
  #next = 0;
  #lastMove: { from: number; to: number } | null = null;

  /** The number of the file being read, or `null` before one is begun. */
  get current(): number | null {
    return this.#current;
  }

  /** Starts the numbering over: no file yet, and `next` is the number the first one gets. */
  startAt(next: number): void {
    this.#current = null;
    this.#next = next;
  }

  /** The number the file after the current one gets (it is not taken until `assign`). */
  following(): number {
    return Math.max(this.#next, (this.#current ?? -1) + 1);
  }

  /** The file being read is now `generation`; no later file gets that number or a lower one. */
  assign(generation: number): number {
    this.#current = generation;
    this.#next = Math.max(this.#next, generation + 1);
    return generation;
  }

  /**
   * The file numbered `from` was stored as `to`: the current file is renumbered if it is that
   * file, and no later file gets `to` either. True the first time it is said (the batches of that
   * file still in flight say it again).
   */
  moved(from: number, to: number): boolean {
    this.#next = Math.max(this.#next, to + 1);
    if (from === to) return false;
    if (this.#current === from) this.#current = to;
    const news = this.#lastMove?.from !== from || this.#lastMove.to !== to;
    this.#lastMove = { from, to };
    return news;
  }
}
