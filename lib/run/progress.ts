/**
 * What capture says while it catches up on a backlog: at most one line every so often, with how
 * far behind it is, how fast it reads, and about how long it has left. Nothing while it keeps up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CatchUpProgress } from "./progress.ts";
 * const progress = new CatchUpProgress(10_000, 1 << 20, 0);
 * progress.noteBatch(1000, 150_000); // 150 bytes a line
 * assert.equal(progress.due(5_000), false);
 * assert.equal(
 *   progress.report(200_000, 30_000_000, 10_000),
 *   "catching up: 30000000 bytes behind, 20000 lines/s, about 10 s left",
 * );
 * assert.equal(progress.report(400_000, 1000, 20_000), null); // caught up: nothing to say
 * ```
 * @module
 */

/** Catch-up reports: how fast lines are read, measured between reports. */
export class CatchUpProgress {
  readonly #everyMs: number;
  readonly #minBehind: number;
  #at: number;
  #lines = 0;
  #bytesPerLine = 150;

  /** Reports at most every `everyMs`, and only while at least `minBehind` bytes are unread. */
  constructor(everyMs: number, minBehind: number, now = Date.now()) {
    this.#everyMs = everyMs;
    this.#minBehind = minBehind;
    this.#at = now;
  }

  /** Learns the size of lines from a batch, to turn bytes behind into time left. */
  noteBatch(lines: number, bytes: number): void {
    if (lines > 0) this.#bytesPerLine = bytes / lines;
  }

  /** Whether a report is due. */
  due(now = Date.now()): boolean {
    return now - this.#at >= this.#everyMs;
  }

  /** The report for `linesRead` lines read so far and `bytesBehind` unread, or `null`. */
  report(linesRead: number, bytesBehind: number, now = Date.now()): string | null {
    const rate = ((linesRead - this.#lines) * 1000) / Math.max(1, now - this.#at);
    this.#at = now;
    this.#lines = linesRead;
    if (bytesBehind < this.#minBehind) return null;
    const left = rate > 0 ? Math.round(bytesBehind / this.#bytesPerLine / rate) : Infinity;
    return `catching up: ${bytesBehind} bytes behind, ${
      Math.round(rate)
    } lines/s, about ${left} s left`;
  }
}
