import assert from "node:assert/strict";
import { parseLine, type Report, yearResolver } from "../../lib/parse/spysocket.ts";

const Y2012 = yearResolver({ year: 2012 });
const LOCATION =
  "07:04:42 02/15  V.1.2233  H.0.0  MT_LOCATION    Lat/Lon:370620935/-763413842 [Valid]  Adher:-1 [Valid]  Odom:2668 [Valid]  DGPS:On  FOM:2";
const ARRIVAL =
  "07:04:42 02/15  V.1.2236  H.0.0  MT_TIMEPOINTCROSSING   Time:07:04:36  Arrival  Rte:4  Dir:2  TP:329  Stop:45  Svc:1  Blk:221  Lat/Lon:370315618/-763461352 [Valid]  Adher:2 [Valid]  Odom:1924 [Valid]  DGPS:On  FOM:2";
const DWELL =
  "07:04:42 02/15  V.1.3515  H.0.0  MT_TIMEPOINTCROSSING   Time:07:04:37  Dwell:22  Rte:65  Dir:2  TP:352  Stop:69  Svc:1  Blk:203  Lat/Lon:370425333/-764286136 [Valid]  Adher:-1 [Valid]  Odom:1712 [Valid]  DGPS:On  FOM:2";

function report(line: string, years = Y2012): Report {
  const r = parseLine(line, years);
  assert.notEqual(r.kind, "rejected", `rejected: ${"reason" in r ? r.reason : ""}`);
  return r as Report;
}

function reason(line: string, years = Y2012): string {
  const r = parseLine(line, years);
  assert.equal(r.kind, "rejected", `accepted: ${line}`);
  return (r as { reason: string }).reason;
}

Deno.test("a location line gives a location report with every field", () => {
  assert.deepEqual(report(LOCATION), {
    kind: "location",
    date: "2012-02-15",
    time: "07:04:42",
    vehicle: "V.1.2233",
    lat: "37.0620935",
    lon: "-76.3413842",
    locationValid: "V",
    adherence: -1,
    adherenceValid: "V",
    odometer: 2668,
    odometerValid: "V",
    dgps: "On",
    fom: 2,
    crossingTime: null,
    dwell: null,
    route: null,
    direction: null,
    timepoint: null,
    stop: null,
    service: null,
    block: null,
  });
});

Deno.test("an arrival crossing keeps route, direction, timepoint, stop, service and block", () => {
  const r = report(ARRIVAL);
  assert.equal(r.kind, "arrival");
  assert.equal(r.crossingTime, "07:04:36");
  assert.deepEqual([r.route, r.direction, r.timepoint, r.stop, r.service, r.block], [
    4,
    2,
    329,
    45,
    1,
    221,
  ]);
  assert.equal(r.dwell, null);
});

Deno.test("a dwell crossing is a report too, with its dwell seconds", () => {
  const r = report(DWELL);
  assert.equal(r.kind, "dwell");
  assert.equal(r.dwell, 22);
  assert.equal(r.route, 65);
});

Deno.test("fields are separated by runs of spaces or tabs", () => {
  assert.deepEqual(report(LOCATION.replace(/ +/g, " ")), report(LOCATION));
  assert.deepEqual(report(LOCATION.replace(/ +/g, "\t")), report(LOCATION));
  assert.deepEqual(report("  \t" + LOCATION.replaceAll("  ", " \t ") + " \t"), report(LOCATION));
});

Deno.test("a CRLF line end is accepted", () => {
  assert.deepEqual(report(LOCATION + "\r\n"), report(LOCATION));
  assert.deepEqual(report(LOCATION + "\r"), report(LOCATION));
});

Deno.test("Lat/Lon scaling is positional: a point after 2 characters of lat and 3 of lon", () => {
  const r = report(LOCATION.replace("370620935/-763413842", "367751738166/-76091438594"));
  assert.equal(r.lat, "36.7751738166");
  assert.equal(r.lon, "-76.091438594");
});

Deno.test("Lat/Lon digits are kept exactly, never rounded through a float", () => {
  const r = report(
    LOCATION.replace("370620935/-763413842", "370000000000000001/-760000000000000009"),
  );
  assert.equal(r.lat, "37.0000000000000001");
  assert.equal(r.lon, "-76.0000000000000009");
});

Deno.test("Lat/Lon that already has a decimal point is taken as is", () => {
  const r = report(LOCATION.replace("370620935/-763413842", "37.0537126227/-76.3413842"));
  assert.equal(r.lat, "37.0537126227");
  assert.equal(r.lon, "-76.3413842");
});

Deno.test("Lat/Lon that is not a number is rejected", () => {
  assert.match(reason(LOCATION.replace("370620935", "37o620935")), /Lat\/Lon/);
  assert.match(reason(LOCATION.replace("370620935/-763413842", "370620935")), /Lat\/Lon/);
  assert.match(reason(LOCATION.replace("370620935/-763413842", "3/-7")), /Lat\/Lon/);
});

