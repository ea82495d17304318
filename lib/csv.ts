/**
 * Reports as CSV (SPEC §2): the `classic` column set the downstream consumers expect, or `full`.
 *
 * @example
 * ```ts
 * import { csvHeader } from "./csv.ts";
 * let text = csvHeader("classic");
 * // text === "Date,Time,Vehicle,Lat,Lon,Location Valid/Invalid,Adherence,Adherence Valid/Invalid,Route,Direction,Stop\n"
 * ```
 * @module
 */
import { stringify } from "csv-stringify/sync";
import type { ByteWriter } from "./bytes.ts";
import {
  type Report,
  type ScannedReport,
  writeCrossingTime,
  writeDate,
  writeLat,
  writeLon,
  writeTime,
  writeVehicle,
} from "./spysocket.ts";

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

const CSV_OPTIONS = { record_delimiter: "unix", eof: true } as const;

/** The column names of a column set, in order. */
export function csvColumns(columns: ColumnSet): string[] {
  return columns === "full" ? [...CLASSIC, ...FULL_EXTRA] : [...CLASSIC];
}

/** The header line of a column set, `\n`-ended. */
export function csvHeader(columns: ColumnSet): string {
  return stringify([csvColumns(columns)], CSV_OPTIONS);
}

/** The values of one report, in the column order of the set; `null` becomes an empty field. */
export function csvValues(report: Report, columns: ColumnSet): (string | number | null)[] {
  const values: (string | number | null)[] = [
    report.date,
    report.time,
    report.vehicle,
    report.lat,
    report.lon,
    report.locationValid,
    report.adherence,
    report.adherenceValid,
    report.route,
    report.direction,
    report.stop,
  ];
  if (columns === "full") {
    values.push(
      report.kind,
      report.odometer,
      report.odometerValid,
      report.dgps,
      report.fom,
      report.crossingTime,
      report.dwell,
      report.timepoint,
      report.service,
      report.block,
    );
  }
  return values;
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
 * with csv-stringify's ({@linkcode csvRowsReference}) on random lines.
 *
 * @example
 * ```ts
 * writeCsvRow(out, scanned, "classic"); // 2012-02-15,07:04:42,V.1.2233,37.0620935,-76.3413842,V,-1,V,,,\n
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

/** Reports as CSV text through csv-stringify alone: the reference the written rows must equal. */
export function csvRowsReference(reports: Report[], columns: ColumnSet): string {
  return stringify(reports.map((r) => csvValues(r, columns)), CSV_OPTIONS);
}
