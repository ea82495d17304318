/**
 * Whole lines to output: CSV rows plus the rejected lines (feed mode, extracts, conversion), or one
 * typed JSON document per line (records mode). Output is written as bytes into a reused
 * {@linkcode ByteWriter}. Rejected lines are kept, with their offsets and reasons.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteWriter } from "../base/bytes.ts";
 * import { formatCsv } from "./reports.ts";
 * import { yearResolver } from "../parse/spysocket.ts";
 * const out = new ByteWriter();
 * const lines = new TextEncoder().encode(
 *   "garbage\n07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On\n",
 * );
 * const years = yearResolver({ year: 2012 });
 * const result = formatCsv(lines, 1000, { columns: "classic", years }, out);
 * assert.equal(result.rows, 1);
 * assert.equal(result.rejected[0].offset, 1000); // its offset in the file, for the log line
 * assert.match(new TextDecoder().decode(out.bytes()), /^2012-02-15,07:04:42,V\.1\.2233,/);
 * ```
 * @module
 */
import { asciiBytes, type ByteWriter } from "../base/bytes.ts";
import { type ColumnSet, writeCsvRow } from "./csv.ts";
import type { OversizedLine } from "../source/lines.ts";
import {
  newScannedReport,
  scanInOnePass,
  type ScannedReport,
  scanReportByTokens,
  writeCoordinate,
  writeCrossingTime,
  writeDate,
  writeLat,
  writeLon,
  writeTime,
  writeVehicle,
  type YearResolver,
} from "../parse/spysocket.ts";

/** A line that did not parse, kept byte for byte (only the head of an oversized line). */
export interface RejectedLine {
  /** The file offset of the line. */
  offset: number;
  /** Why it was rejected. */
  reason: string;
  /** The line as it was read, without its line end. */
  raw: Uint8Array;
}

/** How lines are formatted. */
export interface FormatOptions {
  /** The CSV columns. */
  columns: ColumnSet;
  /** The year of each report's date. */
  years: YearResolver;
}

