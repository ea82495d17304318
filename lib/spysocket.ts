/**
 * Parsing of spysocket log lines (SPEC §1): one line in, one typed report or one rejection out.
 *
 * The parser never throws: any input, including binary garbage, gives either a {@linkcode Report}
 * or a {@linkcode Rejected} with a reason that names the offending token.
 *
 * @example
 * ```ts
 * import { parseLine, yearResolver } from "./spysocket.ts";
 * const years = yearResolver({ year: 2012 });
 * const r = parseLine("07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On FOM:2", years);
 * // r.kind === "location", r.lat === "37.0620935", r.date === "2012-02-15"
 * ```
 * @module
 */

/** `V` for `[Valid]`, `I` for any other bracketed flag. */
export type Validity = "V" | "I";

/** The three kinds of report a spysocket line carries. */
export type ReportKind = "location" | "arrival" | "dwell";

/** One parsed spysocket line. Crossing fields are `null` for a location report. */
export interface Report {
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
  locationValid: Validity;
  adherence: number;
  adherenceValid: Validity;
  odometer: number;
  odometerValid: Validity;
  dgps: "On" | "Off";
  /** `null` when the optional `FOM:` field is absent. */
  fom: number | null;
  /** Actual crossing time, `HH:MM:SS`. */
  crossingTime: string | null;
  /** Dwell seconds, for a dwell crossing. */
  dwell: number | null;
  route: number | null;
  direction: number | null;
  timepoint: number | null;
  stop: number | null;
  service: number | null;
  block: number | null;
}

/** A line that is not a valid report, with the reason why. */
export interface Rejected {
  kind: "rejected";
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
 * const years = yearResolver({ reference: new Date(2027, 0, 1) });
 * years(12, 31); // 2026
 * years(1, 2); // 2027 (one day of clock skew)
 * years(2, 29); // null: 2026 is not a leap year
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

// The hot loop avoids regexes and substrings: tokens are kept as positions in the line, in two
// arrays reused across calls, and only the fields a report keeps become strings.
const MAX_TOKENS = 40;
const starts = new Int32Array(MAX_TOKENS);
const ends = new Int32Array(MAX_TOKENS);
let text = "";
let count = 0;

// Where the next tab of `text` is (Infinity: none further on). Found once per chunk, not per line:
// tabs are rare, and without one a token ends at the next space, which indexOf finds fastest.
let tabText = "";
let nextTab = Infinity;

/**
 * Splits `line[from, to)` on runs of spaces or tabs; false when it has far more tokens than any
 * report. Working on a range of the decoded chunk, not on a slice, keeps the string flat and fast.
 */
function tokenize(line: string, from: number, to: number): boolean {
  text = line;
  count = 0;
  let end = to;
  if (end > from && line.charCodeAt(end - 1) === 10) end--;
  if (end > from && line.charCodeAt(end - 1) === 13) end--;
  if (line !== tabText || nextTab < from) {
    tabText = line;
    nextTab = line.indexOf("\t", from);
    if (nextTab < 0) nextTab = Infinity;
  }
  let i = from;
  while (i < end) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (count >= MAX_TOKENS) return false;
    starts[count] = i;
    let stop = line.indexOf(" ", i);
    if (stop < 0 || stop > end) stop = end;
    if (nextTab < i) {
      nextTab = line.indexOf("\t", i);
      if (nextTab < 0) nextTab = Infinity;
    }
    if (nextTab < stop) stop = nextTab;
    ends[count++] = stop;
    i = stop + 1;
  }
  return true;
}

