/**
 * Durations and sizes as people write them (`5s`, `1MiB`) and as programs keep them
 * (milliseconds, bytes), both ways.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration, parseDuration } from "./units.ts";
 * assert.equal(parseDuration("2m"), 120_000);
 * assert.equal(formatDuration(120_000), "2m");
 * ```
 * @module
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gib: 1 << 30,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};

/**
 * A duration in milliseconds: `250ms`, `1.5s`, `2m`, `1h`, or a bare number of milliseconds; NaN
 * when it is none of these.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./units.ts";
 * assert.equal(parseDuration("5s"), 5000);
 * assert.equal(parseDuration("250"), 250);
 * assert.ok(Number.isNaN(parseDuration("soon")));
 * ```
 */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?$/i.exec(text.trim());
  return m ? Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? "ms").toLowerCase()]) : NaN;
}

/**
 * A size in bytes: `512`, `64KiB`, `1MiB`, `1GiB` (`K`, `M`, `G` alike), or `1MB` (10^6); NaN when
 * it is none of these.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBytes } from "./units.ts";
 * assert.equal(parseBytes("1MiB"), 1048576);
 * assert.equal(parseBytes("64K"), 65536);
 * assert.equal(parseBytes("2MB"), 2000000);
 * ```
 */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
  return m ? Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? "b").toLowerCase()]) : NaN;
}

/**
 * A duration as `--help` and messages show it, in its largest whole unit: `50ms`, `5s`, `2m`,
 * `1h`, or `forever` for Infinity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./units.ts";
 * assert.equal(formatDuration(1500), "1500ms");
 * assert.equal(formatDuration(60_000), "1m");
 * assert.equal(formatDuration(Infinity), "forever");
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms === Infinity) return "forever";
  if (ms > 0 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * A size in its largest whole binary unit: `512`, `64KiB`, `1MiB`, `1GiB`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./units.ts";
 * assert.equal(formatBytes(1 << 20), "1MiB");
 * assert.equal(formatBytes(1000), "1000");
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes > 0 && bytes % (1 << 30) === 0) return `${bytes / (1 << 30)}GiB`;
  if (bytes > 0 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)}MiB`;
  if (bytes > 0 && bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return String(bytes);
}
