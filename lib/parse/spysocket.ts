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
import type { ByteWriter } from "../base/bytes.ts";

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

/** Two digits at position `at` of the line, as a number, or -1. */
function twoDigits(at: number): number {
  const a = line[at] - 48, b = line[at + 1] - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** `HH:MM:SS` at position `at`. */
function isClockTime(at: number): boolean {
  if (line[at + 2] !== 58 || line[at + 5] !== 58) return false;
  const h = twoDigits(at), m = twoDigits(at + 3), s = twoDigits(at + 6);
  return h >= 0 && h <= 23 && m >= 0 && m <= 59 && s >= 0 && s <= 59;
}

/**
 * `-?digits(.digits)?` between two positions, the shape of a latitude or longitude: where its
 * point is (-1: none), or -2 when it has not that shape.
 */
function decimalPoint(from: number, to: number): number {
  let i = line[from] === 45 ? from + 1 : from;
  let digits = 0, dot = -1;
  for (; i < to; i++) {
    const c = line[i];
    if (isDigit(c)) digits++;
    else if (c === 46 && dot < 0 && digits > 0) dot = i;
    else return -2;
  }
  return digits > 0 && dot !== to - 1 ? dot : -2;
}

/**
 * Positional scaling (SPEC §1.1): a point after the first `width` characters, unless one is there.
 * Where that point goes (-1: the text has its own), or -2 when it is no coordinate.
 */
function coordinate(from: number, to: number, width: number): number {
  if (to - from <= width) return -2;
  const dot = decimalPoint(from, to);
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
  if (!tokenize(bytes, start, end)) return "too many fields";
  if (count === 0) return "blank";
  if (count < 5) return `only ${count} fields`;
  if (tokenLength(0) !== 8 || !isClockTime(starts[0])) return expected("HH:MM:SS", 0);
  const d = starts[1];
  const month = tokenLength(1) === 5 && line[d + 2] === 47 ? twoDigits(d) : -1;
  const day = month >= 0 ? twoDigits(d + 3) : -1;
  if (day < 0) return expected("MM/DD", 1);
  const year = years(month, day);
  if (year === null) return `no such date "${clip(token(1))}"`;
  if (!isVehicle(2)) return expected("V.<n>.<id>", 2);

  let i = 5;
  let kind: ReportKind = "location";
  let crossingTime = -1, dwell = NaN;
  const isCrossing = tokenIs(4, "MT_TIMEPOINTCROSSING");
  if (isCrossing) {
    if (tokenLength(5) !== 13 || !tokenStarts(5, "Time:") || !isClockTime(starts[5] + 5)) {
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
  const latPoint = slash > 0 && slash < to ? coordinate(from, slash, 2) : -2;
  const lonPoint = latPoint !== -2 ? coordinate(slash + 1, to, 3) : -2;
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
  into.route = crossing[0];
  into.direction = crossing[1];
  into.timepoint = crossing[2];
  into.stop = crossing[3];
  into.service = crossing[4];
  into.block = crossing[5];
  return null;
}

// The text of a scanned report's fields, written as bytes: what the CSV rows and the records
// documents share.

/** A scanned coordinate, its point in place. */
export function writeCoordinate(
  out: ByteWriter,
  bytes: Uint8Array,
  from: number,
  to: number,
  point: number,
): void {
  if (point < 0) out.copy(bytes, from, to);
  else {
    out.copy(bytes, from, point);
    out.byte(46);
    out.copy(bytes, point, to);
  }
}

/** The latitude's text. */
export function writeLat(out: ByteWriter, s: ScannedReport): void {
  writeCoordinate(out, s.bytes, s.latFrom, s.latTo, s.latPoint);
}

/** The longitude's text. */
export function writeLon(out: ByteWriter, s: ScannedReport): void {
  writeCoordinate(out, s.bytes, s.lonFrom, s.lonTo, s.lonPoint);
}

/** `YYYY-MM-DD`. */
export function writeDate(out: ByteWriter, s: ScannedReport): void {
  out.int(s.year);
  out.byte(45);
  out.twoDigits(s.month);
  out.byte(45);
  out.twoDigits(s.day);
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
