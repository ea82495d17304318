/**
 * `deno task bench:records`: where a records-mode document's cost goes on the server. Capture's
 * own records documents of a simulated log, and variants of them with fields, bytes or the ids
 * changed, are posted as `_bulk_docs` of 1,000, two in flight, as fast as the server takes them
 * (the raw loader of the main bench). Prints a Markdown table: fields per document, bytes per
 * document, documents a second (median of 5, min–max). An experiment to decide a leaner document
 * on; the stored shape is the SPEC's.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { recordDocuments } from "../lib/sink/documents.ts";
import { spysocketFormat } from "../lib/format/line_format.ts";
import { createSimulator, simulateText } from "../tools/simulator.ts";
import { serverName } from "../tools/real_couchdb.ts";
import { taskArgs } from "../tools/deno_run.ts";
import { batchesOfBytes, benchServer, num, postBulkBodies, show, spread } from "./measure.ts";

const { values: flags } = parseArgs({
  args: taskArgs(),
  options: { lines: { type: "string", default: "50000" }, runs: { type: "string", default: "5" } },
});
const LINES = Number(flags.lines);
const RUNS = Number(flags.runs);

type Doc = Record<string, unknown>;
type Variant = { name: string; change: (doc: Doc) => Doc };

const without = (doc: Doc, drop: (key: string, value: unknown) => boolean): Doc =>
  Object.fromEntries(Object.entries(doc).filter(([k, v]) => !drop(k, v)));
const IN_THE_ID = ["source", "generation", "batch_start"];

const VARIANTS: Variant[] = [
  { name: "capture's documents", change: (d) => d },
  {
    name: "ids shorter (`r:` and the offset in base 36)",
    change: (d) => ({ ...d, _id: `r:${(d.line_offset as number).toString(36).padStart(8, "0")}` }),
  },
  {
    name: "the same bytes in one string field",
    change: (d) => {
      const bytes = JSON.stringify(d).length - JSON.stringify({ _id: d._id, x: "" }).length;
      return { _id: d._id, x: "x".repeat(Math.max(0, bytes)) };
    },
  },
  { name: "shorter keys (same values)", change: (d) => renameKeys(d) },
  { name: "A: no null members", change: (d) => without(d, (_, v) => v === null) },
  {
    name: "B: A, and no source, generation, batch_start (the id holds them)",
    change: (d) => without(d, (k, v) => v === null || IN_THE_ID.includes(k)),
  },
  {
    name: "C: B, and no lat_text, lon_text",
    change: (d) => without(d, (k, v) => v === null || IN_THE_ID.includes(k) || k.endsWith("_text")),
  },
];

function renameKeys(doc: Doc): Doc {
  return Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [k.startsWith("_") ? k : `${k.slice(0, 2)}${k.length}`, v]),
  );
}

const { server, base, how } = await benchServer();
const work = await Deno.makeTempDir({ prefix: "logcapture-records-" });
try {
  const path = join(work, "spysocket.log");
  await Deno.writeTextFile(
    path,
    simulateText(createSimulator({ seed: 1 }), LINES, new Date(2012, 1, 15, 7)),
  );
  const bytes = await Deno.readFile(path);
  const format = spysocketFormat({ columns: "classic", year: 2012 });
  const docs: Doc[] = [];
  for (const batch of batchesOfBytes(bytes, path, { lines: 1000 })) {
    const body = recordDocuments(batch, format).body;
    docs.push(...JSON.parse(new TextDecoder().decode(body)).docs);
  }
  console.log(`${await serverName(base)} (${how}); ${num(docs.length)} documents, ${RUNS} runs\n`);
  console.log("| documents | fields | bytes each | docs/s |\n|---|---|---|---|");
  const loads = VARIANTS.map((variant) => {
    const changed = docs.map(variant.change);
    const bodies: Uint8Array<ArrayBuffer>[] = [];
    for (let i = 0; i < changed.length; i += 1000) {
      bodies.push(new TextEncoder().encode(JSON.stringify({ docs: changed.slice(i, i + 1000) })));
    }
    const size = bodies.reduce((n, b) => n + b.length, 0) / changed.length;
    return { variant, bodies, size, fields: Object.keys(changed[0]).length, rates: [] as number[] };
  });
  // Round by round, every variant in each: the server's drift over the run falls on all alike.
  for (let run = 0; run < RUNS; run++) {
    for (const one of loads) one.rates.push(await load(one.bodies, docs.length));
  }
  for (const { variant, fields, size, rates } of loads) {
    console.log(`| ${variant.name} | ${fields} | ${num(size)} | ${show(spread(rates))} |`);
  }
} finally {
  await Deno.remove(work, { recursive: true });
  await server[Symbol.asyncDispose]();
}

/** Posts `bodies` into a new database, two in flight: documents a second. */
async function load(bodies: Uint8Array<ArrayBuffer>[], count: number): Promise<number> {
  const db = `${base}/bench_records_${crypto.randomUUID().slice(0, 8)}`;
  await fetch(db, { method: "PUT" }).then((r) => r.body?.cancel());
  try {
    return count / await postBulkBodies(db, bodies);
  } finally {
    await fetch(db, { method: "DELETE" }).then((r) => r.body?.cancel());
  }
}
