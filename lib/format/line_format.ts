/**
 * The seam between the log's line format and the store: a {@linkcode LineFormat} turns whole lines
 * into CSV rows (feed mode) or into the members of one document per line (records mode). The store
 * is given one and knows nothing of spysocket reports; another input format is another
 * `LineFormat` (with its parser), and the store does not change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteWriter } from "../base/bytes.ts";
 * import { spysocketFormat } from "./line_format.ts";
 * const format = spysocketFormat({ columns: "classic", year: 2012 });
 * const data = new TextEncoder().encode(
 *   "07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On FOM:2\nnot a report\n",
 * );
 * const out = new ByteWriter();
 * const { rows, rejected } = format.csvRows({ data, start: 0, readAt: new Date(), oversized: null }, out);
 * assert.equal(rows, 1);
 * assert.deepEqual(rejected.map((line) => line.offset), [128]); // the second line
 * assert.equal(
 *   new TextDecoder().decode(out.bytes()),
 *   "Date,Time,Vehicle,Lat,Lon,Location Valid/Invalid,Adherence,Adherence Valid/Invalid,Route,Direction,Stop\n" +
 *     "2012-02-15,07:04:42,V.1.2233,37.0620935,-76.3413842,V,-1,V,,,\n",
 * );
 * ```
 * @module
 */
import type { ByteWriter } from "../base/bytes.ts";
import { yearResolver } from "../parse/spysocket.ts";
import type { OversizedLine } from "../source/lines.ts";
import { type ColumnSet, csvHeader } from "./csv.ts";
import {
  formatCsv,
  type FormattedCsv,
  oversizedRejection,
  type RejectedLine,
  writeRecords,
  writeRejectedMembers,
} from "./reports.ts";

/** Whole lines read from a file: what a batch gives its format. */
export interface LinesRead {
  /** The lines, each `\n`-ended but perhaps the unterminated last line of a finished file. */
  data: Uint8Array;
  /** The file offset of `data`'s first byte. */
  start: number;
  /** When they were read: the year of a report's date is inferred from it, unless fixed. */
  readAt: Date;
  /** A line longer than the limit, instead of `data`: it is rejected. */
  oversized: OversizedLine | null;
}

/**
 * Called for each line of a records batch before its members are written: its offset, where the
 * next line starts, and the line itself when it is rejected. It writes the document's opening.
 */
export type RecordBegin = (offset: number, end: number, rejected: RejectedLine | null) => void;

/** A log's line format, as the store uses it. */
export interface LineFormat {
  /** The CSV of `lines`, its header first, written to `out`: how many rows, and what was rejected. */
  csvRows(lines: LinesRead, out: ByteWriter): FormattedCsv;
  /** One document per line of `lines`, written to `out`: `begin`, the line's members, then `}`. */
  records(lines: LinesRead, out: ByteWriter, begin: RecordBegin): void;
}

/** How spysocket lines are formatted. */
export interface SpysocketFormatOptions {
  /** The CSV columns (feed mode). */
  columns: ColumnSet;
  /** A fixed year for every report; otherwise inferred from when the lines were read. */
  year?: number;
}

/** The spysocket line format of SPEC §1 and §2; see the module example. */
export function spysocketFormat(options: SpysocketFormatOptions): LineFormat {
  const header = csvHeader(options.columns);
  const years = (lines: LinesRead) =>
    yearResolver(options.year ? { year: options.year } : { reference: lines.readAt });
  return {
    csvRows(lines, out) {
      out.ascii(header);
      if (lines.oversized) return { rows: 0, rejected: [oversizedRejection(lines.oversized)] };
      return formatCsv(
        lines.data,
        lines.start,
        { columns: options.columns, years: years(lines) },
        out,
      );
    },
    records(lines, out, begin) {
      if (!lines.oversized) return writeRecords(lines.data, lines.start, years(lines), out, begin);
      const line = oversizedRejection(lines.oversized);
      begin(line.offset, line.offset + lines.oversized.length, line);
      writeRejectedMembers(out, line);
      out.byte(125);
    },
  };
}
