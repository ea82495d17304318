/**
 * Reports as CSV (SPEC §2): the `classic` column set the downstream consumers expect, or `full`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvColumns, csvHeader } from "./csv.ts";
 * assert.equal(
 *   csvHeader("classic"),
 *   "Date,Time,Vehicle,Lat,Lon,Location Valid/Invalid,Adherence,Adherence Valid/Invalid,Route,Direction,Stop\n",
 * );
 * assert.equal(csvColumns("full").length, 21);
 * ```
 * @module
 */
import { asciiBytes, type ByteWriter, putBytes, putInt } from "../base/bytes.ts";
import { putCoordinate, putDate, type ScannedReport } from "../parse/spysocket.ts";

/** The two column sets. */
export type ColumnSet = "classic" | "full";

/** Every accepted `--columns` value. */
export const COLUMN_SETS: readonly ColumnSet[] = ["classic", "full"];

const CLASSIC = [
  "Date",
  "Time",
  "Vehicle",
  "Lat",
  "Lon",
  "Location Valid/Invalid",
  "Adherence",
  "Adherence Valid/Invalid",
  "Route",
  "Direction",
  "Stop",
];
const FULL_EXTRA = [
  "Type",
  "Odometer",
  "Odometer Valid/Invalid",
  "DGPS",
  "FOM",
  "Crossing Time",
  "Dwell",
  "Timepoint",
  "Service",
  "Block",
];

/** The column names of a column set, in order. */
export function csvColumns(columns: ColumnSet): string[] {
  return columns === "full" ? [...CLASSIC, ...FULL_EXTRA] : [...CLASSIC];
}

/** The header line of a column set, `\n`-ended (no name needs quoting; a test checks it). */
export function csvHeader(columns: ColumnSet): string {
  return csvColumns(columns).join(",") + "\n";
}

const COMMA = 44;
const V = 86, I = 73;
const KIND = {
  location: asciiBytes("location"),
  arrival: asciiBytes("arrival"),
  dwell: asciiBytes("dwell"),
};
const DGPS = { On: asciiBytes("On"), Off: asciiBytes("Off") };
// A row's bytes beyond the three fields copied from the line: dates, times, numbers, flags, commas.
const ROW_ROOM = 320;

/** `,` and a number, or only `,` for NaN, into `buffer` at `at`: where it ends. */
function putOptional(buffer: Uint8Array, at: number, n: number): number {
  buffer[at++] = COMMA;
  return Number.isNaN(n) ? at : putInt(buffer, at, n);
}

/**
 * One scanned report as a CSV line, `\n`-ended, written as bytes. No field needs quoting: the
 * scanner accepts only fields without commas, quotes or line breaks. The tests compare these rows
 * with csv-stringify's on random lines (`tests/csv_reference.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteWriter } from "../base/bytes.ts";
 * import { newScannedReport, scanReport, yearResolver } from "../parse/spysocket.ts";
 * import { writeCsvRow } from "./csv.ts";
 * const line = new TextEncoder().encode(
 *   "07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On FOM:2\n",
 * );
 * const scanned = newScannedReport();
 * assert.equal(scanReport(line, 0, line.length, yearResolver({ year: 2012 }), scanned), null);
 * const out = new ByteWriter();
 * writeCsvRow(out, scanned, "classic");
 * assert.equal(
 *   new TextDecoder().decode(out.bytes()),
 *   "2012-02-15,07:04:42,V.1.2233,37.0620935,-76.3413842,V,-1,V,,,\n",
 * );
 * ```
 */
export function writeCsvRow(out: ByteWriter, s: ScannedReport, columns: ColumnSet): void {
  // Written into the buffer directly, with one check for room: this runs once per line.
  const b = s.bytes;
  const buffer = out.room(
    ROW_ROOM + (s.vehicleTo - s.vehicleFrom) + (s.latTo - s.latFrom) + (s.lonTo - s.lonFrom),
  );
  let at = putDate(buffer, out.length, s);
  buffer[at++] = COMMA;
  at = putBytes(buffer, at, b, s.time, s.time + 8);
  buffer[at++] = COMMA;
  at = putBytes(buffer, at, b, s.vehicleFrom, s.vehicleTo);
  buffer[at++] = COMMA;
  at = putCoordinate(buffer, at, b, s.latFrom, s.latTo, s.latPoint);
  buffer[at++] = COMMA;
  at = putCoordinate(buffer, at, b, s.lonFrom, s.lonTo, s.lonPoint);
  buffer[at++] = COMMA;
  buffer[at++] = s.locationValid === "V" ? V : I;
  buffer[at++] = COMMA;
  at = putInt(buffer, at, s.adherence);
  buffer[at++] = COMMA;
  buffer[at++] = s.adherenceValid === "V" ? V : I;
  const crossing = s.kind !== "location";
  at = putOptional(buffer, at, crossing ? s.route : NaN);
  at = putOptional(buffer, at, crossing ? s.direction : NaN);
  at = putOptional(buffer, at, crossing ? s.stop : NaN);
  if (columns === "full") {
    buffer[at++] = COMMA;
    const kind = KIND[s.kind];
    at = putBytes(buffer, at, kind, 0, kind.length);
    buffer[at++] = COMMA;
    at = putInt(buffer, at, s.odometer);
    buffer[at++] = COMMA;
    buffer[at++] = s.odometerValid === "V" ? V : I;
    buffer[at++] = COMMA;
    const dgps = DGPS[s.dgps];
    at = putBytes(buffer, at, dgps, 0, dgps.length);
    at = putOptional(buffer, at, s.fom);
    buffer[at++] = COMMA;
    if (crossing) at = putBytes(buffer, at, b, s.crossingTime, s.crossingTime + 8);
    at = putOptional(buffer, at, s.dwell);
    at = putOptional(buffer, at, crossing ? s.timepoint : NaN);
    at = putOptional(buffer, at, crossing ? s.service : NaN);
    at = putOptional(buffer, at, crossing ? s.block : NaN);
  }
  buffer[at++] = 10;
  out.length = at;
}
