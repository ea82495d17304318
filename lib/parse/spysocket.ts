/**
 * Parsing of spysocket log lines (SPEC §1): one line in, one typed report or one rejection out.
 *
 * The parser never throws: any input, including binary garbage, gives either a {@linkcode Report}
 * or a {@linkcode Rejected} with a reason that names the offending token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLine, yearResolver } from "./spysocket.ts";
 * const years = yearResolver({ year: 2012 });
 * const r = parseLine(
 *   "07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On FOM:2",
 *   years,
 * );
 * assert.ok(r.kind === "location");
 * assert.deepEqual([r.date, r.lat, r.lon], ["2012-02-15", "37.0620935", "-76.3413842"]);
 * ```
 * @module
 */
import { asciiBytes, type ByteWriter, putBytes, putInt, putTwoDigits } from "../base/bytes.ts";

/** `V` for `[Valid]`, `I` for any other bracketed flag. */
export type Validity = "V" | "I";

/** The three kinds of report a spysocket line carries. */
export type ReportKind = "location" | "arrival" | "dwell";

/** One parsed spysocket line. Crossing fields are `null` for a location report. */
export interface Report {
  /** Which report the line is: a location or a crossing (arrival, departure, dwell). */
  kind: ReportKind;
  /** `YYYY-MM-DD`, with the inferred (or configured) year. */
  date: string;
  /** Report time, `HH:MM:SS` (token 0). */
  time: string;
  /** The whole vehicle token, e.g. `V.1.2233`. */
  vehicle: string;
  /** Latitude as decimal text, digits kept exactly. */
  lat: string;
  /** Longitude as decimal text, digits kept exactly. */
  lon: string;
  /** Whether the AVL unit marked the location valid. */
  locationValid: Validity;
  /** Schedule adherence, in the unit's minutes (negative: late). */
  adherence: number;
  /** Whether the adherence is valid. */
  adherenceValid: Validity;
  /** The odometer reading. */
  odometer: number;
  /** Whether the odometer reading is valid. */
  odometerValid: Validity;
  /** Whether differential GPS was on. */
  dgps: "On" | "Off";
  /** `null` when the optional `FOM:` field is absent. */
  fom: number | null;
  /** Actual crossing time, `HH:MM:SS`. */
  crossingTime: string | null;
  /** Dwell seconds, for a dwell crossing. */
  dwell: number | null;
  /** The route, for a crossing. */
  route: number | null;
  /** The direction on the route, for a crossing. */
  direction: number | null;
  /** The timepoint crossed, for a crossing. */
  timepoint: number | null;
  /** The stop, for a crossing. */
  stop: number | null;
  /** The service, for a crossing. */
  service: number | null;
  /** The block, for a crossing. */
  block: number | null;
}

/** A line that is not a valid report, with the reason why. */
export interface Rejected {
  /** Marks a line that is not a report. */
  kind: "rejected";
  /** Why the line was rejected. */
  reason: string;
}

/** Maps a month and day to the year they belong to, or `null` when no such date exists. */
export type YearResolver = (month: number, day: number) => number | null;

/** How the year of a report is found (SPEC §1.2). */
export type YearOptions = { year: number } | { reference: Date };

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True for leap years of the Gregorian calendar. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function isValidDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return false;
  return month !== 2 || day !== 29 || isLeapYear(year);
}

/**
 * Returns the rule that gives each month/day its year: a fixed year, or inference from a reference
 * date (the capture time, in local time): the latest year in which that month/day falls on or before
 * the reference date plus one day of clock skew. `12/31` read on 1 January is last year's; `02/29` is
 * valid only when the inferred year is a leap year.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { yearResolver } from "./spysocket.ts";
 * const years = yearResolver({ reference: new Date(2027, 0, 1) });
 * assert.equal(years(12, 31), 2026);
 * assert.equal(years(1, 2), 2027); // one day of clock skew
 * assert.equal(years(2, 29), null); // 2026 is not a leap year
 * ```
 */
export function yearResolver(options: YearOptions): YearResolver {
  if ("year" in options) {
    const year = options.year;
    return (month, day) => isValidDate(year, month, day) ? year : null;
  }
  const ref = options.reference;
  const next = new Date(ref.getFullYear(), ref.getMonth(), ref.getDate() + 1);
  const nextYear = next.getFullYear();
  const nextKey = (next.getMonth() + 1) * 100 + next.getDate();
  return (month, day) => {
    const year = month * 100 + day > nextKey ? nextYear - 1 : nextYear;
    return isValidDate(year, month, day) ? year : null;
  };
}

