/**
 * What capture says while it catches up on a backlog: at most one line every so often, with how
 * far behind it is, how fast it reads, and about how long it has left. Nothing while it keeps up.
 * It counts bytes, not lines: batches are cut by size, and lines are counted where they are stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CatchUpProgress } from "./progress.ts";
 * const progress = new CatchUpProgress(10_000, 1 << 20, 0);
 * assert.equal(progress.due(5_000), false);
 * assert.equal(
 *   progress.report(30_000_000, 30_000_000, 10_000),
 *   "catching up: 30000000 bytes behind, 3000000 bytes/s, about 10 s left",
 * );
 * assert.equal(progress.report(60_000_000, 1000, 20_000), null); // caught up: nothing to say
 * ```
 * @module
 */

/** Catch-up reports: how fast the log is read, measured between reports. */
export class CatchUpProgress {
  readonly #everyMs: number;
  readonly #minBehind: number;
  #at: number;
  #bytes = 0;

  /** Reports at most every `everyMs`, and only while at least `minBehind` bytes are unread. */
  constructor(everyMs: number, minBehind: number, now = Date.now()) {
    this.#everyMs = everyMs;
    this.#minBehind = minBehind;
    this.#at = now;
  }

  /** Whether a report is due. */
  due(now = Date.now()): boolean {
    return now - this.#at >= this.#everyMs;
  }

  /** The report for `bytesRead` bytes read so far and `bytesBehind` unread, or `null`. */
  report(bytesRead: number, bytesBehind: number, now = Date.now()): string | null {
    const rate = ((bytesRead - this.#bytes) * 1000) / Math.max(1, now - this.#at);
    this.#at = now;
    this.#bytes = bytesRead;
    if (bytesBehind < this.#minBehind) return null;
    const left = rate > 0 ? `about ${Math.round(bytesBehind / rate)} s left` : "not moving";
    return `catching up: ${bytesBehind} bytes behind, ${Math.round(rate)} bytes/s, ${left}`;
  }
}
