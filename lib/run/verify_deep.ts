/**
 * `capture verify --deep`: whether what CouchDB holds of a range is what the log's bytes give when
 * formatted again. A feed document's CSV is compared line by line, and its count of rejected
 * lines; a records document member by member (the members a line gives, rejected lines alike). A
 * member that is `null` counts as absent, so documents written before null members were dropped
 * compare equal to those written after.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordDifference } from "./verify_deep.ts";
 * import { spysocketFormat } from "../format/line_format.ts";
 * const format = spysocketFormat({ columns: "classic" });
 * const line = new TextEncoder().encode("not a report\n");
 * const stored = { doc_type: "Rejected", reason: "no time stamp", raw: "not a report" };
 * const difference = recordDifference(line, 0, stored, format);
 * assert.match(difference ?? "", /reason/);
 * ```
 * @module
 */
import { ByteWriter } from "../base/bytes.ts";
import type { LineFormat } from "../format/line_format.ts";

/** How a feed document's CSV differs from its range's bytes formatted again; `null`: it does not. */
export function feedDifference(
  data: Uint8Array,
  start: number,
  stored: { csv: Uint8Array; rejected?: number; timestamp?: string },
  format: LineFormat,
): string | null {
  const readAt = stored.timestamp ? new Date(stored.timestamp) : new Date();
  const out = new ByteWriter(data.length * 2 + 4096);
  const formatted = format.csvRows({ data, start, readAt, oversized: null }, out);
  const expected = new TextDecoder().decode(out.bytes()).split("\n");
  const held = new TextDecoder().decode(stored.csv).split("\n");
  for (let i = 0; i < Math.max(expected.length, held.length); i++) {
    if (expected[i] !== held[i]) {
      return `CSV line ${i} is ${JSON.stringify(held[i] ?? "(none)")}, the log gives ${
        JSON.stringify(expected[i] ?? "(none)")
      }`;
    }
  }
  if (stored.rejected !== undefined && stored.rejected !== formatted.rejected.length) {
    return `it says ${stored.rejected} lines were rejected, the log gives ${formatted.rejected.length}`;
  }
  return null;
}

/** What a records document holds besides what its line gives: where and in which batch it is. */
const BOOKKEEPING = new Set([
  "_id",
  "_rev",
  "line_offset",
  "line_end",
  "source",
  "generation",
  "batch_start",
]);

/**
 * How a records document differs from its line (the bytes at `offset`) formatted again; `null`:
 * it does not. The year of its report is inferred from the date it holds, as when it was stored.
 */
export function recordDifference(
  line: Uint8Array,
  offset: number,
  stored: Record<string, unknown>,
  format: LineFormat,
): string | null {
  const reason = typeof stored.reason === "string" ? stored.reason : "";
  if (stored.doc_type === "Rejected" && reason.includes("longer than the limit")) {
    // An over-long line keeps only its first bytes: those are compared.
    const raw = new TextEncoder().encode(String(stored.raw ?? ""));
    const same = raw.length <= line.length && raw.every((b, i) => b === line[i]);
    return same ? null : "its kept first bytes are not the line's";
  }
  const date = typeof stored.date === "string" ? new Date(`${stored.date}T12:00:00Z`) : null;
  const readAt = date && !Number.isNaN(date.getTime()) ? date : new Date();
  const out = new ByteWriter(line.length * 4 + 256);
  format.records({ data: line, start: offset, readAt, oversized: null }, out, () => out.byte(123));
  const expected = JSON.parse(new TextDecoder().decode(out.bytes())) as Record<string, unknown>;
  const names = new Set([...Object.keys(expected), ...Object.keys(stored)]);
  for (const name of [...names].sort()) {
    if (BOOKKEEPING.has(name)) continue;
    const held = stored[name] ?? null, given = expected[name] ?? null;
    if (JSON.stringify(held) !== JSON.stringify(given)) {
      return `${name} is ${JSON.stringify(held)}, the log gives ${JSON.stringify(given)}`;
    }
  }
  return null;
}