/**
 * One scanned report, as numbers and as positions in the line's bytes: what the output writers
 * read, with no string made per field. {@linkcode scanReport} fills it; {@linkcode reportOf}
 * turns it into a {@linkcode Report}. Crossing fields hold only for arrival and dwell reports.
 */
export interface ScannedReport {
  /** The bytes the positions refer to. */
  bytes: Uint8Array;
  /** Which report the line is: a location or a crossing (arrival, departure, dwell). */
  kind: ReportKind;
  /** The report's year, as the year resolver gave it. */
  year: number;
  /** Its month, 1 to 12. */
  month: number;
  /** Its day of the month. */
  day: number;
  /** Where `HH:MM:SS` begins. */
  time: number;
  /** Where the vehicle id begins. */
  vehicleFrom: number;
  /** Where it ends. */
  vehicleTo: number;
  /** A coordinate is `[from, to)`, with a point inserted before `point` (-1: it has its own). */
  latFrom: number;
  /** Where the latitude's digits end. */
  latTo: number;
  /** Where its decimal point goes. */
  latPoint: number;
  /** Where the longitude's digits begin. */
  lonFrom: number;
  /** Where they end. */
  lonTo: number;
  /** Where its decimal point goes. */
  lonPoint: number;
  /** Whether the AVL unit marked the location valid. */
  locationValid: Validity;
  /** Schedule adherence, in the unit's minutes (negative: late). */
  adherence: number;
  /** Whether the adherence is valid. */
  adherenceValid: Validity;
  /** The odometer reading. */
  odometer: number;
  /** Whether the odometer reading is valid. */
  odometerValid: Validity;
  /** Whether differential GPS was on. */
  dgps: "On" | "Off";
  /** NaN when the optional `FOM:` field is absent. */
  fom: number;
  /** Where the crossing's `HH:MM:SS` begins. */
  crossingTime: number;
  /** NaN unless a dwell report. */
  dwell: number;
  /** The route (crossings only). */
  route: number;
  /** The direction on the route (crossings only). */
  direction: number;
  /** The timepoint crossed (crossings only). */
  timepoint: number;
  /** The stop (crossings only). */
  stop: number;
  /** The service (crossings only). */
  service: number;
  /** The block (crossings only). */
  block: number;
}

/** A scanned report to fill, reused line after line. */
export function newScannedReport(): ScannedReport {
  return {
    bytes: new Uint8Array(0),
    kind: "location",
    year: 0,
    month: 0,
    day: 0,
    time: 0,
    vehicleFrom: 0,
    vehicleTo: 0,
    latFrom: 0,
    latTo: 0,
    latPoint: -1,
    lonFrom: 0,
    lonTo: 0,
    lonPoint: -1,
    locationValid: "V",
    adherence: 0,
    adherenceValid: "V",
    odometer: 0,
    odometerValid: "V",
    dgps: "On",
    fom: NaN,
    crossingTime: 0,
    dwell: NaN,
    route: 0,
    direction: 0,
    timepoint: 0,
    stop: 0,
    service: 0,
    block: 0,
  };
}

// The hot loop works on the line's bytes: no decoding, no regexes, no substrings. Tokens are kept
// as positions, in two arrays reused across calls.
const MAX_TOKENS = 40;
const starts = new Int32Array(MAX_TOKENS);
const ends = new Int32Array(MAX_TOKENS);
let line: Uint8Array = new Uint8Array(0);
let count = 0;

/** Splits `bytes[from, to)` on runs of spaces or tabs; false when it has far more tokens than any report. */
function tokenize(bytes: Uint8Array, from: number, to: number): boolean {
  line = bytes;
  count = 0;
  let end = to;
  if (end > from && bytes[end - 1] === 10) end--;
  if (end > from && bytes[end - 1] === 13) end--;
  let i = from;
  while (i < end) {
    let c = bytes[i];
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (count >= MAX_TOKENS) return false;
    starts[count] = i;
    // A plain loop: TypedArray indexOf costs more per call than a token's few bytes.
    while (++i < end && (c = bytes[i]) !== 32 && c !== 9);
    ends[count++] = i++;
  }
  return true;
}

const utf8 = new TextDecoder();

/** Token `i` as text, for a rejection's reason. */
function token(i: number): string {
  return i < count ? utf8.decode(line.subarray(starts[i], ends[i])) : "";
}

function tokenLength(i: number): number {
  return i < count ? ends[i] - starts[i] : 0;
}

/** Whether token `i` is exactly `word`. */
function tokenIs(i: number, word: string): boolean {
  return i < count && ends[i] - starts[i] === word.length && matchesAt(starts[i], word);
}

