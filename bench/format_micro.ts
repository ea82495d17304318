/**
 * Formatting alone, in-process: CSV rows of a simulated log in 5,000-line batches, as capture
 * formats them; nanoseconds per line, best of five. For measuring a change to the scanner or the
 * CSV writer without a server: `deno run -A bench/format_micro.ts [LINES]`.
 * @module
 */
import { ByteWriter } from "../lib/base/bytes.ts";
import { spysocketFormat } from "../lib/format/line_format.ts";
import { createSimulator, simulateText } from "../tools/simulator.ts";

const lines = Number(Deno.args[0] ?? 500_000);
const text = new TextEncoder().encode(simulateText(createSimulator(), lines));
const batches: Uint8Array[] = [];
for (let start = 0; start < text.length;) {
  let end = start;
  for (let n = 0; n < 5000 && end < text.length; n++) end = text.indexOf(10, end) + 1;
  batches.push(text.subarray(start, end));
  start = end;
}
const format = spysocketFormat({ columns: "classic", year: 2012 });
const out = new ByteWriter(1 << 20);
const readAt = new Date();
const best: Record<string, number> = { csv: Infinity, records: Infinity };
for (let round = 0; round < 5; round++) {
  let t = performance.now();
  for (const data of batches) {
    out.clear();
    format.csvRows({ data, start: 0, readAt, oversized: null }, out);
  }
  best.csv = Math.min(best.csv, performance.now() - t);
  t = performance.now();
  for (const data of batches) {
    out.clear();
    format.records({ data, start: 0, readAt, oversized: null }, out, () => out.byte(123));
  }
  best.records = Math.min(best.records, performance.now() - t);
}
for (const [what, ms] of Object.entries(best)) {
  console.log(`${what}: ${(ms * 1e6 / lines).toFixed(0)} ns/line (${lines} lines)`);
}