function token(i: number): string {
  return i < count ? text.slice(starts[i], ends[i]) : "";
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
  return text.startsWith(word, at);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Token `i` after `skip` characters as `-?[0-9]+`, or NaN. */
function integerAt(i: number, skip: number): number {
  if (i >= count) return NaN;
  let p = starts[i] + skip;
  const end = ends[i];
  const negative = p < end && text.charCodeAt(p) === 45;
  if (negative) p++;
  if (p >= end || end - p > 15) return NaN;
  let value = 0;
  for (; p < end; p++) {
    const d = text.charCodeAt(p) - 48;
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
  const a = text.charCodeAt(at) - 48, b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** `HH:MM:SS` at position `at`. */
function isClockTime(at: number): boolean {
  if (text.charCodeAt(at + 2) !== 58 || text.charCodeAt(at + 5) !== 58) return false;
  const h = twoDigits(at), m = twoDigits(at + 3), s = twoDigits(at + 6);
  return h >= 0 && h <= 23 && m >= 0 && m <= 59 && s >= 0 && s <= 59;
}

/** `-?digits(.digits)?` between two positions: the shape of a latitude or longitude. */
function isDecimal(from: number, to: number): boolean {
  let i = text.charCodeAt(from) === 45 ? from + 1 : from;
  let digits = 0, dot = -1;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (c === 46 && dot < 0 && digits > 0) dot = i;
    else return false;
  }
  return digits > 0 && dot !== to - 1;
}

/** Positional scaling (SPEC §1.1): a point after the first `width` characters, unless one is there. */
function coordinate(from: number, to: number, width: number): string | null {
  if (to - from <= width || !isDecimal(from, to)) return null;
  const point = text.indexOf(".", from);
  return point >= 0 && point < to
    ? text.slice(from, to)
    : text.slice(from, from + width) + "." + text.slice(from + width, to);
}

function validity(i: number): Validity | null {
  if (i >= count) return null;
  if (tokenIs(i, "[Valid]")) return "V";
  return tokenLength(i) >= 2 && text.charCodeAt(starts[i]) === 91 &&
      text.charCodeAt(ends[i] - 1) === 93
    ? "I"
    : null;
}

/** `V.<n>.<id>`, digits both. */
function isVehicle(i: number): boolean {
  const from = starts[i], to = ends[i];
  if (to - from < 5 || text.charCodeAt(from) !== 86 || text.charCodeAt(from + 1) !== 46) {
    return false;
  }
  let dot = -1;
  for (let p = from + 2; p < to; p++) {
    const c = text.charCodeAt(p);
    if (c === 46 && dot < 0 && p > from + 2 && p < to - 1) dot = p;
    else if (!isDigit(c)) return false;
  }
  return dot > 0;
}

function reject(reason: string): Rejected {
  return { kind: "rejected", reason };
}

function expected(what: string, i: number): Rejected {
  return reject(`expected ${what}, got "${clip(token(i))}"`);
}

const CROSSING_LABELS = ["Rte:", "Dir:", "TP:", "Stop:", "Svc:", "Blk:"];
const crossing = [0, 0, 0, 0, 0, 0];

/**
 * Parses one line (without or with its `\n` / `\r\n`) into a report, or a rejection with a reason.
 * Never throws. A blank line is rejected with the reason `blank`; callers skip those uncounted.
 *
 * @example
 * ```ts
 * const r = parseLine("garbage", yearResolver({ year: 2012 }));
 * // r.kind === "rejected"
 * ```
 */
export function parseLine(line: string, years: YearResolver): Report | Rejected {
  return parseLineAt(line, 0, line.length, years);
}

/** {@linkcode parseLine} of `text[start, end)`: one line inside a larger decoded chunk. */
export function parseLineAt(
  text: string,
  start: number,
  end: number,
  years: YearResolver,
): Report | Rejected {
  if (!tokenize(text, start, end)) return reject("too many fields");
  if (count === 0) return reject("blank");
  if (count < 5) return reject(`only ${count} fields`);
  if (tokenLength(0) !== 8 || !isClockTime(starts[0])) return expected("HH:MM:SS", 0);
  const d = starts[1];
  const month = tokenLength(1) === 5 && text.charCodeAt(d + 2) === 47 ? twoDigits(d) : -1;
  const day = month >= 0 ? twoDigits(d + 3) : -1;
  if (day < 0) return expected("MM/DD", 1);
  const year = years(month, day);
  if (year === null) return reject(`no such date "${token(1)}"`);
  if (!isVehicle(2)) return expected("V.<n>.<id>", 2);

  let i = 5;
  let kind: ReportKind = "location";
  let crossingTime: string | null = null, dwell: number | null = null;
  const isCrossing = tokenIs(4, "MT_TIMEPOINTCROSSING");
  if (isCrossing) {
    if (tokenLength(5) !== 13 || !tokenStarts(5, "Time:") || !isClockTime(starts[5] + 5)) {
      return expected("Time:HH:MM:SS", 5);
    }
    crossingTime = text.slice(starts[5] + 5, ends[5]);
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
  } else if (!tokenIs(4, "MT_LOCATION")) return reject(`unknown record type "${clip(token(4))}"`);

  // The location group: Lat/Lon, Adher and Odom with their flags, DGPS, an optional FOM.
  if (!tokenStarts(i, "Lat/Lon:")) return expected("Lat/Lon:<lat>/<lon>", i);
  const from = starts[i] + 8, to = ends[i];
  const slash = text.indexOf("/", from + 1);
  const lat = slash > 0 && slash < to ? coordinate(from, slash, 2) : null;
  const lon = lat !== null ? coordinate(slash + 1, to, 3) : null;
  if (lat === null || lon === null) return expected("Lat/Lon:<lat>/<lon>", i);
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
  let fom: number | null = null;
  if (count > i + 7) {
    fom = labelled(i + 7, "FOM:");
    if (Number.isNaN(fom)) return expected("FOM:<int>", i + 7);
    if (count > i + 8) return reject(`unexpected "${clip(token(i + 8))}" after FOM`);
  }

  return {
    kind,
    date: isoDate(year, month, day),
    time: text.slice(starts[0], ends[0]),
    vehicle: token(2),
    lat,
    lon,
    locationValid,
    adherence,
    adherenceValid,
    odometer,
    odometerValid,
    dgps,
    fom,
    crossingTime,
    dwell,
    route: isCrossing ? crossing[0] : null,
    direction: isCrossing ? crossing[1] : null,
    timepoint: isCrossing ? crossing[2] : null,
    stop: isCrossing ? crossing[3] : null,
    service: isCrossing ? crossing[4] : null,
    block: isCrossing ? crossing[5] : null,
  };
}

// The dates of one run of lines are few: each is made once, not once per line.
const dates = new Map<number, string>();

let lastDateKey = 0;
let lastDate = "";

function isoDate(year: number, month: number, day: number): string {
  const key = year * 10000 + month * 100 + day;
  if (key === lastDateKey) return lastDate;
  lastDateKey = key;
  let date = dates.get(key);
  if (date === undefined) {
    if (dates.size > 1000) dates.clear();
    date = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
    dates.set(key, date);
  }
  lastDate = date;
  return date;
}

/** Keeps reasons short and printable whatever the input held. */
function clip(text: string): string {
  // deno-lint-ignore no-control-regex
  const printable = text.replace(/[\x00-\x1f\x7f-\uffff]/g, "?");
  return printable.length > 40 ? printable.slice(0, 40) + "…" : printable;
}
