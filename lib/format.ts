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
import { type ColumnSet, csvRowOfParsed } from "./csv.ts";
import { forEachLine, type OversizedLine } from "./lines.ts";
import { parseLineAt, type Report, type YearResolver } from "./spysocket.ts";

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
  forEachLine(bytes, (text, from, to, start, end) => {
    const report = parseLineAt(text, from, to, options.years);
    if (report.kind !== "rejected") {
      csv += csvRowOfParsed(report, options.columns);
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

const json = (v: number | null) => (v === null ? "null" : String(v));
const quoted = (v: string | null) => (v === null ? "null" : `"${v}"`);

/**
 * A coordinate's text as a JSON number. The parser's decimals (`-?digits(.digits)?`) are JSON
 * numbers already unless they start with a redundant zero, so the text is used as it is: no
 * conversion to a double and back for each line.
 */
function jsonNumber(decimal: string): string {
  const first = decimal.charCodeAt(0) === 45 ? 1 : 0;
  const redundantZero = decimal.charCodeAt(first) === 48 && first + 1 < decimal.length &&
    decimal.charCodeAt(first + 1) !== 46;
  return redundantZero ? String(Number(decimal)) : decimal;
}

/**
 * A report as the members of a records-mode JSON document (no braces): every field typed, lat/lon
 * as numbers plus their exact text. Built by hand because it runs once per line: every string the
 * parser accepts is plain ASCII without quotes or backslashes, so nothing needs escaping.
 */
export function reportMembers(r: Report): string {
  return `"doc_type":"Report","kind":"${r.kind}","date":"${r.date}","time":"${r.time}","vehicle":"${r.vehicle}",` +
    `"lat":${jsonNumber(r.lat)},"lon":${
      jsonNumber(r.lon)
    },"locationValid":"${r.locationValid}","adherence":${r.adherence},` +
    `"adherenceValid":"${r.adherenceValid}","odometer":${r.odometer},"odometerValid":"${r.odometerValid}",` +
    `"dgps":"${r.dgps}","fom":${json(r.fom)},"crossingTime":${quoted(r.crossingTime)},"dwell":${
      json(r.dwell)
    },` +
    `"route":${json(r.route)},"direction":${json(r.direction)},"timepoint":${json(r.timepoint)},` +
    `"stop":${json(r.stop)},"service":${json(r.service)},"block":${json(r.block)},` +
    `"lat_text":"${r.lat}","lon_text":"${r.lon}"`;
}

/**
 * Calls `fn` with each line's records-mode document members (JSON without braces) and its offset
 * and end: a `Report`, or a `Rejected` with the raw line and the reason (also given as `reason`).
 */
export function forEachRecord(
  bytes: Uint8Array,
  offset: number,
  years: YearResolver,
  fn: (members: string, lineOffset: number, lineEnd: number, reason: string | null) => void,
): void {
  forEachLine(bytes, (text, from, to, start, _end, next) => {
    const report = parseLineAt(text, from, to, years);
    if (report.kind !== "rejected") {
      fn(reportMembers(report), offset + start, offset + next, null);
    } else if (report.reason !== "blank") {
      const members = JSON.stringify({
        doc_type: "Rejected",
        reason: report.reason,
        raw: text.slice(from, to),
      });
      fn(members.slice(1, -1), offset + start, offset + next, report.reason);
    }
  });
}
