/**
 * The last result of `capture verify`, kept beside the cache file (`CACHE.verify.json`), so that
 * the `/metrics` of a running capture show it: when the log was last verified, and how many bytes
 * were then missing or stored more than once. Written atomically; a capture reads it again only
 * when it changed (`LastVerification`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   LastVerification,
 *   readVerifyResult,
 *   verifyResultPath,
 *   writeVerifyResult,
 * } from "./verify_result.ts";
 * const dir = await Deno.makeTempDir();
 * const cache = `${dir}/avl1.cache.json`;
 * assert.equal(verifyResultPath(cache), `${dir}/avl1.cache.json.verify.json`);
 * assert.equal(await readVerifyResult(cache), null);
 * await writeVerifyResult(cache, { verifiedAt: 1000, complete: false, bytesMissing: 10, bytesDoubled: 0 });
 * assert.deepEqual(await readVerifyResult(cache), { verifiedAt: 1000, complete: false, bytesMissing: 10, bytesDoubled: 0 });
 * assert.equal((await new LastVerification(cache).current())?.bytesMissing, 10);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { writeFileAtomic } from "../source/atomic.ts";
import type { VerifyReport } from "./verify.ts";

/** What a verification found, in the numbers `/metrics` shows. */
export interface VerifyResult {
  /** When it ran (ms since the epoch). */
  verifiedAt: number;
  /** Whether everything captured so far was in CouchDB once. */
  complete: boolean;
  /** Bytes no document held. */
  bytesMissing: number;
  /** Bytes more than one document held. */
  bytesDoubled: number;
}

/** Where the result of verifying the log of `cachePath` is kept. */
export function verifyResultPath(cachePath: string): string {
  return `${cachePath}.verify.json`;
}

/** The numbers of a report. */
export function resultOf(report: VerifyReport, verifiedAt = Date.now()): VerifyResult {
  const sum = (ranges: { start: number; end: number }[]) =>
    ranges.reduce((n, r) => n + r.end - r.start, 0);
  return {
    verifiedAt,
    complete: report.complete,
    bytesMissing: report.files.reduce((n, f) => n + sum(f.missing), 0),
    bytesDoubled: report.files.reduce((n, f) => n + sum(f.doubled) + sum(f.beyond), 0),
  };
}

/** Keeps `result` as the last verification of the log of `cachePath`. */
export async function writeVerifyResult(cachePath: string, result: VerifyResult): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(result) + "\n");
  await writeFileAtomic(verifyResultPath(cachePath), bytes, 0o644);
}

/** The last verification of the log of `cachePath`, or `null` when there is none (or it is not readable). */
export async function readVerifyResult(cachePath: string): Promise<VerifyResult | null> {
  try {
    const value = JSON.parse(await Deno.readTextFile(verifyResultPath(cachePath)));
    return typeof value.verifiedAt === "number" ? value as VerifyResult : null;
  } catch {
    return null;
  }
}

/**
 * The last verification of one log, as a running capture keeps it: read again only when its file
 * changed (a stat, then a read when the modification time moved).
 */
export class LastVerification {
  readonly #cachePath: string;
  #mtime: number | null = null;
  #result: VerifyResult | null = null;

  /** The last verification of the log of `cachePath`. */
  constructor(cachePath: string) {
    this.#cachePath = cachePath;
  }

  /** The last verification, or `null` when there is none. */
  async current(): Promise<VerifyResult | null> {
    const info = await Deno.stat(verifyResultPath(this.#cachePath)).catch(() => null);
    const mtime = info?.mtime?.getTime() ?? null;
    if (mtime !== this.#mtime) {
      this.#mtime = mtime;
      this.#result = mtime === null ? null : await readVerifyResult(this.#cachePath);
    }
    return this.#result;
  }
}
