/**
 * Whole lines to output: CSV rows plus the rejected lines (feed mode, extracts, conversion), or one
 * typed document per line (records mode). Rejected lines are kept, with their offsets and reasons.
 *
 * @example
 * ```ts
 * import { formatCsv } from "./format.ts";
 * import { yearResolver } from "./spysocket.ts";
 * const out = formatCsv(new TextEncoder().encode("garbage\n"), 0, { columns: "classic", years: yearResolver({ year: 2012 }) });
 * // out.rows === 0, out.rejected[0].offset === 0
 * ```
 * @module
 */
import { type ColumnSet, csvRow } from "./csv.ts";
import { forEachLine, type OversizedLine } from "./lines.ts";
import { parseLine, type YearResolver } from "./spysocket.ts";

/** A line that did not parse, kept byte for byte (only the head of an oversized line). */
export interface RejectedLine {
  offset: number;
  reason: string;
  raw: Uint8Array;
}

/** How lines are formatted. */
export interface FormatOptions {
  columns: ColumnSet;
  years: YearResolver;
}

/** CSV rows (no header) and the rejected lines of a run of whole lines. */
export interface FormattedCsv {
  csv: string;
  rows: number;
  rejected: RejectedLine[];
}

/** The rejection of a line longer than the limit. */
export function oversizedRejection(line: OversizedLine): RejectedLine {
  return {
    offset: line.offset,
    reason:
      `line of ${line.length} bytes is longer than the limit (max-line-bytes); first ${line.head.length} bytes kept`,
    raw: line.head,
  };
}

/** Formats `bytes` (whole lines read at file offset `offset`) as CSV rows. Blank lines are skipped. */
export function formatCsv(bytes: Uint8Array, offset: number, options: FormatOptions): FormattedCsv {
  let csv = "";
  let rows = 0;
  const rejected: RejectedLine[] = [];
  forEachLine(bytes, (text, start, end) => {
    const report = parseLine(text, options.years);
    if (report.kind !== "rejected") {
      csv += csvRow(report, options.columns);
      rows++;
    } else if (report.reason !== "blank") {
      rejected.push({
        offset: offset + start,
        reason: report.reason,
        raw: bytes.slice(start, end),
      });
    }
  });
  return { csv, rows, rejected };
}

/** One records-mode document body, before its `_id` and source fields are added. */
export type RecordBody = Record<string, unknown>;

/**
 * Calls `fn` with each line's records-mode body and its offset and end: a `Report` with typed
 * values (lat/lon as numbers plus their exact text), or a `Rejected` with the raw line.
 */
export function forEachRecord(
  bytes: Uint8Array,
  offset: number,
  years: YearResolver,
  fn: (body: RecordBody, lineOffset: number, lineEnd: number) => void,
): void {
  forEachLine(bytes, (text, start, _end, next) => {
    const report = parseLine(text, years);
    if (report.kind === "rejected") {
      if (report.reason === "blank") return;
      fn({ doc_type: "Rejected", reason: report.reason, raw: text }, offset + start, offset + next);
      return;
    }
    fn(
      {
        doc_type: "Report",
        ...report,
        lat: Number(report.lat),
        lon: Number(report.lon),
        lat_text: report.lat,
        lon_text: report.lon,
      },
      offset + start,
      offset + next,
    );
  });
}