/** Whether token `i` begins with `word`. */
function tokenStarts(i: number, word: string): boolean {
  return i < count && ends[i] - starts[i] >= word.length && matchesAt(starts[i], word);
}

function matchesAt(at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    if (line[at + k] !== word.charCodeAt(k)) return false;
  }
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Token `i` after `skip` characters as `-?[0-9]+`, or NaN. */
function integerAt(i: number, skip: number): number {
  if (i >= count) return NaN;
  let p = starts[i] + skip;
  const end = ends[i];
  const negative = p < end && line[p] === 45;
  if (negative) p++;
  if (p >= end || end - p > 15) return NaN;
  let value = 0;
  for (; p < end; p++) {
    const d = line[p] - 48;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return negative ? -value : value;
}

/** `Label:<int>` at token `i`, or NaN. */
function labelled(i: number, label: string): number {
  return tokenStarts(i, label) ? integerAt(i, label.length) : NaN;
}

/** Two digits at position `at` of `b`, as a number, or -1. */
function twoDigits(b: Uint8Array, at: number): number {
  const x = b[at] - 48, y = b[at + 1] - 48;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

/** `HH:MM:SS` at position `at` of `b`. */
function isClockTime(b: Uint8Array, at: number): boolean {
  if (b[at + 2] !== 58 || b[at + 5] !== 58) return false;
  const h = twoDigits(b, at), m = twoDigits(b, at + 3), s = twoDigits(b, at + 6);
  return h >= 0 && h <= 23 && m >= 0 && m <= 59 && s >= 0 && s <= 59;
}

/**
 * `-?digits(.digits)?` in `b[from, to)`, the shape of a latitude or longitude: where its point is
 * (-1: none), or -2 when it has not that shape.
 */
function decimalPoint(b: Uint8Array, from: number, to: number): number {
  let i = b[from] === 45 ? from + 1 : from;
  let digits = 0, dot = -1;
  for (; i < to; i++) {
    const c = b[i];
    if (isDigit(c)) digits++;
    else if (c === 46 && dot < 0 && digits > 0) dot = i;
    else return -2;
  }
  return digits > 0 && dot !== to - 1 ? dot : -2;
}

/**
 * Positional scaling (SPEC §1.1): a point after the first `width` characters of `b[from, to)`,
 * unless one is there. Where that point goes (-1: the text has its own), or -2 when it is no
 * coordinate.
 */
function coordinate(b: Uint8Array, from: number, to: number, width: number): number {
  if (to - from <= width) return -2;
  const dot = decimalPoint(b, from, to);
  return dot === -2 ? -2 : dot >= 0 ? -1 : from + width;
}

function validity(i: number): Validity | null {
  if (i >= count) return null;
  if (tokenIs(i, "[Valid]")) return "V";
  return tokenLength(i) >= 2 && line[starts[i]] === 91 && line[ends[i] - 1] === 93 ? "I" : null;
}

/** `V.<n>.<id>`, digits both. */
function isVehicle(i: number): boolean {
  const from = starts[i], to = ends[i];
  if (to - from < 5 || line[from] !== 86 || line[from + 1] !== 46) return false;
  let dot = -1;
  for (let p = from + 2; p < to; p++) {
    const c = line[p];
    if (c === 46 && dot < 0 && p > from + 2 && p < to - 1) dot = p;
    else if (!isDigit(c)) return false;
  }
  return dot > 0;
}

function expected(what: string, i: number): string {
  return `expected ${what}, got "${clip(token(i))}"`;
}

const CROSSING_LABELS = ["Rte:", "Dir:", "TP:", "Stop:", "Svc:", "Blk:"];
const crossing = [0, 0, 0, 0, 0, 0];

/** The crossing's six numbers as read last (both scanners read them into `crossing`). */
function crossingInto(into: ScannedReport): void {
  into.route = crossing[0];
  into.direction = crossing[1];
  into.timepoint = crossing[2];
  into.stop = crossing[3];
  into.service = crossing[4];
  into.block = crossing[5];
}

/**
 * Scans the line `bytes[start, end)` (without or with its `\n` / `\r\n`) into `into`: `null` when
 * it is a report, else the reason it is rejected (`blank` for a blank line, which callers skip
 * uncounted). Never throws. The hot path of formatting: nothing is allocated for a valid line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newScannedReport, scanReport, yearResolver } from "./spysocket.ts";
 * const scanned = newScannedReport();
 * const bytes = new TextEncoder().encode("garbage\n");
 * assert.equal(scanReport(bytes, 0, bytes.length, yearResolver({ year: 2012 }), scanned), "only 1 fields");
 * ```
 */
export function scanReport(
  bytes: Uint8Array,
  start: number,
  end: number,
  years: YearResolver,
  into: ScannedReport,
): string | null {
  if (scanInOnePass(bytes, start, end, years, into) === end) return null;
  return scanReportByTokens(bytes, start, end, years, into);
}

// The one pass: a cursor walks the line from field to field, checking each where it lies, with no
// token table. Each step returns where the cursor goes next, or -1 when the line is not a plain
// report; a number read is left in `value`, a flag in `flag`.
let value = 0;
let flag: Validity = "V";

const MT_LOCATION = asciiBytes("MT_LOCATION");
const MT_TIMEPOINTCROSSING = asciiBytes("MT_TIMEPOINTCROSSING");
const TIME_LABEL = asciiBytes("Time:");
const ARRIVAL = asciiBytes("Arrival");
const DWELL_LABEL = asciiBytes("Dwell:");
const CROSSING_LABEL_BYTES = CROSSING_LABELS.map(asciiBytes);
const LAT_LON_LABEL = asciiBytes("Lat/Lon:");
const VALID = asciiBytes("[Valid]");
const ADHER_LABEL = asciiBytes("Adher:");
const ODOM_LABEL = asciiBytes("Odom:");
const DGPS_ON = asciiBytes("DGPS:On");
const DGPS_OFF = asciiBytes("DGPS:Off");
const FOM_LABEL = asciiBytes("FOM:");

/** The first position from `p` that is not a space or tab (at most `e`). */
function skipBlanks(b: Uint8Array, p: number, e: number): number {
  while (p < e) {
    const c = b[p];
    if (c !== 32 && c !== 9) break;
    p++;
  }
  return p;
}

/** Whether a token ends at `p`: a space or tab, the line end (`\n`, `\r`), or the end of the data. */
function endsToken(b: Uint8Array, p: number, e: number): boolean {
  if (p === e) return true;
  const c = b[p];
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** The end of the token at `p`. */
function tokenEnd(b: Uint8Array, p: number, e: number): number {
  while (p < e) {
    const c = b[p];
    if (c === 32 || c === 9 || c === 10 || c === 13) break;
    p++;
  }
  return p;
}

/** Whether `word` is at `p`, within the line. */
function wordAt(b: Uint8Array, p: number, e: number, word: Uint8Array): boolean {
  if (p + word.length > e) return false;
  for (let k = 0; k < word.length; k++) if (b[p + k] !== word[k]) return false;
  return true;
}

/** `word` as the whole token at `p`: the position after it, or -1. */
function wholeWord(b: Uint8Array, p: number, e: number, word: Uint8Array): number {
  return wordAt(b, p, e, word) && endsToken(b, p + word.length, e) ? p + word.length : -1;
}

/** `-?[0-9]{1,15}` as the rest of the token at `p`, into `value`: the position after it, or -1. */
function integerToken(b: Uint8Array, p: number, e: number): number {
  const negative = p < e && b[p] === 45;
  if (negative) p++;
  const first = p;
  let v = 0;
  while (p < e) {
    const d = b[p] - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    p++;
  }
  if (p === first || p - first > 15 || !endsToken(b, p, e)) return -1;
  value = negative ? -v : v;
  return p;
}

/** `Label:<int>` as the token at `p`, into `value`: the position after it, or -1. */
function labelledToken(b: Uint8Array, p: number, e: number, label: Uint8Array): number {
  return wordAt(b, p, e, label) ? integerToken(b, p + label.length, e) : -1;
}

/** A bracketed flag as the token at `p`, into `flag`: the position after it, or -1. */
function flagToken(b: Uint8Array, p: number, e: number): number {
  const valid = wholeWord(b, p, e, VALID);
  if (valid >= 0) {
    flag = "V";
    return valid;
  }
  const to = tokenEnd(b, p, e);
  if (to - p < 2 || b[p] !== 91 || b[to - 1] !== 93) return -1;
  flag = "I";
  return to;
}

/** `Label:<int> [flag]` after blanks from `p`, into `value` and `flag`: where it ends, or -1. */
function flaggedToken(b: Uint8Array, p: number, e: number, label: Uint8Array): number {
  p = labelledToken(b, skipBlanks(b, p, e), e, label);
  return p < 0 ? -1 : flagToken(b, skipBlanks(b, p, e), e);
}

/**
 * A coordinate's shape, `-?digits(.digits)?`, from `p` to the first byte that does not fit it:
 * where that is, or -1 when no coordinate is there; where its point is into `value` (-1: none).
 */
function decimalEnd(b: Uint8Array, p: number, e: number): number {
  if (p < e && b[p] === 45) p++;
  let digits = 0, dot = -1;
  for (; p < e; p++) {
    const c = b[p];
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && dot < 0 && digits > 0) dot = p;
    else break;
  }
  if (digits === 0 || dot === p - 1) return -1;
  value = dot;
  return p;
}

/**
 * A plain report in the line at `start` of `bytes[…, end)`, scanned into `into` in one pass that
 * also finds the line's end: where the next line starts (after its `\n` or `\r\n`, or `end` for
 * an unterminated last line). -1 leaves the line to {@linkcode scanReportByTokens}, which accepts
 * what this accepts, with the same fields. Exported for the tests that hold the two to each other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newScannedReport, scanInOnePass, yearResolver } from "./spysocket.ts";
 * const bytes = new TextEncoder().encode(
 *   "07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On",
 * );
 * const scanned = newScannedReport();
 * assert.equal(scanInOnePass(bytes, 0, bytes.length, yearResolver({ year: 2012 }), scanned), bytes.length);
 * assert.equal(scanned.adherence, -1);
 * ```
 */
export function scanInOnePass(
  b: Uint8Array,
  start: number,
  e: number,
  years: YearResolver,
  into: ScannedReport,
): number {
  // Each step writes what it read into `into`, which is only read when the whole line passes.
  let p = headInOnePass(b, start, e, years, into);
  if (p >= 0) p = typeInOnePass(b, p, e, into);
  if (p >= 0) p = locationInOnePass(b, p, e, into);
  if (p >= 0) into.bytes = b;
  return p;
}

/** The time, the date and the vehicle: where the vehicle ends, or -1. */
function headInOnePass(
  b: Uint8Array,
  start: number,
  e: number,
  years: YearResolver,
  into: ScannedReport,
): number {
  let p = skipBlanks(b, start, e);
  into.time = p;
  if (p + 8 >= e || !isClockTime(b, p) || !endsToken(b, p + 8, e)) return -1;
  p = skipBlanks(b, p + 8, e);
  if (p + 5 >= e || b[p + 2] !== 47 || !endsToken(b, p + 5, e)) return -1;
  const month = twoDigits(b, p), day = twoDigits(b, p + 3);
  if (month < 0 || day < 0) return -1;
  const year = years(month, day);
  if (year === null) return -1;
  into.year = year;
  into.month = month;
  into.day = day;

  // The vehicle, `V.<n>.<id>`.
  const vehicleFrom = skipBlanks(b, p + 5, e);
  if (vehicleFrom + 5 > e || b[vehicleFrom] !== 86 || b[vehicleFrom + 1] !== 46) return -1;
  let dot = -1;
  for (p = vehicleFrom + 2; p < e; p++) {
    const c = b[p];
    if (c === 32 || c === 9) break;
    if (c === 46 && dot < 0 && p > vehicleFrom + 2) dot = p;
    else if (c < 48 || c > 57) return -1;
  }
  if (dot < 0 || dot === p - 1 || p - vehicleFrom < 5) return -1;
  into.vehicleFrom = vehicleFrom;
  into.vehicleTo = p;
  return p;
}

/**
 * A token the reports do not use (`H.0.0`), the record type, and a crossing's fields: where they
 * end, or -1.
 */
function typeInOnePass(b: Uint8Array, p: number, e: number, into: ScannedReport): number {
  p = skipBlanks(b, p, e);
  if (p === e) return -1;
  p = skipBlanks(b, tokenEnd(b, p, e), e);
  into.kind = "location";
  into.crossingTime = -1;
  into.dwell = NaN;
  let next = wholeWord(b, p, e, MT_LOCATION);
  if (next < 0) {
    p = wholeWord(b, p, e, MT_TIMEPOINTCROSSING);
    if (p < 0) return -1;
    p = skipBlanks(b, p, e);
    if (
      !wordAt(b, p, e, TIME_LABEL) || p + 13 > e || !isClockTime(b, p + 5) ||
      !endsToken(b, p + 13, e)
    ) return -1;
    into.crossingTime = p + 5;
    p = skipBlanks(b, p + 13, e);
    next = wholeWord(b, p, e, ARRIVAL);
    if (next >= 0) into.kind = "arrival";
    else {
      next = labelledToken(b, p, e, DWELL_LABEL);
      if (next < 0) return -1;
      into.kind = "dwell";
      into.dwell = value;
    }
    for (let k = 0; k < 6; k++) {
      next = labelledToken(b, skipBlanks(b, next, e), e, CROSSING_LABEL_BYTES[k]);
      if (next < 0) return -1;
      crossing[k] = value;
    }
  }
  crossingInto(into);
  return next;
}

/** The location group, as in scanReportByTokens, and the line's end: where the next line starts, or -1. */
function locationInOnePass(b: Uint8Array, p: number, e: number, into: ScannedReport): number {
  p = skipBlanks(b, p, e);
  if (!wordAt(b, p, e, LAT_LON_LABEL)) return -1;
  // `<lat>/<lon>`, each a decimal, scaled by position unless it has its own point (SPEC §1.1).
  const from = p + 8, slash = decimalEnd(b, from, e);
  if (slash < 0 || slash === e || b[slash] !== 47 || slash - from <= 2) return -1;
  into.latPoint = value >= 0 ? -1 : from + 2;
  const to = decimalEnd(b, slash + 1, e);
  if (to < 0 || !endsToken(b, to, e) || to - slash - 1 <= 3) return -1;
  into.lonPoint = value >= 0 ? -1 : slash + 4;
  into.latFrom = from;
  into.latTo = slash;
  into.lonFrom = slash + 1;
  into.lonTo = to;
  p = flagToken(b, skipBlanks(b, to, e), e);
  if (p < 0) return -1;
  into.locationValid = flag;
  p = flaggedToken(b, p, e, ADHER_LABEL);
  if (p < 0) return -1;
  into.adherence = value;
  into.adherenceValid = flag;
  p = flaggedToken(b, p, e, ODOM_LABEL);
  if (p < 0) return -1;
  into.odometer = value;
  into.odometerValid = flag;
  p = skipBlanks(b, p, e);
  into.dgps = "On";
  let next = wholeWord(b, p, e, DGPS_ON);
  if (next < 0) {
    next = wholeWord(b, p, e, DGPS_OFF);
    if (next < 0) return -1;
    into.dgps = "Off";
  }
  p = skipBlanks(b, next, e);
  into.fom = NaN;
  if (p < e && b[p] !== 10 && b[p] !== 13) {
    p = labelledToken(b, p, e, FOM_LABEL);
    if (p < 0) return -1;
    into.fom = value;
    p = skipBlanks(b, p, e);
  }
  // The line's end. A `\r` elsewhere is a byte of a token, which the token scanner judges.
  if (p < e) {
    if (b[p] === 13) p++;
    if (p === e || b[p] !== 10) return -1;
    p++;
  }
  return p;
}

/**
 * The reference scanner: splits the line into tokens, then checks them one by one. It is slower
 * than the one pass of {@linkcode scanReport}, which it backs: a line that pass does not accept
 * comes here, for its reason (or for an accepting odd shape the pass leaves out). Same contract as
 * `scanReport`; exported so the tests can hold the two to each other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newScannedReport, scanReportByTokens, yearResolver } from "./spysocket.ts";
 * const bytes = new TextEncoder().encode("07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:1/2\n");
 * const reason = scanReportByTokens(bytes, 0, bytes.length, yearResolver({ year: 2012 }), newScannedReport());
 * assert.equal(reason, 'expected Lat/Lon:<lat>/<lon>, got "Lat/Lon:1/2"');
 * ```
 */
export function scanReportByTokens(
  bytes: Uint8Array,
  start: number,
  end: number,
  years: YearResolver,
  into: ScannedReport,
): string | null {
  if (!tokenize(bytes, start, end)) return "too many fields";
  if (count === 0) return "blank";
  if (count < 5) return `only ${count} fields`;
  if (tokenLength(0) !== 8 || !isClockTime(line, starts[0])) return expected("HH:MM:SS", 0);
  const d = starts[1];
  const month = tokenLength(1) === 5 && line[d + 2] === 47 ? twoDigits(line, d) : -1;
  const day = month >= 0 ? twoDigits(line, d + 3) : -1;
  if (day < 0) return expected("MM/DD", 1);
  const year = years(month, day);
  if (year === null) return `no such date "${clip(token(1))}"`;
  if (!isVehicle(2)) return expected("V.<n>.<id>", 2);

  let i = 5;
  let kind: ReportKind = "location";
  let crossingTime = -1, dwell = NaN;
  const isCrossing = tokenIs(4, "MT_TIMEPOINTCROSSING");
  if (isCrossing) {
    if (tokenLength(5) !== 13 || !tokenStarts(5, "Time:") || !isClockTime(line, starts[5] + 5)) {
      return expected("Time:HH:MM:SS", 5);
    }
    crossingTime = starts[5] + 5;
    if (tokenIs(6, "Arrival")) kind = "arrival";
    else if (tokenStarts(6, "Dwell:")) {
      kind = "dwell";
      dwell = integerAt(6, 6);
      if (Number.isNaN(dwell)) return expected("Dwell:<int>", 6);
    } else return expected("Arrival or Dwell:<int>", 6);
    i = 7;
    for (let k = 0; k < 6; k++, i++) {
      const v = labelled(i, CROSSING_LABELS[k]);
      if (Number.isNaN(v)) return expected(CROSSING_LABELS[k] + "<int>", i);
      crossing[k] = v;
    }
  } else if (!tokenIs(4, "MT_LOCATION")) return `unknown record type "${clip(token(4))}"`;

  // The location group: Lat/Lon, Adher and Odom with their flags, DGPS, an optional FOM.
  if (!tokenStarts(i, "Lat/Lon:")) return expected("Lat/Lon:<lat>/<lon>", i);
  const from = starts[i] + 8, to = ends[i];
  const slash = bytes.indexOf(47, from + 1);
  const latPoint = slash > 0 && slash < to ? coordinate(line, from, slash, 2) : -2;
  const lonPoint = latPoint !== -2 ? coordinate(line, slash + 1, to, 3) : -2;
  if (lonPoint === -2) return expected("Lat/Lon:<lat>/<lon>", i);
  const locationValid = validity(i + 1);
  if (locationValid === null) return expected("a [Valid] flag after Lat/Lon", i + 1);
  const adherence = labelled(i + 2, "Adher:");
  if (Number.isNaN(adherence)) return expected("Adher:<int>", i + 2);
  const adherenceValid = validity(i + 3);
  if (adherenceValid === null) return expected("a [Valid] flag after Adher", i + 3);
  const odometer = labelled(i + 4, "Odom:");
  if (Number.isNaN(odometer)) return expected("Odom:<int>", i + 4);
  const odometerValid = validity(i + 5);
  if (odometerValid === null) return expected("a [Valid] flag after Odom", i + 5);
  const dgps = tokenIs(i + 6, "DGPS:On") ? "On" : tokenIs(i + 6, "DGPS:Off") ? "Off" : null;
  if (dgps === null) return expected("DGPS:On or DGPS:Off", i + 6);
  let fom = NaN;
  if (count > i + 7) {
    fom = labelled(i + 7, "FOM:");
    if (Number.isNaN(fom)) return expected("FOM:<int>", i + 7);
    if (count > i + 8) return `unexpected "${clip(token(i + 8))}" after FOM`;
  }

  into.bytes = bytes;
  into.kind = kind;
  into.year = year;
  into.month = month;
  into.day = day;
  into.time = starts[0];
  into.vehicleFrom = starts[2];
  into.vehicleTo = ends[2];
  into.latFrom = from;
  into.latTo = slash;
  into.latPoint = latPoint;
  into.lonFrom = slash + 1;
  into.lonTo = to;
  into.lonPoint = lonPoint;
  into.locationValid = locationValid;
  into.adherence = adherence;
  into.adherenceValid = adherenceValid;
  into.odometer = odometer;
  into.odometerValid = odometerValid;
  into.dgps = dgps;
  into.fom = fom;
  into.crossingTime = crossingTime;
  into.dwell = dwell;
  crossingInto(into);
  return null;
}

// The text of a scanned report's fields, written as bytes: what the CSV rows and the records
// documents share.

/**
 * A scanned coordinate into `buffer` at `at` (room for `to - from + 1` bytes), its point in place:
 * where it ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { putCoordinate } from "./spysocket.ts";
 * const text = new TextEncoder().encode("-763413842");
 * const buffer = new Uint8Array(11);
 * assert.equal(putCoordinate(buffer, 0, text, 0, text.length, 3), 11);
 * assert.equal(new TextDecoder().decode(buffer), "-76.3413842");
 * ```
 */
export function putCoordinate(
  buffer: Uint8Array,
  at: number,
  bytes: Uint8Array,
  from: number,
  to: number,
  point: number,
): number {
  if (point < 0) return putBytes(buffer, at, bytes, from, to);
  at = putBytes(buffer, at, bytes, from, point);
  buffer[at++] = 46;
  return putBytes(buffer, at, bytes, point, to);
}

/** A scanned coordinate, its point in place. */
export function writeCoordinate(
  out: ByteWriter,
  bytes: Uint8Array,
  from: number,
  to: number,
  point: number,
): void {
  out.length = putCoordinate(out.room(to - from + 1), out.length, bytes, from, to, point);
}

/** The latitude's text. */
export function writeLat(out: ByteWriter, s: ScannedReport): void {
  writeCoordinate(out, s.bytes, s.latFrom, s.latTo, s.latPoint);
}

/** The longitude's text. */
export function writeLon(out: ByteWriter, s: ScannedReport): void {
  writeCoordinate(out, s.bytes, s.lonFrom, s.lonTo, s.lonPoint);
}

/**
 * The report's date, `YYYY-MM-DD`, into `buffer` at `at` (room for 23 bytes): where it ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newScannedReport, putDate } from "./spysocket.ts";
 * const s = { ...newScannedReport(), year: 2012, month: 2, day: 5 };
 * const buffer = new Uint8Array(10);
 * assert.equal(putDate(buffer, 0, s), 10);
 * assert.equal(new TextDecoder().decode(buffer), "2012-02-05");
 * ```
 */
export function putDate(buffer: Uint8Array, at: number, s: ScannedReport): number {
  at = putInt(buffer, at, s.year);
  buffer[at++] = 45;
  at = putTwoDigits(buffer, at, s.month);
  buffer[at++] = 45;
  return putTwoDigits(buffer, at, s.day);
}

/** `YYYY-MM-DD`. */
export function writeDate(out: ByteWriter, s: ScannedReport): void {
  out.length = putDate(out.room(23), out.length, s);
}

/** The report's `HH:MM:SS`. */
export function writeTime(out: ByteWriter, s: ScannedReport): void {
  out.copy(s.bytes, s.time, s.time + 8);
}

/** The crossing's `HH:MM:SS` (arrival and dwell reports). */
export function writeCrossingTime(out: ByteWriter, s: ScannedReport): void {
  out.copy(s.bytes, s.crossingTime, s.crossingTime + 8);
}

/** The whole vehicle token. */
export function writeVehicle(out: ByteWriter, s: ScannedReport): void {
  out.copy(s.bytes, s.vehicleFrom, s.vehicleTo);
}

/** `bytes[from, to)`, ASCII, as a string. */
function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/** A scanned coordinate's text, its point in place. */
function coordinateText(bytes: Uint8Array, from: number, to: number, point: number): string {
  return point < 0
    ? ascii(bytes, from, to)
    : ascii(bytes, from, point) + "." + ascii(bytes, point, to);
}

const orNull = (n: number) => (Number.isNaN(n) ? null : n);

/** The {@linkcode Report} of a scanned line. */
export function reportOf(s: ScannedReport): Report {
  const crossing = s.kind !== "location";
  const b = s.bytes;
  return {
    kind: s.kind,
    date: isoDate(s.year, s.month, s.day),
    time: ascii(b, s.time, s.time + 8),
    vehicle: ascii(b, s.vehicleFrom, s.vehicleTo),
    lat: coordinateText(b, s.latFrom, s.latTo, s.latPoint),
    lon: coordinateText(b, s.lonFrom, s.lonTo, s.lonPoint),
    locationValid: s.locationValid,
    adherence: s.adherence,
    adherenceValid: s.adherenceValid,
    odometer: s.odometer,
    odometerValid: s.odometerValid,
    dgps: s.dgps,
    fom: orNull(s.fom),
    crossingTime: crossing ? ascii(b, s.crossingTime, s.crossingTime + 8) : null,
    dwell: orNull(s.dwell),
    route: crossing ? s.route : null,
    direction: crossing ? s.direction : null,
    timepoint: crossing ? s.timepoint : null,
    stop: crossing ? s.stop : null,
    service: crossing ? s.service : null,
    block: crossing ? s.block : null,
  };
}

const scratch = newScannedReport();

/**
 * Parses one line (without or with its `\n` / `\r\n`) into a report, or a rejection with a reason.
 * Never throws. A blank line is rejected with the reason `blank`; callers skip those uncounted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLine, yearResolver } from "./spysocket.ts";
 * const r = parseLine("garbage", yearResolver({ year: 2012 }));
 * assert.ok(r.kind === "rejected");
 * assert.equal(r.reason, "only 1 fields");
 * ```
 */
export function parseLine(line: string, years: YearResolver): Report | Rejected {
  const bytes = new TextEncoder().encode(line);
  return parseBytes(bytes, 0, bytes.length, years);
}

/** {@linkcode parseLine} of the line `bytes[start, end)`. */
export function parseBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  years: YearResolver,
): Report | Rejected {
  const reason = scanReport(bytes, start, end, years, scratch);
  return reason === null ? reportOf(scratch) : { kind: "rejected", reason };
}

/** `YYYY-MM-DD`. */
function isoDate(year: number, month: number, day: number): string {
  return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** Keeps reasons short and printable whatever the input held. */
function clip(text: string): string {
  // deno-lint-ignore no-control-regex
  const printable = text.replace(/[\x00-\x1f\x7f-\uffff]/g, "?");
  return printable.length > 40 ? printable.slice(0, 40) + "…" : printable;
}
