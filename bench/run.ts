/**
 * `deno task bench [--quick] [--install-peers] [--out FILE]`: logcapture beside the limits and its
 * peers, in one run,
 * on simulated data. Prints a Markdown table and writes it, with the machine, the date and the
 * versions, to BENCHMARKS.md (or `--out`). Figures are medians of 3 runs (1 with `--quick`), with
 * min and max. Nothing here asserts a time: the tests only check that the quick run fills every row.
 * Peers that are not installed (syslog-ng, couchimport) are rows of "n/a"; `--install-peers`
 * installs them first (apt-get as root, npm into .cache/), and nothing is installed without it.
 *
 * `deno task bench -- --live MINUTES` is the long run apart, longer alone than the whole bench:
 * live capture at 1,000 lines/s for that long, its RSS each minute, then a minute of a quiet log.
 * It writes BENCHMARKS-live.md (or `--out`).
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createSimulator, simulateText } from "../tools/simulator.ts";
import { ByteWriter } from "../lib/base/bytes.ts";
import { formatCsv } from "../lib/format/reports.ts";
import { LineScanner } from "../lib/source/lines.ts";
import { feedDocument, feedDocumentParts, recordDocuments } from "../lib/sink/documents.ts";
import { spysocketFormat } from "../lib/format/line_format.ts";
import { CouchClient, takesMultipart } from "../lib/sink/couchdb.ts";
import { type Batch, feedDocId } from "../lib/sink/batch.ts";
import { yearResolver } from "../lib/parse/spysocket.ts";
import { csvHeader } from "../lib/format/csv.ts";
import { freePort } from "../tools/couch_server.ts";
import { serverName } from "../tools/real_couchdb.ts";
import { Proxy } from "../tools/proxy.ts";
import { taskArgs } from "../tools/deno_run.ts";
import {
  batchesOfBytes,
  benchServer,
  docCount,
  getJson,
  measure,
  num,
  postBulkBodies,
  processCpu,
  program,
  repeat,
  ROOT,
  show,
  type Spread,
  spread,
  waitUntil,
  Watched,
} from "./measure.ts";

const { values: flags } = parseArgs({
  args: taskArgs(),
  options: {
    quick: { type: "boolean", default: false },
    "install-peers": { type: "boolean", default: false },
    live: { type: "string" },
    out: { type: "string" },
  },
});
const quick = flags.quick!;
const installPeers = flags["install-peers"]!;
const liveMinutes = Number(flags.live ?? 0);
if (!(liveMinutes >= 0)) throw new Error(`--live takes minutes, not "${flags.live}"`);
const SIZES = quick
  ? {
    runs: 1,
    parse: 100_000,
    feed: 50_000,
    server: 3_000,
    steady: 10_000,
    latencyS: 4,
    rates: [1000],
    memBytes: 20e6,
    idleS: 3,
    scaling: [1_000, 10_000],
    slowS: 4,
    uploads: 40,
  }
  : {
    runs: 3,
    parse: 1_000_000,
    feed: 1_000_000,
    server: 50_000,
    steady: 200_000,
    latencyS: 20,
    rates: [100, 1000, 10_000],
    memBytes: 1e9,
    idleS: 20,
    scaling: [10_000, 100_000, 1_000_000],
    slowS: 20,
    uploads: 200,
  };

interface Row {
  section: string;
  measure: string;
  result: string;
  beside?: string;
}
const rows: Row[] = [];
const add = (section: string, measure: string, result: string, beside = "") => {
  rows.push({ section, measure, result, beside });
  console.error(`  ${measure}: ${result}${beside ? ` | ${beside}` : ""}`);
};

const work = await Deno.makeTempDir({ prefix: "logcapture-bench-" });
const { server, base, how: serverHow } = await benchServer();
const serverVersion = `${await serverName(base)} (${serverHow})`;
console.error(`server: ${serverVersion}`);
let dbCounter = 0;
// Every database the bench makes, deleted at its end: a run leaves nothing in the user's server.
const databases: string[] = [];
const freshDb = () => {
  const db = `${base}/bench_${Date.now().toString(36)}_${dbCounter++}`;
  databases.push(db);
  return db;
};
const year = "2012";

/** A simulated log of `lines` lines (or about `bytes` bytes), made once and reused. */
const logs = new Map<string, string>();
async function simulatedLog(lines: number): Promise<string> {
  const key = `lines-${lines}`;
  if (logs.has(key)) return logs.get(key)!;
  const path = join(work, `${key}.log`);
  const sim = createSimulator({ seed: 42 });
  const when = new Date(2012, 1, 15, 7, 4, 42);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let done = 0; done < lines;) {
    const n = Math.min(50_000, lines - done);
    await file.write(new TextEncoder().encode(simulateText(sim, n, when)));
    done += n;
  }
  logs.set(key, path);
  return path;
}

