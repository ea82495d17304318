import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteWriter } from "../../lib/base/bytes.ts";
import { writeCsvRow } from "../../lib/format/csv.ts";
import { csvRowsReference } from "../csv_reference.ts";
import { formatCsv } from "../../lib/format/reports.ts";
import { recordDocuments } from "../../lib/sink/documents.ts";
import { spysocketFormat } from "../../lib/format/line_format.ts";
import {
  newScannedReport,
  parseBytes,
  parseLine,
  type Report,
  scanInOnePass,
  type ScannedReport,
  scanReport,
  scanReportByTokens,
  yearResolver,
} from "../../lib/parse/spysocket.ts";
import { linesOf } from "../helpers.ts";

const years = yearResolver({ year: 2024 });
const decoder = new TextDecoder();

Deno.test("property: the parser never throws, on random strings", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 400 }), (line) => {
      const r = parseLine(line, years);
      assert.ok(r.kind === "rejected" || typeof r.vehicle === "string");
    }),
    { numRuns: 5000 },
  );
});

Deno.test("property: the parser never throws, on random bytes with NULs and invalid UTF-8", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      formatCsv(bytes, 0, { columns: "full", years }, new ByteWriter(16));
      const from = a % (bytes.length + 1), to = from + b % (bytes.length - from + 1);
      parseBytes(bytes, from, to, years);
      parseLine(decoder.decode(bytes), years);
    }),
    { numRuns: 5000 },
  );
});

const two = (n: number) => String(n).padStart(2, "0");
const gap = fc.stringMatching(/^[ \t]{1,3}$/);
const clock = fc.tuple(
  fc.integer({ min: 0, max: 23 }),
  fc.integer({ min: 0, max: 59 }),
  fc.integer({ min: 0, max: 59 }),
)
  .map(([h, m, s]) => `${two(h)}:${two(m)}:${two(s)}`);
const digits = (min: number, max: number) =>
  fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));

/** A valid line and the report it must give. */
const validLine = fc.record({
  kind: fc.constantFrom("location", "arrival", "dwell"),
  time: clock,
  month: fc.integer({ min: 1, max: 12 }),
  day: fc.integer({ min: 1, max: 28 }),
  vehicle: fc.tuple(digits(1, 2), digits(1, 6)).map(([n, id]) => `V.${n}.${id}`),
  lat: fc.tuple(fc.constantFrom("", "-"), digits(3, 14)),
  lon: fc.tuple(fc.constantFrom("", "-"), digits(4, 14)),
  flags: fc.array(fc.constantFrom("[Valid]", "[Invalid]", "[X]"), { minLength: 3, maxLength: 3 }),
  ints: fc.array(fc.integer({ min: -99999, max: 99999 }), { minLength: 9, maxLength: 9 }),
  dgps: fc.constantFrom("On", "Off"),
  fom: fc.option(fc.integer({ min: 0, max: 99 })),
  crossing: clock,
  gaps: fc.array(gap, { minLength: 24, maxLength: 24 }),
  crlf: fc.boolean(),
}).map((g) => {
  let k = 0;
  const sep = () => g.gaps[k++];
  const lat = g.lat[0] + g.lat[1], lon = g.lon[0] + g.lon[1];
  const [adher, odom, dwell, rte, dir, tp, stop, svc, blk] = g.ints;
  const tokens = [g.time, `${two(g.month)}/${two(g.day)}`, g.vehicle, "H.0.0"];
  if (g.kind === "location") tokens.push("MT_LOCATION");
  else {
    tokens.push(
      "MT_TIMEPOINTCROSSING",
      `Time:${g.crossing}`,
      g.kind === "arrival" ? "Arrival" : `Dwell:${dwell}`,
    );
    tokens.push(`Rte:${rte}`, `Dir:${dir}`, `TP:${tp}`, `Stop:${stop}`, `Svc:${svc}`, `Blk:${blk}`);
  }
  tokens.push(
    `Lat/Lon:${lat}/${lon}`,
    g.flags[0],
    `Adher:${adher}`,
    g.flags[1],
    `Odom:${odom}`,
    g.flags[2],
    `DGPS:${g.dgps}`,
  );
  if (g.fom !== null) tokens.push(`FOM:${g.fom}`);
  const line = tokens.map((t) => t + sep()).join("").trimEnd() + (g.crlf ? "\r" : "");
  const crossing = g.kind !== "location";
  const expected: Report = {
    kind: g.kind as Report["kind"],
    date: `2024-${two(g.month)}-${two(g.day)}`,
    time: g.time,
    vehicle: g.vehicle,
    lat: lat.slice(0, 2) + "." + lat.slice(2),
    lon: lon.slice(0, 3) + "." + lon.slice(3),
    locationValid: g.flags[0] === "[Valid]" ? "V" : "I",
    adherence: adher,
    adherenceValid: g.flags[1] === "[Valid]" ? "V" : "I",
    odometer: odom,
    odometerValid: g.flags[2] === "[Valid]" ? "V" : "I",
    dgps: g.dgps as "On" | "Off",
    fom: g.fom,
    crossingTime: crossing ? g.crossing : null,
    dwell: g.kind === "dwell" ? dwell : null,
    route: crossing ? rte : null,
    direction: crossing ? dir : null,
    timepoint: crossing ? tp : null,
    stop: crossing ? stop : null,
    service: crossing ? svc : null,
    block: crossing ? blk : null,
  };
  return { line, expected };
});

