/**
 * 1. Reading and formatting: lines scanned, parsed and written as CSV and as records documents in-process, and the size of what capture loads.
 * @module
 */
import { join } from "node:path";
import { ByteWriter } from "../../lib/base/bytes.ts";
import { formatCsv } from "../../lib/format/reports.ts";
import { LineScanner } from "../../lib/source/lines.ts";
import { yearResolver } from "../../lib/parse/spysocket.ts";
import { measure, num, program, repeat, show } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";

async function readingAndFormatting(bench: Bench): Promise<void> {
  console.error("1. reading and formatting");
  const path = await bench.simulatedLog(bench.sizes.parse);
  const bytes = (await Deno.stat(path)).size;
  const years = yearResolver({ year: 2012 });
  const rate = await repeat(bench.sizes.runs, async () => {
    using file = await Deno.open(path);
    const scanner = new LineScanner(file, 0, { maxLineBytes: 1 << 20 });
    const started = performance.now();
    let rows = 0;
    const out = new ByteWriter();
    for (let item = await scanner.next(); item; item = await scanner.next()) {
      if (item.kind === "lines") {
        rows += formatCsv(item.bytes, item.offset, { columns: "classic", years }, out).rows;
        out.clear();
      }
    }
    if (rows !== bench.sizes.parse) throw new Error(`parsed ${rows} rows of ${bench.sizes.parse}`);
    return bench.sizes.parse / ((performance.now() - started) / 1000);
  });
  const cat = await repeat(
    bench.sizes.runs,
    async () => (await measure(["sh", "-c", `cat '${path}' > /dev/null`])).seconds,
  );
  const wc = await repeat(
    bench.sizes.runs,
    async () => (await measure(["wc", "-l", path])).seconds,
  );
  const mb = bytes / 1e6;
  bench.add(
    "1. Reading and formatting",
    `parse + CSV, ${num(bench.sizes.parse)} lines (${num(mb)} MB), one core`,
    `${show(rate, 0, "lines/s")}; ${num((rate.median * bytes) / bench.sizes.parse / 1e6)} MB/s`,
    `cat: ${num(mb / cat.median)} MB/s; wc -l: ${
      num(bench.sizes.parse / wc.median)
    } lines/s. Target ≥ 1,000,000 lines/s`,
  );
  // The same work as a user runs it: a whole process, start-up included, the CSV into a file.
  const csv = join(bench.work, "convert.csv");
  const toFile = (args: string[]) => ["sh", "-c", `exec "$0" "$@" > '${csv}'`, ...args];
  const convert = (file: string) =>
    toFile(program("monitor", ["convert", "--year", bench.year, file]));
  const whole = await repeat(5, async () => {
    const run = await measure(convert(path));
    if (run.code !== 0) throw new Error(`monitor convert failed: ${run.stderr.slice(-500)}`);
    return bench.sizes.parse / run.seconds;
  });
  bench.add(
    "1. Reading and formatting",
    `monitor convert as a whole process, ${num(bench.sizes.parse)} lines, CSV written to a file`,
    show(whole, 0, "lines/s") + " (5 runs, start-up included)",
    "Target ≥ 1,000,000 lines/s",
  );
  const small = await bench.simulatedLog(1000);
  const version = await repeat(
    5,
    async () => (await measure(program("capture", ["--version"]))).seconds,
  );
  const convertSmall = await repeat(5, async () => (await measure(convert(small))).seconds);
  bench.add(
    "1. Reading and formatting",
    "start-up: capture --version; monitor convert of 1,000 lines",
    `${num(version.median * 1000)} ms; ${num(convertSmall.median * 1000)} ms (medians of 5)`,
    `capture's module graph: ${await graphSize(
      "capture.ts",
    )} (\`deno info\`; csv-stringify, 940 KB, is a test oracle only)`,
  );
}

/** The size `deno info` gives for a module and all it imports. */
async function graphSize(module: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", module],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).output();
  return /size:\s*(\S+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? "unknown";
}

/** The formatting section: the rows it adds. */
export const formattingSection: Section = {
  name: "formatting",
  run: (bench) => bench.rowsOf(() => readingAndFormatting(bench)),
};