/** How many CSV rows were written, and the lines that were rejected. */
export interface FormattedCsv {
  /** Rows written. */
  rows: number;
  /** Lines that did not parse, in file order. */
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

const scanned = newScannedReport();

/**
 * Calls `fn` for each line of `bytes` (whole lines, the last one with or without its `\n`):
 * `[start, next)` is the line with its line end, and `reason` is null when the line was scanned
 * into `scanned`, else why it was rejected. Blank lines are skipped.
 */
function forEachScanned(
  bytes: Uint8Array,
  years: YearResolver,
  fn: (start: number, next: number, reason: string | null) => void,
): void {
  let start = 0;
  while (start < bytes.length) {
    // The one pass finds the line's end as it goes; a line it leaves is cut at its `\n` first.
    let next = scanInOnePass(bytes, start, bytes.length, years, scanned);
    let reason: string | null = null;
    if (next < 0) {
      const newline = bytes.indexOf(10, start);
      next = newline < 0 ? bytes.length : newline + 1;
      reason = scanReportByTokens(bytes, start, next, years, scanned);
    }
    if (reason !== "blank") fn(start, next, reason);
    start = next;
  }
}

/** The rejected line `bytes[start, next)`, without its line end. */
function rejectedLine(
  bytes: Uint8Array,
  offset: number,
  start: number,
  next: number,
  reason: string,
): RejectedLine {
  let end = next;
  if (end > start && bytes[end - 1] === 10) end--;
  if (end > start && bytes[end - 1] === 13) end--;
  return { offset: offset + start, reason, raw: bytes.slice(start, end) };
}

/**
 * Writes `bytes` (whole lines read at file offset `offset`) to `out` as CSV rows, without a header.
 * Blank lines are skipped; rejected lines are returned.
 */
export function formatCsv(
  bytes: Uint8Array,
  offset: number,
  options: FormatOptions,
  out: ByteWriter,
): FormattedCsv {
  let rows = 0;
  const rejected: RejectedLine[] = [];
  forEachScanned(bytes, options.years, (start, next, reason) => {
    if (reason === null) {
      writeCsvRow(out, scanned, options.columns);
      rows++;
    } else rejected.push(rejectedLine(bytes, offset, start, next, reason));
  });
  return { rows, rejected };
}

/**
 * A coordinate as a JSON number. The scanner's decimals (`-?digits(.digits)?`) are JSON numbers
 * already, but for redundant leading zeros, which are left out: the text is written as it is, with
 * no conversion to a double and back for each line.
 */
function writeJsonNumber(
  out: ByteWriter,
  bytes: Uint8Array,
  from: number,
  to: number,
  point: number,
): void {
  const first = bytes[from] === 45 ? from + 1 : from;
  let digit = first;
  while (
    digit + 1 < to && bytes[digit] === 48 && digit + 1 !== point && bytes[digit + 1] !== 46
  ) digit++;
  if (first > from) out.byte(45);
  writeCoordinate(out, bytes, digit, to, point);
}

// The constant parts of a report document, as bytes. A member with no value is left out (SPEC §3):
// a location report has no crossing members, and a report without FOM no `fom`.
const HEAD = {
  location: asciiBytes('"doc_type":"Report","kind":"location","date":"'),
  arrival: asciiBytes('"doc_type":"Report","kind":"arrival","date":"'),
  dwell: asciiBytes('"doc_type":"Report","kind":"dwell","date":"'),
};
const TIME = asciiBytes('","time":"');
const VEHICLE = asciiBytes('","vehicle":"');
const LAT = asciiBytes('","lat":');
const LON = asciiBytes(',"lon":');
const LOCATION_VALID = asciiBytes(',"locationValid":"');
const ADHERENCE = asciiBytes('","adherence":');
const ADHERENCE_VALID = asciiBytes(',"adherenceValid":"');
const ODOMETER = asciiBytes('","odometer":');
const ODOMETER_VALID = asciiBytes(',"odometerValid":"');
const DGPS = { On: asciiBytes('","dgps":"On"'), Off: asciiBytes('","dgps":"Off"') };
const FOM = asciiBytes(',"fom":');
const CROSSING_TIME = asciiBytes(',"crossingTime":"');
const DWELL = asciiBytes(',"dwell":');
const ROUTE = asciiBytes(',"route":');
const DIRECTION = asciiBytes(',"direction":');
const TIMEPOINT = asciiBytes(',"timepoint":');
const STOP = asciiBytes(',"stop":');
const SERVICE = asciiBytes(',"service":');
const BLOCK = asciiBytes(',"block":');
const LAT_TEXT = asciiBytes(',"lat_text":"');
const LON_TEXT = asciiBytes('","lon_text":"');

/**
 * A scanned report as the members of a records-mode JSON document (no braces): every field typed,
 * lat/lon as numbers plus their exact text, a field with no value left out. Written by hand because it runs once per line: every
 * byte the scanner accepts in a field is plain ASCII without quotes or backslashes.
 */
export function writeReportMembers(out: ByteWriter, s: ScannedReport): void {
  const b = s.bytes;
  out.constant(HEAD[s.kind]);
  writeDate(out, s);
  out.constant(TIME);
  writeTime(out, s);
  out.constant(VEHICLE);
  writeVehicle(out, s);
  out.constant(LAT);
  writeJsonNumber(out, b, s.latFrom, s.latTo, s.latPoint);
  out.constant(LON);
  writeJsonNumber(out, b, s.lonFrom, s.lonTo, s.lonPoint);
  out.constant(LOCATION_VALID);
  out.byte(s.locationValid === "V" ? 86 : 73);
  out.constant(ADHERENCE);
  out.int(s.adherence);
  out.constant(ADHERENCE_VALID);
  out.byte(s.adherenceValid === "V" ? 86 : 73);
  out.constant(ODOMETER);
  out.int(s.odometer);
  out.constant(ODOMETER_VALID);
  out.byte(s.odometerValid === "V" ? 86 : 73);
  out.constant(DGPS[s.dgps]);
  if (!Number.isNaN(s.fom)) {
    out.constant(FOM);
    out.int(s.fom);
  }
  if (s.kind !== "location") {
    out.constant(CROSSING_TIME);
    writeCrossingTime(out, s);
    out.byte(34);
    if (!Number.isNaN(s.dwell)) {
      out.constant(DWELL);
      out.int(s.dwell);
    }
    out.constant(ROUTE);
    out.int(s.route);
    out.constant(DIRECTION);
    out.int(s.direction);
    out.constant(TIMEPOINT);
    out.int(s.timepoint);
    out.constant(STOP);
    out.int(s.stop);
    out.constant(SERVICE);
    out.int(s.service);
    out.constant(BLOCK);
    out.int(s.block);
  }
  out.constant(LAT_TEXT);
  writeLat(out, s);
  out.constant(LON_TEXT);
  writeLon(out, s);
  out.byte(34);
}

const utf8 = new TextDecoder();

/** The members of a `Rejected` document: the reason and the raw line (invalid UTF-8 replaced). */
export function writeRejectedMembers(out: ByteWriter, line: RejectedLine): void {
  const json = JSON.stringify({
    doc_type: "Rejected",
    reason: line.reason,
    raw: utf8.decode(line.raw),
  });
  out.utf8(json.slice(1, -1));
}

/**
 * Writes one records-mode document per line of `bytes` (whole lines read at file offset `offset`)
 * to `out`. For each line `begin` writes the document's opening (`{` and its own members, ending
 * in a comma) and is told the line's offset, where the next line starts, and the rejected line
 * when it did not parse; then the line's members and the closing `}` follow.
 */
export function writeRecords(
  bytes: Uint8Array,
  offset: number,
  years: YearResolver,
  out: ByteWriter,
  begin: (lineOffset: number, lineEnd: number, rejected: RejectedLine | null) => void,
): void {
  forEachScanned(bytes, years, (start, next, reason) => {
    if (reason === null) {
      begin(offset + start, offset + next, null);
      writeReportMembers(out, scanned);
    } else {
      const line = rejectedLine(bytes, offset, start, next, reason);
      begin(line.offset, offset + next, line);
      writeRejectedMembers(out, line);
    }
    out.byte(125);
  });
}
