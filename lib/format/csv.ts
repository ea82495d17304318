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
import type { ByteWriter } from "../base/bytes.ts";
import {
  type ScannedReport,
  writeCrossingTime,
  writeDate,
  writeLat,
  writeLon,
  writeTime,
  writeVehicle,
} from "../parse/spysocket.ts";

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

/** A number, or an empty field for NaN. */
function optional(out: ByteWriter, n: number): void {
  out.byte(COMMA);
  if (!Number.isNaN(n)) out.int(n);
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
  const crossing = s.kind !== "location";
  writeDate(out, s);
  out.byte(COMMA);
  writeTime(out, s);
  out.byte(COMMA);
  writeVehicle(out, s);
  out.byte(COMMA);
  writeLat(out, s);
  out.byte(COMMA);
  writeLon(out, s);
  out.byte(COMMA);
  out.ascii(s.locationValid);
  out.byte(COMMA);
  out.int(s.adherence);
  out.byte(COMMA);
  out.ascii(s.adherenceValid);
  optional(out, crossing ? s.route : NaN);
  optional(out, crossing ? s.direction : NaN);
  optional(out, crossing ? s.stop : NaN);
  if (columns === "full") {
    out.byte(COMMA);
    out.ascii(s.kind);
    out.byte(COMMA);
    out.int(s.odometer);
    out.byte(COMMA);
    out.ascii(s.odometerValid);
    out.byte(COMMA);
    out.ascii(s.dgps);
    optional(out, s.fom);
    out.byte(COMMA);
    if (crossing) writeCrossingTime(out, s);
    optional(out, s.dwell);
    optional(out, crossing ? s.timepoint : NaN);
    optional(out, crossing ? s.service : NaN);
    optional(out, crossing ? s.block : NaN);
  }
  out.byte(10);
}