function captureArgs(db: string, cache: string, ...extra: string[]): string[] {
  return ["--couchdb", db, "--cache", cache, "--year", year, "--source", "bench", ...extra];
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

// ---------------------------------------------------------------------------------------------
async function readingAndFormatting(): Promise<void> {
  console.error("1. reading and formatting");
  const path = await simulatedLog(SIZES.parse);
  const bytes = (await Deno.stat(path)).size;
  const years = yearResolver({ year: 2012 });
  const rate = await repeat(SIZES.runs, async () => {
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
    if (rows !== SIZES.parse) throw new Error(`parsed ${rows} rows of ${SIZES.parse}`);
    return SIZES.parse / ((performance.now() - started) / 1000);
  });
  const cat = await repeat(
    SIZES.runs,
    async () => (await measure(["sh", "-c", `cat '${path}' > /dev/null`])).seconds,
  );
  const wc = await repeat(SIZES.runs, async () => (await measure(["wc", "-l", path])).seconds);
  const mb = bytes / 1e6;
  add(
    "1. Reading and formatting",
    `parse + CSV, ${num(SIZES.parse)} lines (${num(mb)} MB), one core`,
    `${show(rate, 0, "lines/s")}; ${num((rate.median * bytes) / SIZES.parse / 1e6)} MB/s`,
    `cat: ${num(mb / cat.median)} MB/s; wc -l: ${
      num(SIZES.parse / wc.median)
    } lines/s. Target ≥ 1,000,000 lines/s`,
  );
  // The same work as a user runs it: a whole process, start-up included, the CSV into a file.
  const csv = join(work, "convert.csv");
  const toFile = (args: string[]) => ["sh", "-c", `exec "$0" "$@" > '${csv}'`, ...args];
  const convert = (file: string) => toFile(program("monitor", ["convert", "--year", year, file]));
  const whole = await repeat(5, async () => {
    const run = await measure(convert(path));
    if (run.code !== 0) throw new Error(`monitor convert failed: ${run.stderr.slice(-500)}`);
    return SIZES.parse / run.seconds;
  });
  add(
    "1. Reading and formatting",
    `monitor convert as a whole process, ${num(SIZES.parse)} lines, CSV written to a file`,
    show(whole, 0, "lines/s") + " (5 runs, start-up included)",
    "Target ≥ 1,000,000 lines/s",
  );
  const small = await simulatedLog(1000);
  const version = await repeat(
    5,
    async () => (await measure(program("capture", ["--version"]))).seconds,
  );
  const convertSmall = await repeat(5, async () => (await measure(convert(small))).seconds);
  add(
    "1. Reading and formatting",
    "start-up: capture --version; monitor convert of 1,000 lines",
    `${num(version.median * 1000)} ms; ${num(convertSmall.median * 1000)} ms (medians of 5)`,
    `capture's module graph: ${await graphSize(
      "capture.ts",
    )} (\`deno info\`; csv-stringify, 940 KB, is a test oracle only)`,
  );
}

// ---------------------------------------------------------------------------------------------
async function catchUp(): Promise<void> {
  console.error("2. catch-up into CouchDB");
  const feedLog = await simulatedLog(SIZES.feed);
  const cost = async (mode: string, path: string, lines: number) => {
    const runs = [];
    for (let i = 0; i < SIZES.runs; i++) {
      const cache = join(work, `catchup-${mode}-${lines}-${i}.json`);
      const result = await measure(
        program("capture", captureArgs(freshDb(), cache, "--once", "--mode", mode, path)),
      );
      if (result.code !== 0) {
        throw new Error(`capture --mode ${mode} failed: ${result.stderr.slice(-500)}`);
      }
      runs.push(result);
    }
    return {
      rate: spread(runs.map((r) => lines / r.seconds)),
      cpu: spread(runs.map((r) => (r.cpuSeconds / lines) * 1e6)),
      rss: spread(runs.map((r) => r.maxRssMb)),
    };
  };
  const feed = await cost("feed", feedLog, SIZES.feed);
  const feedRaw = [
    await rawFeedLoader(feedLog, SIZES.feed, 1),
    await rawFeedLoader(feedLog, SIZES.feed, 2),
  ];
  add(
    "2. Catch-up into CouchDB",
    `capture, feed mode, ${num(SIZES.feed)} backlog lines`,
    `${show(feed.rate, 0, "lines/s")}; ${
      num(feed.cpu.median, 2)
    } CPU-s per million lines; peak RSS ${num(feed.rss.median)} MB`,
    `${
      num((feed.rate.median / feedRaw[1].median) * 100)
    }% of the raw loader of the same documents, two in flight. Target ≥ 300,000 lines/s`,
  );
  add(
    "2. Catch-up into CouchDB",
    `(f) raw loader: capture's own feed documents (5,000 lines each, sent as capture sends them to this server), pre-built, PUT one in flight / two in flight`,
    `${show(feedRaw[0], 0, "lines/s")} / ${show(feedRaw[1], 0, "lines/s")}`,
    "the server's limit for these documents",
  );
  await monitorBacklog(feedLog, SIZES.feed);
  const serverLog = await simulatedLog(SIZES.server);
  const records = await cost("records", serverLog, SIZES.server);
  const startup = await startupCpu();
  const raw = await rawLoader(serverLog, SIZES.server, oneLineBodies);
  const ours = await rawLoader(serverLog, SIZES.server, recordsBodies);
  const steady = (records.cpu.median * SIZES.server / 1e6 - startup) / SIZES.server * 1e6;
  add(
    "2. Catch-up into CouchDB",
    `capture, records mode, ${num(SIZES.server)} lines (one document each)`,
    `${show(records.rate, 0, "docs/s")}; ${num(records.cpu.median, 2)} CPU-s per million lines (${
      num(steady, 2)
    } without the ${num(startup, 2)} CPU-s of start-up); peak RSS ${num(records.rss.median)} MB`,
    `${num((records.rate.median / raw.median) * 100)}% of the raw loader, ${
      num((records.rate.median / ours.median) * 100)
    }% of the raw loader of the same documents. Targets ≥ 100% of that loader, ≤ 6 CPU-s per million`,
  );
  // The comparison runs are short (the server takes ~10k docs/s); the cost per line is also read
  // over a longer run, where start-up and the compiler's warm-up weigh less.
  const longer = await cost("records", await simulatedLog(SIZES.steady), SIZES.steady);
  add(
    "2. Catch-up into CouchDB",
    `capture, records mode, ${num(SIZES.steady)} lines: the cost per line over a longer run`,
    `${num(longer.cpu.median, 2)} CPU-s per million lines; ${
      show(longer.rate, 0, "docs/s")
    }; peak RSS ${num(longer.rss.median)} MB`,
    "Target ≤ 6 CPU-s per million",
  );
  add(
    "2. Catch-up into CouchDB",
    `(a) raw loader: pre-built _bulk_docs of 1000 one-line documents, increasing ids, 2 in flight`,
    show(raw, 0, "docs/s"),
    "the server's own limit",
  );
  add(
    "2. Catch-up into CouchDB",
    `(a') the same raw loader with capture's own records-mode documents (${
      num(ours.bytesPerDoc)
    } bytes each, not ${num(raw.bytesPerDoc)})`,
    show(ours, 0, "docs/s"),
    "the server's limit for these documents",
  );
  await syslogNg(serverLog, SIZES.server, raw.median);
  await couchimport(serverLog, SIZES.server, raw.median);
}

/** A drop directory holding the log at `path` as extracts (capture -t, not measured). */
async function extractsOf(path: string, prefix: string): Promise<string> {
  const drop = await Deno.makeTempDir({ dir: work, prefix });
  const cache = join(drop, ".cache.json");
  const made = await measure(
    program("capture", [
      "-t",
      "Tail_Only",
      "--extract-dir",
      drop,
      "--cache",
      cache,
      "--once",
      path,
    ]),
  );
  if (made.code !== 0) throw new Error(`capture -t failed: ${made.stderr.slice(-500)}`);
  return drop;
}

/** The monitor on a backlog of extracts (made by capture -t first, not measured). */
async function monitorBacklog(path: string, lines: number): Promise<void> {
  const runs = [];
  for (let i = 0; i < SIZES.runs; i++) {
    const drop = await extractsOf(path, "backlog-");
    const result = await measure(
      program("monitor", [
        "--couchdb",
        freshDb(),
        "--year",
        year,
        "--once",
        "--done",
        "delete",
        drop,
      ]),
    );
    if (result.code !== 0) throw new Error(`monitor failed: ${result.stderr.slice(-500)}`);
    runs.push(result);
    await Deno.remove(drop, { recursive: true });
  }
  add(
    "2. Catch-up into CouchDB",
    `monitor, feed mode, a backlog of extracts holding ${num(lines)} lines`,
    `${show(spread(runs.map((r) => lines / r.seconds)), 0, "lines/s")}; peak RSS ${
      num(spread(runs.map((r) => r.maxRssMb)).median)
    } MB`,
    "",
  );
}

/** `_bulk_docs` bodies of 1000 documents holding one line each, with increasing ids. */
async function oneLineBodies(path: string): Promise<Uint8Array<ArrayBuffer>[]> {
  const all = (await Deno.readTextFile(path)).split("\n").filter(Boolean);
  const bodies: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < all.length; i += 1000) {
    const docs = all.slice(i, i + 1000).map((line, k) => ({
      _id: `raw:${String(i + k).padStart(16, "0")}`,
      line,
    }));
    bodies.push(new TextEncoder().encode(JSON.stringify({ docs })));
  }
  return bodies;
}

