/**
 * The CSV of SPEC §2 made by csv-stringify from parsed reports: the oracle that the rows capture
 * writes as bytes are compared with. Kept with the tests, so that csv-stringify is no part of the
 * programs.
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { type ColumnSet, csvColumns } from "../lib/format/csv.ts";
import type { Report } from "../lib/parse/spysocket.ts";

const CSV_OPTIONS = { record_delimiter: "unix", eof: true } as const;

/** The header line of a column set, as csv-stringify writes it. */
export function csvHeaderReference(columns: ColumnSet): string {
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

/** Reports as CSV text through csv-stringify alone: the reference the written rows must equal. */
export function csvRowsReference(reports: Report[], columns: ColumnSet): string {
  return stringify(reports.map((r) => csvValues(r, columns)), CSV_OPTIONS);
}
