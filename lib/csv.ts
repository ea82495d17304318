/**
 * Reports as CSV (SPEC §2): the `classic` column set the downstream consumers expect, or `full`.
 *
 * @example
 * ```ts
 * import { csvHeader, csvRow } from "./csv.ts";
 * let text = csvHeader("classic");
 * // text === "Date,Time,Vehicle,Lat,Lon,Location Valid/Invalid,Adherence,Adherence Valid/Invalid,Route,Direction,Stop\n"
 * ```
 * @module
 */
import { stringify } from "csv-stringify/sync";
import type { Report } from "./spysocket.ts";

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

/** True when a field needs no RFC 4180 quoting: no comma, quote or line break. */
function plain(text: string | null): boolean {
  if (text === null) return true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 44 || c === 34 || c === 10 || c === 13) return false;
  }
  return true;
}

const field = (v: number | null) => (v === null ? "" : v);

/**
 * One report as a CSV line, `\n`-ended. The parser only accepts fields without commas, quotes or
 * line breaks, so rows are joined directly; a report with a field that would need quoting goes
 * through csv-stringify, whose output the tests compare against this one on random reports.
 *
 * @example
 * ```ts
 * csvRow(report, "classic"); // "2012-02-15,07:04:42,V.1.2233,37.0620935,-76.3413842,V,-1,V,,,\n"
 * ```
 */
export function csvRow(r: Report, columns: ColumnSet): string {
  if (
    !plain(r.date) || !plain(r.time) || !plain(r.vehicle) || !plain(r.lat) || !plain(r.lon) ||
    !plain(r.locationValid) || !plain(r.adherenceValid) ||
    (columns === "full" &&
      (!plain(r.kind) || !plain(r.odometerValid) || !plain(r.dgps) || !plain(r.crossingTime)))
  ) {
    return stringify([csvValues(r, columns)], CSV_OPTIONS);
  }
  return csvRowOfParsed(r, columns);
}

/**
 * {@linkcode csvRow} without the quoting check, for reports straight from `parseLine`: it accepts
 * only fields without commas, quotes or line breaks. The hot loop of formatting uses it; the tests
 * compare it with csv-stringify on random valid lines.
 */
export function csvRowOfParsed(r: Report, columns: ColumnSet): string {
  const classic =
    `${r.date},${r.time},${r.vehicle},${r.lat},${r.lon},${r.locationValid},${r.adherence},${r.adherenceValid},${
      field(r.route)
    },${field(r.direction)},${field(r.stop)}`;
  if (columns !== "full") return classic + "\n";
  return `${classic},${r.kind},${r.odometer},${r.odometerValid},${r.dgps},${field(r.fom)},${
    r.crossingTime ?? ""
  },${field(r.dwell)},${field(r.timepoint)},${field(r.service)},${field(r.block)}\n`;
}

/** Reports as CSV text through csv-stringify alone: the reference the fast path must equal. */
export function csvRowsReference(reports: Report[], columns: ColumnSet): string {
  return stringify(reports.map((r) => csvValues(r, columns)), CSV_OPTIONS);
}