/** The batches capture makes of a log, `lines` lines each. */
async function batchesOf(path: string, lines: number): Promise<Batch[]> {
  return batchesOfBytes(await Deno.readFile(path), path, lines);
}

/** The bodies capture itself sends in records mode, batches of 1000 lines. */
async function recordsBodies(path: string): Promise<Uint8Array<ArrayBuffer>[]> {
  const format = spysocketFormat({ columns: "classic", year: 2012 });
  return (await batchesOf(path, 1000)).map((batch) => recordDocuments(batch, format).body.slice());
}

/**
 * Capture's own feed documents (batches of its default 5,000 lines), pre-built as capture sends
 * them to this server (one multipart request with the CSV gzip-encoded, or JSON with base64), PUT
 * as fast as the server takes them, `inFlight` at a time: the ceiling of feed mode.
 */
async function rawFeedLoader(path: string, lines: number, inFlight: number): Promise<Spread> {
  const format = spysocketFormat({ columns: "classic", year: 2012 });
  const multipart = takesMultipart(await new CouchClient({ url: freshDb() }).serverInfo());
  const docs = (await batchesOf(path, 5000)).map((batch) => {
    const id = feedDocId(batch.source.id, batch.generation, batch.start);
    if (!multipart) return { id, json: feedDocument(batch, format).json.slice() };
    const parts = feedDocumentParts(batch, format, 1);
    return { id, json: parts.json, attachments: parts.attachments };
  });
  return await repeat(SIZES.runs, async () => {
    const db = new CouchClient({ url: freshDb() });
    await db.ensureDatabase({ feedViews: false });
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < docs.length) {
        const { id, json, attachments } = docs[next++];
        const outcome = attachments
          ? await db.putDocumentMultipart(id, json, attachments)
          : await db.putDocumentJson(id, json);
        if (outcome !== "created") throw new Error(`PUT ${id}: ${outcome}`);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return lines / ((performance.now() - started) / 1000);
  });
}

/** Posts pre-built bodies as fast as the server takes them, two in flight. */
async function rawLoader(
  path: string,
  lines: number,
  make: (path: string) => Promise<Uint8Array<ArrayBuffer>[]>,
): Promise<Spread & { bytesPerDoc: number }> {
  const bodies = await make(path);
  const bytesPerDoc = bodies.reduce((n, b) => n + b.length, 0) / lines;
  const rate = await repeat(SIZES.runs, async () => {
    const db = freshDb();
    await fetch(db, { method: "PUT" }).then((r) => r.body?.cancel());
    return lines / await postBulkBodies(db, bodies);
  });
  return { ...rate, bytesPerDoc };
}