Deno.test("[Valid] is V, any other flag is I", () => {
  const r = report(
    LOCATION.replace("[Valid]  Adher", "[Invalid]  Adher").replace("2668 [Valid]", "2668 [Bogus]"),
  );
  assert.equal(r.locationValid, "I");
  assert.equal(r.adherenceValid, "V");
  assert.equal(r.odometerValid, "I");
});

Deno.test("FOM: is optional", () => {
  const r = report(LOCATION.replace("  FOM:2", ""));
  assert.equal(r.fom, null);
  assert.equal(r.dgps, "On");
});

Deno.test("labels must match exactly", () => {
  assert.match(reason(LOCATION.replace("Adher:", "Adhr:")), /Adher/);
  assert.match(reason(ARRIVAL.replace("Rte:", "Route:")), /Rte/);
  assert.match(reason(LOCATION.replace("DGPS:On", "DGPS:Maybe")), /DGPS/);
  assert.match(reason(LOCATION.replace("MT_LOCATION", "MT_OTHER")), /record type/);
  assert.match(reason(ARRIVAL.replace("Arrival", "Departure")), /Arrival or Dwell/);
});

Deno.test("integers must be integers", () => {
  assert.match(reason(LOCATION.replace("Adher:-1", "Adher:1.5")), /Adher/);
  assert.match(reason(LOCATION.replace("Odom:2668", "Odom:")), /Odom/);
  assert.match(reason(ARRIVAL.replace("Stop:45", "Stop:4x")), /Stop/);
  assert.match(reason(LOCATION.replace("FOM:2", "FOM:two")), /FOM/);
});

Deno.test("time and date must be well formed", () => {
  assert.match(reason(LOCATION.replace("07:04:42", "25:04:42")), /HH:MM:SS/);
  assert.match(reason(LOCATION.replace("02/15", "13/15")), /no such date/);
  assert.match(reason(LOCATION.replace("02/15", "2/15")), /MM\/DD/);
  assert.match(reason(LOCATION.replace("02/15", "02/30")), /no such date/);
});

Deno.test("the vehicle is kept whole and must look like V.<n>.<id>", () => {
  assert.equal(report(LOCATION).vehicle, "V.1.2233");
  assert.match(reason(LOCATION.replace("V.1.2233", "X.1.2233")), /V\.<n>\.<id>/);
});

Deno.test("trailing fields after FOM are rejected", () => {
  assert.match(reason(LOCATION + "  extra"), /after FOM/);
});

Deno.test("a blank line is rejected as blank (callers skip it uncounted)", () => {
  assert.equal(reason(""), "blank");
  assert.equal(reason(" \t \r"), "blank");
});

Deno.test("year inference: 31 December read on 1 January is last year", () => {
  const years = yearResolver({ reference: new Date(2027, 0, 1, 0, 5) });
  assert.equal(report(LOCATION.replace("02/15", "12/31"), years).date, "2026-12-31");
  assert.equal(report(LOCATION.replace("02/15", "01/01"), years).date, "2027-01-01");
});

Deno.test("year inference allows one day of clock skew", () => {
  const years = yearResolver({ reference: new Date(2026, 11, 31, 23, 59) });
  assert.equal(report(LOCATION.replace("02/15", "01/01"), years).date, "2027-01-01");
  const mid = yearResolver({ reference: new Date(2026, 5, 10) });
  assert.equal(report(LOCATION.replace("02/15", "06/11"), mid).date, "2026-06-11");
  assert.equal(report(LOCATION.replace("02/15", "06/12"), mid).date, "2025-06-12");
});

Deno.test("29 February only in leap years", () => {
  const leap = yearResolver({ reference: new Date(2028, 2, 1) });
  assert.equal(report(LOCATION.replace("02/15", "02/29"), leap).date, "2028-02-29");
  const common = yearResolver({ reference: new Date(2027, 2, 1) });
  assert.match(reason(LOCATION.replace("02/15", "02/29"), common), /no such date/);
  assert.match(
    reason(LOCATION.replace("02/15", "02/29"), yearResolver({ year: 1900 })),
    /no such date/,
  );
  assert.equal(
    report(LOCATION.replace("02/15", "02/29"), yearResolver({ year: 2000 })).date,
    "2000-02-29",
  );
});

Deno.test("an explicit year overrides the inference", () => {
  assert.equal(report(LOCATION, yearResolver({ year: 1999 })).date, "1999-02-15");
});

Deno.test("binary garbage, NUL bytes and invalid UTF-8 are rejected, never thrown", () => {
  for (
    const line of [
      "\u0000\u0000\u0000",
      "\uFFFD\uFFFD",
      LOCATION.replace("V.1", "V\u0000.1"),
      "07:04:42 02/15 V.1.1 H.0.0 MT_LOCATION",
      "x".repeat(100_000),
      " ".repeat(50) + "a b ".repeat(100),
    ]
  ) {
    assert.equal(parseLine(line, Y2012).kind, "rejected");
  }
});