Deno.test("property: every valid line round-trips to the report it was made from", () => {
  fc.assert(
    fc.property(validLine, ({ line, expected }) => {
      assert.deepEqual(parseLine(line, years), expected);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("property: a valid line with one token corrupted is rejected, not thrown", () => {
  fc.assert(
    fc.property(
      validLine,
      fc.nat(),
      fc.constantFrom("", "?", "x1", "Lat/Lon:", "[Valid]"),
      ({ line }, at, junk) => {
        const tokens = line.trim().split(/[ \t]+/);
        const i = at % tokens.length;
        if (i === 3) return; // H.0.0 is ignored
        if (junk === "" && tokens[i].startsWith("FOM:")) return; // FOM: is optional
        tokens[i] = junk;
        const r = parseLine(tokens.join(" "), years);
        if (r.kind !== "rejected" && junk !== "[Valid]") {
          // the only harmless corruption is a validity flag replaced by another flag
          assert.fail(`accepted: ${tokens.join(" ")}`);
        }
      },
    ),
    { numRuns: 3000 },
  );
});

/** A scanned report's fields, without the bytes they point into. */
const fieldsOf = (s: ScannedReport) => ({ ...s, bytes: null });

/**
 * A run of bytes deleted, inserted or replaced, by bytes that lines are made of; or a blank and a
 * run inserted, a token more.
 */
const edit = fc.tuple(
  fc.nat(),
  fc.integer({ min: 1, max: 16 }),
  fc.constantFrom("delete", "insert", "replace", "token"),
  fc.constantFrom(..." \t\r\n-./0179[]:VxIMT_LD"),
).map(([at, run, kind, c]) => (line: string) => {
  const i = at % (line.length + 1);
  const keep = kind === "insert" || kind === "token" ? i : i + run;
  const added = kind === "delete" ? "" : kind === "token" ? " " + c.repeat(run) : c.repeat(run);
  return line.slice(0, i) + added + line.slice(keep);
});

/** A valid line with one or two edits. */
const editedLine = fc.tuple(validLine, fc.array(edit, { minLength: 1, maxLength: 2 }))
  .map(([{ line }, edits]) => edits.reduce((text, apply) => apply(text), line));

Deno.test("property: the one pass accepts every valid line, with the fields of the token scanner", () => {
  fc.assert(
    fc.property(validLine, ({ line }) => {
      const bytes = new TextEncoder().encode(line + "\nthe next line\n");
      const end = line.length + 1;
      const fast = newScannedReport(), reference = newScannedReport();
      assert.equal(scanInOnePass(bytes, 0, bytes.length, years, fast), end, line);
      assert.equal(scanReportByTokens(bytes, 0, end, years, reference), null);
      assert.deepEqual(fieldsOf(fast), fieldsOf(reference));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("property: what the one pass accepts of an edited line, the token scanner accepts alike", () => {
  fc.assert(
    fc.property(editedLine, fc.boolean(), (line, terminated) => {
      const bytes = new TextEncoder().encode(line + (terminated ? "\n07:04:42 02/15\n" : ""));
      const fast = newScannedReport(), reference = newScannedReport();
      const next = scanInOnePass(bytes, 0, bytes.length, years, fast);
      if (next < 0) return;
      const newline = bytes.indexOf(10);
      assert.equal(next, newline < 0 ? bytes.length : newline + 1, "the line's end");
      assert.equal(scanReportByTokens(bytes, 0, next, years, reference), null, line);
      assert.deepEqual(fieldsOf(fast), fieldsOf(reference), line);
    }),
    { numRuns: 50000 },
  );
});

Deno.test("property: rows written from scanned lines equal csv-stringify's", () => {
  const scanned = newScannedReport();
  fc.assert(
    fc.property(validLine, fc.constantFrom("classic", "full" as const), ({ line }, columns) => {
      const bytes = new TextEncoder().encode(line);
      assert.equal(scanReport(bytes, 0, bytes.length, years, scanned), null);
      const out = new ByteWriter(8);
      writeCsvRow(out, scanned, columns);
      const report = parseLine(line, years) as Report;
      assert.equal(decoder.decode(out.bytes()), csvRowsReference([report], columns));
    }),
    { numRuns: 3000 },
  );
});

/** Valid lines and junk, with the separators and line ends that logs hold. */
const someLines = fc.array(
  fc.oneof(
    validLine.map((v) => v.line),
    fc.string({ unit: fc.constantFrom(" ", "\t", "x", ":", "/", "1", "\r", "é"), maxLength: 60 }),
  ),
  { maxLength: 12 },
);

Deno.test("property: a chunk of lines gives the CSV rows and the rejections of each line alone", () => {
  fc.assert(
    fc.property(someLines, fc.constantFrom("classic", "full" as const), (lines, columns) => {
      const bytes = new TextEncoder().encode(lines.map((l) => l + "\n").join(""));
      const out = new ByteWriter(8);
      const formatted = formatCsv(bytes, 1000, { columns, years }, out);
      const alone = linesOf(bytes).map((l) => ({ ...l, report: parseLine(l.text, years) }));
      const reports = alone.flatMap((l) => l.report.kind === "rejected" ? [] : [l.report]);
      assert.equal(decoder.decode(out.bytes()), csvRowsReference(reports, columns));
      assert.equal(formatted.rows, reports.length);
      const rejected = alone.filter((l) =>
        l.report.kind === "rejected" && l.report.reason !== "blank"
      );
      assert.deepEqual(
        formatted.rejected.map((r) => ({ offset: r.offset, raw: decoder.decode(r.raw) })),
        rejected.map((l) => ({ offset: 1000 + l.start, raw: l.text.replace(/\r$/, "") })),
      );
    }),
    { numRuns: 2000 },
  );
});

/** The records-mode document of a line as SPEC §3 describes it (null for a blank line). */
function expectedDocument(line: string, offset: number, end: number): unknown {
  const envelope = {
    _id: `rec:s:3:${String(offset).padStart(16, "0")}`,
    line_offset: offset,
    line_end: end,
    source: "s",
    generation: 3,
    batch_start: 1000,
  };
  const report = parseLine(line, years);
  if (report.kind === "rejected") {
    return report.reason === "blank"
      ? null
      : { ...envelope, doc_type: "Rejected", reason: report.reason, raw: line.replace(/\r$/, "") };
  }
  // A member with no value is left out (SPEC §3): a location report has no crossing members.
  const present = Object.fromEntries(Object.entries(report).filter(([, value]) => value !== null));
  return {
    ...envelope,
    doc_type: "Report",
    ...present,
    lat: Number(report.lat),
    lon: Number(report.lon),
    lat_text: report.lat,
    lon_text: report.lon,
  };
}

Deno.test("property: records-mode documents, written as bytes, are the JSON of each report", () => {
  fc.assert(
    fc.property(someLines, (lines) => {
      const bytes = new TextEncoder().encode(lines.map((l) => l + "\n").join(""));
      const file = { dev: 1, ino: 2, head: "x", headLength: 1 };
      const docs = recordDocuments({
        source: { id: "s", host: "h", path: "/p", file },
        generation: 3,
        start: 1000,
        end: 1000 + bytes.length,
        data: bytes,
        oversized: null,
        readAt: new Date(),
      }, spysocketFormat({ columns: "classic", year: 2024 }));
      const written = JSON.parse(decoder.decode(docs.body)).docs;
      const expected = linesOf(bytes)
        .map(({ start, text }, i, all) =>
          expectedDocument(text, 1000 + start, 1000 + (all[i + 1]?.start ?? bytes.length))
        )
        .filter((doc) => doc !== null);
      assert.deepEqual(written, expected);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("coordinates with redundant zeros are written as JSON numbers of the same value", () => {
  const line = (latLon: string) =>
    `07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:${latLon} [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On`;
  for (
    const [latLon, lat, lon] of [
      ["000/-0000", 0, -0],
      ["0512345678/-0763413842", 5.12345678, -7.63413842],
      ["00.5/-000.25", 0.5, -0.25],
    ] as const
  ) {
    const bytes = new TextEncoder().encode(line(latLon) + "\n");
    const docs = recordDocuments({
      source: {
        id: "s",
        host: "h",
        path: "/p",
        file: { dev: 1, ino: 2, head: "x", headLength: 1 },
      },
      generation: 0,
      start: 0,
      end: bytes.length,
      data: bytes,
      oversized: null,
      readAt: new Date(),
    }, spysocketFormat({ columns: "classic", year: 2024 }));
    const [doc] = JSON.parse(decoder.decode(docs.body)).docs;
    assert.ok(
      Object.is(doc.lat, lat) && Object.is(doc.lon, lon),
      `${latLon}: ${doc.lat} ${doc.lon}`,
    );
  }
});