/** CPU seconds capture takes to start, check its cache file and CouchDB, and stop (an empty log). */
async function startupCpu(): Promise<number> {
  const empty = join(work, "empty.log");
  await Deno.writeFile(empty, new Uint8Array(0));
  const cpu = await repeat(SIZES.runs, async (i) => {
    const cache = join(work, `startup-${i}.json`);
    const args = captureArgs(freshDb(), cache, "--once", "--mode", "records", empty);
    return (await measure(program("capture", args))).cpuSeconds;
  });
  return cpu.median;
}

async function haveCommand(command: string, args = ["--version"]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false; // not installed: spawning fails at once
  }
}

/** syslog-ng lives in /usr/sbin, which a user's PATH may not hold. */
const SYSLOG_NG = Deno.env.get("PATH")?.split(":").includes("/usr/sbin")
  ? "syslog-ng"
  : "/usr/sbin/syslog-ng";

/** Installs a Debian package when missing and possible (root, apt reachable). */
async function ensureDebian(command: string, packages: string[]): Promise<boolean> {
  if (await haveCommand(command)) return true;
  if (!installPeers || Deno.uid() !== 0) return false;
  console.error(`  installing ${packages.join(" ")} (apt-get)`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await new Deno.Command("apt-get", {
    args: ["update", "-qq"],
    env,
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  await new Deno.Command("apt-get", {
    args: ["install", "-y", "-qq", "--no-install-recommends", ...packages],
    env,
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => null);
  return await haveCommand(command);
}

/**
 * syslog-ng tuned for throughput as its documentation advises: flow control on the log path, so
 * that a full queue makes the source wait instead of dropping messages; a destination queue
 * (`log-fifo-size`) larger than the source's window (`log-iw-size`); batches of 1,000 lines; four
 * workers.
 */
const SYSLOG_NG_SETTINGS =
  "flags(flow-control), log-iw-size(20000), log-fifo-size(40000), batch-lines(1000), workers(4)";

function syslogNgConfig(dir: string, path: string, db: string): string {
  return `@version: 3.38
options { keep-hostname(yes); stats_freq(0); };
source s_log { file("${path}" flags(no-parse) follow-freq(0.1) log-fetch-limit(1000) log-iw-size(20000)); };
destination d_couch {
  http(url("${db}/_bulk_docs") method("POST") workers(4) log-fifo-size(40000)
       headers("Content-Type: application/json")
       batch-lines(1000) batch-timeout(100)
       body-prefix("{\\"docs\\":[") delimiter(",") body-suffix("]}")
       body("$(format-json --scope none line=$MSG)"));
};
log { source(s_log); destination(d_couch); flags(flow-control); };
`.replaceAll("${dir}", dir);
}

/** Runs syslog-ng over the log until the database holds `lines` documents (or it stalls). */
async function runSyslogNg(
  path: string,
  lines: number,
  db: string,
  tag: string,
): Promise<{ seconds: number; cpu: number; docs: number }> {
  const dir = await Deno.makeTempDir({ dir: work, prefix: `syslog-ng-${tag}-` });
  await fetch(db, { method: "PUT" }).then((r) => r.body?.cancel());
  await Deno.writeTextFile(join(dir, "syslog-ng.conf"), syslogNgConfig(dir, path, db));
  const started = performance.now();
  const child = new Deno.Command(SYSLOG_NG, {
    args: [
      "-F",
      "-f",
      join(dir, "syslog-ng.conf"),
      "--persist-file",
      join(dir, "persist"),
      "--control",
      join(dir, "ctl"),
      "--pidfile",
      join(dir, "pid"),
      "--no-caps",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let last = -1, stalled = 0;
  await waitUntil(
    async () => {
      const n = await docCount(db);
      stalled = n === last ? stalled + 1 : 0;
      last = n;
      return n >= lines || stalled > 50;
    },
    600_000,
    100,
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = await processCpu(child.pid).catch(() => NaN);
  try {
    child.kill("SIGTERM");
  } catch {
    // it stopped by itself (a configuration error): the document count says what it did
  }
  await child.status;
  return { seconds, cpu, docs: await docCount(db) };
}

async function syslogNg(path: string, lines: number, rawRate: number): Promise<void> {
  const what = `(b) syslog-ng: file(no-parse) → http() _bulk_docs; ${SYSLOG_NG_SETTINGS}`;
  if (!await ensureDebian(SYSLOG_NG, ["syslog-ng-core", "syslog-ng-mod-http"])) {
    add(
      "2. Catch-up into CouchDB",
      what,
      "n/a: syslog-ng not installed (deno task bench --install-peers installs it)",
    );
    return;
  }
  const runs = [];
  for (let i = 0; i < SIZES.runs; i++) {
    runs.push(await runSyslogNg(path, lines, freshDb(), `catchup${i}`));
  }
  const rate = spread(runs.map((r) => r.docs / r.seconds));
  add(
    "2. Catch-up into CouchDB",
    what,
    `${show(rate, 0, "docs/s")}; ${
      num(spread(runs.map((r) => (r.cpu / lines) * 1e6)).median, 2)
    } CPU-s per million lines`,
    `${num((rate.median / rawRate) * 100)}% of the raw loader`,
  );
}

async function couchimport(path: string, lines: number, rawRate: number): Promise<void> {
  const prefix = join(ROOT, ".cache", "couchimport");
  const bin = join(prefix, "node_modules", ".bin", "couchimport");
  if (installPeers && !await Deno.stat(bin).then(() => true, () => false)) {
    console.error("  installing couchimport (npm)");
    await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        prefix,
        "--no-save",
        "--no-audit",
        "--no-fund",
        "couchimport@1.6.5",
      ],
      stdout: "null",
      stderr: "null",
    })
      .output().catch(() => null);
  }
  const csvPath = join(work, "couchimport.csv");
  const bytes = await Deno.readFile(path);
  const csv = new ByteWriter();
  csv.ascii(csvHeader("classic"));
  formatCsv(bytes, 0, { columns: "classic", years: yearResolver({ year: 2012 }) }, csv);
  await Deno.writeFile(csvPath, csv.bytes());
  for (
    const [label, extra] of [["defaults", []], ["--buffer 1000 --parallelism 4", [
      "--buffer",
      "1000",
      "--parallelism",
      "4",
    ]]] as const
  ) {
    const what = `(c) couchimport, ${label}`;
    if (!await Deno.stat(bin).then(() => true, () => false)) {
      add(
        "2. Catch-up into CouchDB",
        what,
        "n/a: couchimport not installed (deno task bench --install-peers installs it)",
      );
      continue;
    }
    const runs = [];
    for (let i = 0; i < SIZES.runs; i++) {
      const db = freshDb();
      await fetch(db, { method: "PUT" }).then((r) => r.body?.cancel());
      const name = db.split("/").pop()!;
      const result = await measure([
        "sh",
        "-c",
        `'${bin}' --url '${base}' --db '${name}' --delimiter ',' ${extra.join(" ")} < '${csvPath}'`,
      ]);
      runs.push({ ...result, docs: await docCount(db) });
    }
    const rate = spread(runs.map((r) => r.docs / r.seconds));
    add(
      "2. Catch-up into CouchDB",
      what,
      `${show(rate, 0, "docs/s")}; ${
        num(spread(runs.map((r) => (r.cpuSeconds / lines) * 1e6)).median, 2)
      } CPU-s per million lines`,
      `${num((rate.median / rawRate) * 100)}% of the raw loader`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
interface LatencyResult {
  p50: number;
  p95: number;
  p99: number;
  linesPerDoc: number;
  /** Feed documents written a minute. */
  docsPerMinute: number;
  /** Capture's RSS every `rssEveryS` seconds of the writing, the last at its end. */
  rss: { seconds: number; mb: number }[];
  /** Capture's CPU time over the writing, as a share of one core. */
  cpuShare: number;
  behindAtEnd: number;
}

/**
 * A writer appends at `rate` lines/s for `seconds`; each line's latency is the time from its append
 * to the moment CouchDB's `_changes` shows the feed document holding it.
 */
type Configuration = "all-in-one" | "two-host" | "two-host over HTTP";

async function latency(
  config: Configuration,
  rate: number,
  seconds: number,
  proxy?: Proxy,
  rssEveryS = seconds / 4,
  captureExtra: string[] = [],
): Promise<LatencyResult> {
  const dir = await Deno.makeTempDir({ dir: work, prefix: "latency-" });
  const log = join(dir, "spysocket.log");
  await Deno.writeTextFile(log, "");
  const name = freshDb().split("/").pop()!;
  const db = `${base}/${name}`;
  const couch = proxy ? proxy.urlFor(db) : db;
  const children: Watched[] = [];
  const spawn = (args: string[]) => {
    const child = new Watched(args);
    children.push(child);
    return child;
  };
  let capture: Watched;
  if (config === "all-in-one") {
    capture = spawn(
      program("capture", captureArgs(couch, join(dir, "c.json"), ...captureExtra, log)),
    );
  } else {
    const drop = join(dir, "drop");
    await Deno.mkdir(drop);
    const tail = ["-t", "Tail_Only", "--cache", join(dir, "c.json"), "--source", "bench"];
    const monitor = ["--couchdb", couch, "--year", year];
    if (config === "two-host over HTTP") {
      const port = freePort();
      await Deno.writeTextFile(join(dir, "token"), "bench-token");
      spawn(
        program("monitor", [
          ...monitor,
          "--listen",
          `127.0.0.1:${port}`,
          "--token-file",
          join(dir, "token"),
          drop,
        ]),
      );
      await waitUntil(
        () => fetch(`http://127.0.0.1:${port}/`).then((r) => (r.body?.cancel(), true), () => false),
        30_000,
      );
      tail.push("--ship-to", `http://127.0.0.1:${port}`, "--token-file", join(dir, "token"));
    } else {
      spawn(program("monitor", [...monitor, drop]));
      tail.push("--extract-dir", drop);
    }
    capture = spawn(program("capture", [...tail, ...captureExtra, log]));
  }
  await waitUntil(
    async () => (await fetch(db).then((r) => (r.body?.cancel(), r.ok)).catch(() => false)),
    30_000,
  );
  // Watch _changes (longpoll, one request at a time).
  const visible: { id: string; at: number }[] = [];
  const stop = new AbortController();
  const watcher = (async () => {
    let since = "now";
    while (!stop.signal.aborted) {
      const response = await fetch(`${db}/_changes?feed=longpoll&since=${since}&timeout=1000`, {
        signal: stop.signal,
      }).catch(() => null);
      if (!response) break;
      const body = await response.json().catch(() => null);
      const at = performance.now();
      if (!body) continue;
      for (const change of body.results ?? []) {
        if (String(change.id).startsWith("feed:")) visible.push({ id: change.id, at });
      }
      since = body.last_seq ?? since;
    }
  })();
  // The writer: every 10 ms, the lines due by then.
  const chunks: { start: number; end: number; lines: number; at: number }[] = [];
  const sim = createSimulator({ seed: rate });
  const when = new Date(2012, 1, 15, 7, 4, 42);
  let written = 0, offset = 0;
  const started = performance.now();
  const rss: { seconds: number; mb: number }[] = [];
  const cpuBefore = await capture.cpu();
  {
    using file = await Deno.open(log, { append: true });
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      if (due > written) {
        const bytes = new TextEncoder().encode(simulateText(sim, due - written, when));
        const at = performance.now();
        await file.write(bytes);
        chunks.push({ start: offset, end: offset + bytes.length, lines: due - written, at });
        offset += bytes.length;
        written = due;
      }
      if (performance.now() - started >= (rss.length + 1) * rssEveryS * 1000) {
        rss.push({
          seconds: (rss.length + 1) * rssEveryS,
          mb: (await capture.memory()).rssMb,
        });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  if (rss.at(-1)?.seconds !== seconds) {
    rss.push({ seconds, mb: (await capture.memory()).rssMb });
  }
  const cpuShare = ((await capture.cpu()) - cpuBefore) / seconds;
  // Wait for the last line, then map each visible document to the lines it holds.
  const ranges = new Map<string, { start: number; end: number; rows: number }>();
  const covered = async () => {
    for (const v of visible) {
      if (ranges.has(v.id)) continue;
      const doc = await getJson(`${db}/${encodeURIComponent(v.id)}`) as {
        source?: { start: number; end: number };
        rows?: number;
      };
      if (doc.source) ranges.set(v.id, { ...doc.source, rows: doc.rows ?? 0 });
    }
    return [...ranges.values()].reduce((n, r) => n + r.end - r.start, 0) >= offset;
  };
  await waitUntil(covered, 30_000, 200);
  const behindAtEnd = offset - [...ranges.values()].reduce((n, r) => n + r.end - r.start, 0);
  stop.abort();
  await watcher.catch(() => {});
  for (const child of children) await child.stop();
  const samples: { latency: number; weight: number }[] = [];
  for (const v of visible) {
    const range = ranges.get(v.id);
    if (!range) continue;
    for (const chunk of chunks) {
      const overlap = Math.min(chunk.end, range.end) - Math.max(chunk.start, range.start);
      if (overlap > 0) {
        samples.push({
          latency: v.at - chunk.at,
          weight: (chunk.lines * overlap) / (chunk.end - chunk.start),
        });
      }
    }
  }
  samples.sort((a, b) => a.latency - b.latency);
  const total = samples.reduce((n, s) => n + s.weight, 0);
  const quantile = (q: number) => {
    let seen = 0;
    for (const s of samples) if ((seen += s.weight) >= q * total) return s.latency;
    return NaN;
  };
  const docs = [...ranges.values()];
  return {
    p50: quantile(0.5),
    p95: quantile(0.95),
    p99: quantile(0.99),
    linesPerDoc: docs.length ? written / docs.length : NaN,
    docsPerMinute: (docs.length * 60) / seconds,
    rss,
    cpuShare,
    behindAtEnd,
  };
}

/** A latency row's result: the quantiles, and whether capture kept up. */
function latencyText(r: LatencyResult): string {
  return `p50 ${num(r.p50)} ms, p95 ${num(r.p95)} ms, p99 ${num(r.p99)} ms; ${
    num(r.docsPerMinute)
  } feed documents a minute (${num(r.linesPerDoc)} lines each); ${
    num(r.behindAtEnd)
  } bytes behind at the end`;
}

const MEMORY_TARGET = "syslog-ng measured at 33 MB. Target ≤ 80 MB, not growing";

const liveMemory: string[] = [];
async function liveLatency(): Promise<void> {
  console.error("3. live latency");
  for (const config of ["all-in-one", "two-host", "two-host over HTTP"] as const) {
    for (const rate of config === "two-host over HTTP" ? [1000] : SIZES.rates) {
      const r = await latency(config, rate, SIZES.latencyS);
      // The default --flush (1 s in feed mode and tail-only): about one document a second.
      const target = rate === 1000
        ? "Target p99 ≤ 1.1 s at the default --flush 1s, about 60 documents a minute"
        : rate === 10_000
        ? "Target: no growing lag"
        : "";
      add(
        "3. Live latency (append → visible in _changes)",
        `${config}, ${num(rate)} lines/s for ${SIZES.latencyS} s`,
        latencyText(r),
        target,
      );
      if (config !== "two-host over HTTP" && rate === 1000) {
        // Low latency is one flag away, at about twenty documents a second.
        const fast = await latency(config, rate, SIZES.latencyS, undefined, undefined, [
          "--flush",
          "50ms",
        ]);
        add(
          "3. Live latency (append → visible in _changes)",
          `${config}, ${num(rate)} lines/s for ${SIZES.latencyS} s, --flush 50ms`,
          latencyText(fast),
          config === "all-in-one"
            ? "Target p99 ≤ 100 ms"
            : "Target p99 ≤ 200 ms (through a drop directory)",
        );
      }
      if (config === "all-in-one" && rate === 1000) {
        const [early] = r.rss, end = r.rss.at(-1)!;
        liveMemory.push(
          `capture RSS ${num(early.mb)} MB after ${num(early.seconds)} s, ${num(end.mb)} MB after ${
            num(end.seconds)
          } s at 1,000 lines/s, using ${
            num(r.cpuShare * 100, 1)
          }% of a core (\`--live 30\`: half an hour, in BENCHMARKS-live.md)`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
async function memory(): Promise<void> {
  console.error("4. memory");
  const lines = Math.round(SIZES.memBytes / 155);
  const path = await simulatedLog(lines);
  const size = (await Deno.stat(path)).size;
  const result = await measure(
    program("capture", captureArgs(freshDb(), join(work, "memory.json"), "--once", path)),
  );
  add(
    "4. Memory",
    `peak RSS catching up on a ${num(size / 1e6)} MB log (feed mode)`,
    `${num(result.maxRssMb)} MB (${num(lines / result.seconds)} lines/s)`,
    MEMORY_TARGET,
  );
  add("4. Memory", "RSS during live capture", liveMemory.join("; ") || "n/a", "");
  await Deno.remove(path);
  logs.delete(`lines-${lines}`);
}

async function idle(seconds = SIZES.idleS): Promise<void> {
  console.error("5. idle cost");
  const path = await simulatedLog(1000);
  const child = new Watched(
    program("capture", captureArgs(freshDb(), join(work, "idle.json"), path)),
  );
  await new Promise((r) => setTimeout(r, 3000));
  const before = await child.cpu();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = (await child.cpu()) - before;
  await child.stop();
  add(
    "5. Idle cost",
    `CPU over ${seconds} s with a quiet log`,
    `${num(used, 2)} CPU-s (${num((used / seconds) * 100, 2)}% of a core)`,
    "Target: near zero",
  );
}

/** Records-mode documents (one per line) in a database. */
async function recordCount(db: string): Promise<number> {
  const range = `startkey=${encodeURIComponent('"rec:"')}&endkey=${
    encodeURIComponent('"rec:\ufff0"')
  }`;
  const body = await getJson(`${db}/_all_docs?${range}`);
  return (body.rows as unknown[] | undefined)?.length ?? 0;
}

async function correctness(): Promise<void> {
  console.error("6. correctness: the same log twice");
  const lines = Math.min(SIZES.server, 20_000);
  const path = await simulatedLog(lines);
  const db = freshDb();
  const cache = join(work, "twice.json");
  const first = await measure(
    program("capture", captureArgs(db, cache, "--once", "--mode", "records", path)),
  );
  await Deno.remove(cache);
  const second = await measure(
    program("capture", captureArgs(db, cache, "--once", "--mode", "records", path)),
  );
  const said = /no cache file[^\n]*/.exec(second.stderr)?.[0] ??
    /skipped [^\n]*/.exec(second.stderr)?.[0] ?? "nothing said";
  add(
    "6. Correctness: the same log sent twice (cache file lost)",
    `capture, records mode, ${num(lines)} lines`,
    `${num(await recordCount(db))} line documents (exit ${first.code}, ${second.code}); it said: “${
      said.replace(/^.*?(no cache|skipped)/, "$1").slice(0, 140)
    }”`,
    "each line once",
  );
  // The second host handed the same extracts again (a replayed hand-over).
  const drop = await extractsOf(path, "replay-");
  const rdb = freshDb();
  const monitor = program("monitor", [
    "--couchdb",
    rdb,
    "--year",
    year,
    "--mode",
    "records",
    "--once",
    drop,
  ]);
  const handed = await measure(monitor);
  for (const { name } of Deno.readDirSync(join(drop, "done"))) {
    await Deno.rename(join(drop, "done", name), join(drop, name));
  }
  const replayed = await measure(monitor);
  const skips = [...replayed.stderr.matchAll(/skipped (\d+) bytes that CouchDB already held/g)];
  const skipped = skips.length
    ? `skipped ${
      num(skips.reduce((n, m) => n + Number(m[1]), 0))
    } bytes that CouchDB already held` +
      ` (${skips.length} extract${skips.length === 1 ? "" : "s"})`
    : "nothing said";
  add(
    "6. Correctness: the same log sent twice (an extract replayed)",
    `monitor, records mode, ${num(lines)} lines`,
    `${
      num(await recordCount(rdb))
    } line documents (exit ${handed.code}, ${replayed.code}); it said: “${skipped}”`,
    "each line once",
  );
  await Deno.remove(drop, { recursive: true });
  if (await haveCommand(SYSLOG_NG)) {
    const sdb = freshDb();
    const a = await runSyslogNg(path, lines, sdb, "twice-a");
    const b = await runSyslogNg(path, 2 * lines, sdb, "twice-b");
    add(
      "6. Correctness: the same log sent twice (cache file lost)",
      `syslog-ng (persist file lost), ${num(lines)} lines`,
      `${num(b.docs)} documents after the second run (${
        num(a.docs)
      } after the first), no error reported`,
      "",
    );
  } else {
    add(
      "6. Correctness: the same log sent twice (cache file lost)",
      "syslog-ng",
      "n/a: not installed",
      "",
    );
  }
}

async function scaling(): Promise<void> {
  console.error("7. scaling");
  const parts: string[] = [];
  for (const lines of SIZES.scaling) {
    const path = await simulatedLog(lines);
    const s = await repeat(SIZES.runs, async (i) => {
      const result = await measure(
        program(
          "capture",
          captureArgs(freshDb(), join(work, `scale-${lines}-${i}.json`), "--once", path),
        ),
      );
      return result.seconds;
    });
    parts.push(`${num(lines)} lines: ${num(s.median, 2)} s (${num(lines / s.median)} lines/s)`);
  }
  add(
    "7. Scaling",
    "catch-up time, feed mode (includes ~0.2 s start-up)",
    parts.join("; "),
    "linear",
  );
  using proxy = new Proxy(base!);
  for (const delay of [0, 200]) {
    proxy.delayMs = delay;
    const r = await latency("all-in-one", 1000, SIZES.slowS, proxy);
    add(
      "7. Scaling",
      `CouchDB answering ${
        delay ? `${delay} ms slower (delaying proxy)` : "at full speed (through the proxy)"
      }, 1,000 lines/s`,
      `p50 ${num(r.p50)} ms, p99 ${num(r.p99)} ms; ${num(r.linesPerDoc)} lines per batch; ${
        num(r.behindAtEnd)
      } bytes behind at the end`,
      delay ? "batches grow, lag stays bounded" : "",
    );
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * The receiver against many clients at once: `clients` uploads of 7.9 MiB each, every one sending
 * its headers and its first MiB, then holding the connection open. The monitor's RSS is read while
 * they hang, and how they were answered is counted.
 */
async function receiverLoad(clients = SIZES.uploads): Promise<void> {
  console.error("8. the receiver under load");
  const dir = await Deno.makeTempDir({ dir: work, prefix: "receiver-" });
  const drop = join(dir, "drop");
  await Deno.mkdir(drop);
  await Deno.writeTextFile(join(dir, "token"), "bench-token");
  const port = freePort();
  const monitor = new Watched(program("monitor", [
    ...["--couchdb", freshDb(), "--year", year, "--listen", `127.0.0.1:${port}`],
    ...["--token-file", join(dir, "token"), drop],
  ]));
  await waitUntil(
    () => fetch(`http://127.0.0.1:${port}/`).then((r) => (r.body?.cancel(), true), () => false),
    30_000,
  );
  const before = (await monitor.memory()).rssMb;
  const size = Math.round(7.9 * 2 ** 20);
  const first = new Uint8Array(1 << 20).fill(65);
  const connections: Deno.Conn[] = [];
  for (let i = 0; i < clients; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const name = `load.0.${String(i * size).padStart(16, "0")}-${
      String((i + 1) * size).padStart(16, "0")
    }.log`;
    await conn.write(new TextEncoder().encode(
      `PUT /extracts/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token\r\n` +
        `Content-Length: ${size}\r\n\r\n`,
    ));
    await conn.write(first).catch(() => 0); // a client answered 503 may be cut off already
    connections.push(conn);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const during = await monitor.memory();
  // What each client was answered so far: the status line, when one came.
  let busy = 0;
  for (const conn of connections) {
    const buffer = new Uint8Array(64);
    const n = await Promise.race([
      conn.read(buffer).catch(() => null),
      new Promise<null>((r) => setTimeout(() => r(null), 20)),
    ]);
    if (n && /^HTTP\/1\.1 503/.test(new TextDecoder().decode(buffer.subarray(0, n)))) busy++;
  }
  for (const conn of connections) {
    try {
      conn.close();
    } catch {
      // closed by the server
    }
  }
  await monitor.stop();
  add(
    "8. The receiver under load",
    `monitor --listen, ${clients} uploads of 7.9 MiB held open after their first MiB`,
    `RSS ${num(before)} MB before, ${num(during.rssMb)} MB while they hang (peak ${
      num(during.peakMb)
    } MB); ${busy} answered 503 at once (the rest wait, 16 at a time)`,
    "Target < 150 MB RSS with 200 uploads",
  );
}

// ---------------------------------------------------------------------------------------------
/** `--live`: one capture at 1,000 lines/s for `minutes`, its RSS sampled each minute. */
async function longLive(minutes: number): Promise<void> {
  console.error(`live capture for ${minutes} minutes`);
  const seconds = minutes * 60;
  const r = await latency("all-in-one", 1000, seconds, undefined, Math.min(60, seconds / 4));
  const middle = r.rss.find((s) => s.seconds >= seconds / 2)!, end = r.rss.at(-1)!;
  const perMinute = ((end.mb - middle.mb) / (end.seconds - middle.seconds)) * 60;
  add(
    "3. Live latency (append → visible in _changes)",
    `all-in-one, 1,000 lines/s for ${num(minutes, 1)} minutes`,
    latencyText(r),
    "Target p99 < 1 s",
  );
  add(
    "4. Memory",
    `RSS over ${num(minutes, 1)} minutes of live capture, all-in-one, 1,000 lines/s`,
    `${r.rss.map((s) => num(s.mb, 1)).join(", ")} MB every ${r.rss[0].seconds} s; ${
      perMinute >= 0 ? "+" : ""
    }${num(perMinute, 2)} MB a minute over the second half; ${num(r.cpuShare * 100, 1)}% of a core`,
    MEMORY_TARGET,
  );
  await idle(Math.min(60, seconds));
}

const started = performance.now();
try {
  if (liveMinutes) await longLive(liveMinutes);
  else {
    await readingAndFormatting();
    await catchUp();
    await liveLatency();
    await memory();
    await idle();
    await correctness();
    await scaling();
    await receiverLoad();
  }
} finally {
  for (const db of databases) {
    await fetch(db, { method: "DELETE" }).then((r) => r.body?.cancel()).catch(() => {});
  }
  await server[Symbol.asyncDispose]();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

const cpuModel =
  (await Deno.readTextFile("/proc/cpuinfo").catch(() => "")).match(/model name\s*:\s*(.*)/)?.[1] ??
    "unknown CPU";
const memGb = Deno.systemMemoryInfo().total / 2 ** 30;
const table = [
  "| section | measure | logcapture | beside it / target |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.section} | ${r.measure} | ${r.result} | ${r.beside ?? ""} |`),
].join("\n");
const command = `deno task bench${
  quick ? " -- --quick" : liveMinutes ? ` -- --live ${flags.live}` : ""
}`;
const report = `# Benchmarks${liveMinutes ? ": the long live run" : ""}

${
  quick
    ? "Quick run (`deno task bench -- --quick`): small sizes, one run each — a smoke check, not figures.\n\n"
    : ""
}Run: \`${command}\` on ${
  new Date().toISOString().slice(0, 10)
}, ${navigator.hardwareConcurrency} cores (${cpuModel}), ${
  num(memGb, 1)
} GiB, Deno ${Deno.version.deno}, server: ${serverVersion}, in ${
  num((performance.now() - started) / 1000)
} s.
${
  liveMinutes
    ? "One run."
    : `Figures are medians of ${SIZES.runs} run${SIZES.runs > 1 ? "s" : ""}${
      SIZES.runs > 1 ? " (min–max)" : ""
    }.`
} The server runs on the same 2 cores as everything it is compared with.

${table}
`;
console.log(report);
await Deno.writeTextFile(
  flags.out ?? join(ROOT, liveMinutes ? "BENCHMARKS-live.md" : "BENCHMARKS.md"),
  report,
);
Deno.exit(0);
