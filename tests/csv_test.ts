import assert from "node:assert/strict";
import { ByteWriter } from "../lib/base/bytes.ts";
import { csvHeader } from "../lib/format/csv.ts";
import { csvHeaderReference } from "./csv_reference.ts";
import { formatCsv } from "../lib/format/reports.ts";
import { parseLine, yearResolver } from "../lib/parse/spysocket.ts";
import { FIXTURES, run } from "./helpers.ts";

const years = yearResolver({ year: 2012 });

function csvOf(path: string, columns: "classic" | "full" = "classic"): string {
  const out = new ByteWriter();
  formatCsv(Deno.readFileSync(path), 0, { columns, years }, out);
  return csvHeader(columns) + new TextDecoder().decode(out.bytes());
}

Deno.test("classic CSV of hrt-simulated.log is the 2012 reference plus the 30 dwell rows in log order", () => {
  const reference = Deno.readTextFileSync(`${FIXTURES}/hrt-simulated.reference.csv`).split("\n")
    .filter(Boolean);
  const lines = Deno.readTextFileSync(`${FIXTURES}/hrt-simulated.log`).split("\n").filter(Boolean);
  const ours = csvOf(`${FIXTURES}/hrt-simulated.log`).split("\n").filter(Boolean);
  assert.equal(ours.length, 1 + 281);
  const dwellRows = lines.map((l, i) => (l.includes("Dwell:") ? i + 1 : -1)).filter((i) => i > 0);
  assert.equal(dwellRows.length, 30);
  assert.deepEqual(ours.filter((_, i) => !dwellRows.includes(i)), reference);
});

Deno.test("classic CSV of spysocket-sample.log begins with its reference", () => {
  const reference = Deno.readTextFileSync(`${FIXTURES}/spysocket-sample.reference.csv`);
  const ours = csvOf(`${FIXTURES}/spysocket-sample.log`);
  assert.ok(ours.startsWith(reference), ours);
  assert.equal(ours.split("\n").filter(Boolean).length, 4);
});

Deno.test("the classic header is exactly the one downstream consumers expect", () => {
  assert.equal(
    csvHeader("classic"),
    "Date,Time,Vehicle,Lat,Lon,Location Valid/Invalid,Adherence,Adherence Valid/Invalid,Route,Direction,Stop\n",
  );
});

Deno.test("the full column set appends every other parsed field", () => {
  const text = csvOf(`${FIXTURES}/spysocket-doc-samples.log`, "full").split("\n");
  assert.equal(
    text[0],
    "Date,Time,Vehicle,Lat,Lon,Location Valid/Invalid,Adherence,Adherence Valid/Invalid,Route,Direction,Stop," +
      "Type,Odometer,Odometer Valid/Invalid,DGPS,FOM,Crossing Time,Dwell,Timepoint,Service,Block",
  );
  assert.equal(
    text[2],
    "2012-02-15,07:04:42,V.1.3515,37.0425333,-76.4286136,V,-1,V,65,2,69,dwell,1712,V,On,2,07:04:37,22,352,1,203",
  );
  assert.equal(
    text[4],
    "2012-02-15,09:32:04,V.1.3505,36.8652212,-76.2994236,V,-2,V,,,,location,4869,I,On,,,,,,",
  );
});

Deno.test("rows use \\n line ends and location rows leave route, direction and stop empty", () => {
  const text = csvOf(`${FIXTURES}/spysocket-doc-samples.log`);
  assert.ok(!text.includes("\r"));
  assert.ok(text.split("\n")[1].endsWith(",,,"));
});

Deno.test("monitor convert: the reference output and the rejected count", async () => {
  const result = await run("monitor", [
    "convert",
    "--year",
    "2012",
    `${FIXTURES}/hrt-simulated.log`,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, csvOf(`${FIXTURES}/hrt-simulated.log`));
  assert.match(result.stderr, /281 rows, 0 rejected lines/);
  const samples = await run("monitor", ["convert", `${FIXTURES}/spysocket-doc-samples.log`]);
  assert.equal(samples.stdout.split("\n").filter(Boolean).length, 1 + 4);
});

Deno.test("monitor convert: one header for several files, rejected lines counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.log`,
      "garbage\n\n" + Deno.readTextFileSync(`${FIXTURES}/spysocket-sample.log`),
    );
    const result = await run("monitor", [
      "convert",
      "--year",
      "2012",
      "--columns",
      "full",
      `${dir}/bad.log`,
      `${FIXTURES}/spysocket-sample.log`,
    ]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.split("\n").filter((l) => l.startsWith("Date,")).length, 1);
    assert.equal(result.stdout.split("\n").filter(Boolean).length, 1 + 6);
    assert.match(result.stderr, /6 rows, 1 rejected lines/);
    assert.match(result.stderr, /offset 0/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("monitor convert: an unreadable file is named and the exit code is 1", async () => {
  const result = await run("monitor", [
    "convert",
    "/nonexistent/x.log",
    `${FIXTURES}/spysocket-sample.log`,
  ]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot read \/nonexistent\/x\.log/);
  assert.equal(result.stdout.split("\n").filter(Boolean).length, 1 + 3);
});

Deno.test("monitor convert: usage errors exit 2", async () => {
  assert.equal((await run("monitor", ["convert", "--year", "twelve", "x"])).code, 2);
  assert.equal((await run("monitor", ["convert", "--columns", "wide", "x"])).code, 2);
  assert.equal((await run("monitor", ["convert"])).code, 2);
});

Deno.test("parsing a report back from its own line gives the same report", () => {
  const line =
    "12:00:00 02/29  V.7.42  H.0.0  MT_LOCATION  Lat/Lon:36.1/-76.2 [Invalid]  Adher:0 [Valid]  Odom:0 [Valid]  DGPS:Off";
  const r = parseLine(line, yearResolver({ year: 2024 }));
  assert.equal(r.kind, "location");
});

Deno.test("the header of each column set is csv-stringify's: no column name needs quoting", () => {
  for (const columns of ["classic", "full"] as const) {
    assert.equal(csvHeader(columns), csvHeaderReference(columns));
  }
});
