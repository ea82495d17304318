/**
 * 2. Catch-up into CouchDB: capture on a backlog in feed and records mode, the monitor on a backlog of extracts, beside the server's own limit (raw loaders) and the peers.
 * @module
 */
import { join } from "node:path";
import { feedDocument, feedDocumentParts, recordDocuments } from "../../lib/sink/documents.ts";
import { gzipAt } from "../../lib/sink/gzip.ts";
import { spysocketFormat } from "../../lib/format/line_format.ts";
import { CouchClient, takesMultipart } from "../../lib/sink/couchdb.ts";
import { type Batch, feedDocId } from "../../lib/sink/batch.ts";
import {
  batchesOfBytes,
  cpuBurner,
  measure,
  num,
  postBulkBodies,
  type ProcessCost,
  program,
  repeat,
  show,
  type Spread,
  spread,
} from "../measure.ts";
import type { Bench, Section } from "../bench.ts";
import { DEFAULT_BATCH_BYTES as FEED_BATCH_BYTES } from "../../lib/cli/options.ts";
import { couchimport, syslogNg } from "./peers.ts";

async function catchUp(bench: Bench): Promise<void> {
  console.error("2. catch-up into CouchDB");
  const feedLog = await bench.simulatedLog(bench.sizes.feed);
  const cost = (mode: string, path: string, lines: number) =>
    captureCost(bench, mode, path, lines, () => bench.freshDb());
  // Capture and the loaders of its documents take turns, run by run: the server's pace drifts
  // over minutes (its files, its background work), and the ratio compares the two.
  const load = await feedLoaderOf(feedLog, bench.sizes.feed, () => bench.freshDb());
  const feedRuns: ProcessCost[] = [];
  const loaded: [number[], number[]] = [[], []];
  for (let i = 0; i < bench.sizes.runs; i++) {
    loaded[0].push(await load(1));
    feedRuns.push(await captureRun(bench, "feed", feedLog, () => bench.freshDb()));
    loaded[1].push(await load(2));
    console.error(
      `  run ${i + 1}: loader ${num(loaded[0][i])} / ${num(loaded[1][i])} lines/s, capture ${
        num(bench.sizes.feed / feedRuns[i].seconds)
      } lines/s`,
    );
  }
  const feed = costOf(feedRuns, bench.sizes.feed);
  const feedRaw = loaded.map(spread);
  const feedStartup = await startupCost(bench, "feed");
  const startup = (await startupCost(bench, "records")).cpu;
  const withoutStartup = (cpu: number, lines: number, startupCpu = startup) =>
    (cpu * lines / 1e6 - startupCpu) / lines * 1e6;
  // The loaders' rates leave out making their database; capture's run includes starting the
  // process, making its database and finding where to start. Left out too, for the same measure.
  const steadyRate = spread(
    feed.runs.map((run) => bench.sizes.feed / (run.seconds - feedStartup.seconds)),
  );
  // On shared cores capture's own CPU is taken from the server: the same loaders beside a process
  // that keeps as much of a core busy as capture did, to tell that apart from waste in capture.
  const share = (feed.cpu.median * feed.rate.median) / 1e6;
  const burner = cpuBurner(share);
  const burnedFrom = await burner.cpu();
  const burnStart = performance.now();
  const feedRawBeside = [await repeat(bench.sizes.runs, () => load(1))];
  feedRawBeside.push(await repeat(bench.sizes.runs, () => load(2)));
  const burned = (await burner.cpu() - burnedFrom) / ((performance.now() - burnStart) / 1000);
  await burner.stop();
  bench.add(
    "2. Catch-up into CouchDB",
    `capture, feed mode, ${num(bench.sizes.feed)} backlog lines`,
    `${show(feed.rate, 0, "lines/s")}, ${show(steadyRate, 0, "lines/s")} without the ${
      num(feedStartup.seconds, 2)
    } s of start-up; ${num(feed.cpu.median, 2)} CPU-s per million lines (${
      num(withoutStartup(feed.cpu.median, bench.sizes.feed, feedStartup.cpu), 2)
    } without the ${num(feedStartup.cpu, 2)} CPU-s of start-up); peak RSS ${
      num(feed.rss.median)
    } MB`,
    `${
      num((steadyRate.median / feedRaw[1].median) * 100)
    }% of the raw loader of the same documents, two in flight, start-up left out on both sides (${
      num((feed.rate.median / feedRaw[1].median) * 100)
    }% counting capture's). Targets ≥ 60% of that loader, ≤ 1.0 CPU-s per million without start-up`,
  );
  bench.add(
    "2. Catch-up into CouchDB",
    `(f) raw loader: capture's own feed documents (1 MiB of lines each, sent as capture sends them to this server), pre-built, PUT one in flight / two in flight`,
    `${show(feedRaw[0], 0, "lines/s")} / ${show(feedRaw[1], 0, "lines/s")}`,
    "the server's limit for these documents",
  );
  bench.add(
    "2. Catch-up into CouchDB",
    `(f') the same raw loader beside a process keeping ${
      num(burned * 100)
    }% of a core busy (capture used ${num(share * 100)}% of one in its run), one in flight / two`,
    `${show(feedRawBeside[0], 0, "lines/s")} / ${show(feedRawBeside[1], 0, "lines/s")}`,
    `capture reaches ${num((steadyRate.median / feedRawBeside[0].median) * 100)}% / ${
      num((steadyRate.median / feedRawBeside[1].median) * 100)
    }% of these (start-up left out): what its own CPU leaves the server`,
  );
  await monitorBacklog(bench, feedLog, bench.sizes.feed);
  const serverLog = await bench.simulatedLog(bench.sizes.server);
  const records = await cost("records", serverLog, bench.sizes.server);
  const raw = await rawLoader(bench, serverLog, bench.sizes.server, oneLineBodies);
  const ours = await rawLoader(bench, serverLog, bench.sizes.server, recordsBodies);
  const steady = withoutStartup(records.cpu.median, bench.sizes.server);
  bench.add(
    "2. Catch-up into CouchDB",
    `capture, records mode, ${num(bench.sizes.server)} lines (one document each)`,
    `${show(records.rate, 0, "docs/s")}; ${num(records.cpu.median, 2)} CPU-s per million lines (${
      num(steady, 2)
    } without the ${num(startup, 2)} CPU-s of start-up); peak RSS ${num(records.rss.median)} MB`,
    `${num((records.rate.median / raw.median) * 100)}% of the raw loader, ${
      num((records.rate.median / ours.median) * 100)
    }% of the raw loader of the same documents. Targets ≥ 100% of that loader, ≤ 6 CPU-s per million`,
  );
  // The comparison runs are short (the server takes ~10k docs/s); the cost per line is also read
  // over a longer run, where start-up and the compiler's warm-up weigh less.
  const longer = await cost(
    "records",
    await bench.simulatedLog(bench.sizes.steady),
    bench.sizes.steady,
  );
  bench.add(
    "2. Catch-up into CouchDB",
    `capture, records mode, ${num(bench.sizes.steady)} lines: the cost per line over a longer run`,
    `${num(longer.cpu.median, 2)} CPU-s per million lines; ${
      show(longer.rate, 0, "docs/s")
    }; peak RSS ${num(longer.rss.median)} MB`,
    "Target ≤ 6 CPU-s per million",
  );
  bench.add(
    "2. Catch-up into CouchDB",
    `(a) raw loader: pre-built _bulk_docs of 1000 one-line documents, increasing ids, 2 in flight`,
    show(raw, 0, "docs/s"),
    "the server's own limit",
  );
  bench.add(
    "2. Catch-up into CouchDB",
    `(a') the same raw loader with capture's own records-mode documents (${
      num(ours.bytesPerDoc)
    } bytes each, not ${num(raw.bytesPerDoc)})`,
    show(ours, 0, "docs/s"),
    "the server's limit for these documents",
  );
  await syslogNg(bench, serverLog, bench.sizes.server, raw.median);
  await couchimport(bench, serverLog, bench.sizes.server, raw.median);
}

/** Capture catching up on `path` (`lines` lines) in `mode`, into a database of `freshDb` each run. */
export async function captureCost(
  bench: Bench,
  mode: string,
  path: string,
  lines: number,
  freshDb: () => string,
): Promise<{ rate: Spread; cpu: Spread; rss: Spread; runs: ProcessCost[] }> {
  const runs: ProcessCost[] = [];
  for (let i = 0; i < bench.sizes.runs; i++) {
    runs.push(await captureRun(bench, mode, path, freshDb));
  }
  return costOf(runs, lines);
}

/** One run of capture catching up on `path` in `mode`, into a database of `freshDb`. */
async function captureRun(
  bench: Bench,
  mode: string,
  path: string,
  freshDb: () => string,
): Promise<ProcessCost> {
  const cache = join(bench.work, `catchup-${mode}-${crypto.randomUUID()}.json`);
  const result = await measure(
    program("capture", bench.captureArgs(freshDb(), cache, "--once", "--mode", mode, path)),
  );
  if (result.code !== 0) {
    throw new Error(`capture --mode ${mode} failed: ${result.stderr.slice(-500)}`);
  }
  return result;
}

/** Rate, CPU per million lines and peak RSS of capture's `runs` over `lines` lines. */
function costOf(
  runs: ProcessCost[],
  lines: number,
): { rate: Spread; cpu: Spread; rss: Spread; runs: ProcessCost[] } {
  return {
    rate: spread(runs.map((r) => lines / r.seconds)),
    cpu: spread(runs.map((r) => (r.cpuSeconds / lines) * 1e6)),
    rss: spread(runs.map((r) => r.maxRssMb)),
    runs,
  };
}

/** The monitor on a backlog of extracts (made by capture -t first, not measured). */
async function monitorBacklog(bench: Bench, path: string, lines: number): Promise<void> {
  const runs = [];
  for (let i = 0; i < bench.sizes.runs; i++) {
    const drop = await bench.extractsOf(path, "backlog-");
    const result = await measure(
      program("monitor", [
        "--couchdb",
        bench.freshDb(),
        "--year",
        bench.year,
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
  bench.add(
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

/** The batches capture makes of a log: `lines` lines each, or up to `bytes` bytes of them. */
async function batchesOf(
  path: string,
  cut: { lines: number } | { bytes: number },
): Promise<Batch[]> {
  return batchesOfBytes(await Deno.readFile(path), path, cut);
}

/** The bodies capture itself sends in records mode, batches of 1000 lines. */
export async function recordsBodies(path: string): Promise<Uint8Array<ArrayBuffer>[]> {
  const format = spysocketFormat({ columns: "classic", year: 2012 });
  return (await batchesOf(path, { lines: 1000 })).map((batch) =>
    recordDocuments(batch, format).body.slice()
  );
}

/**
 * Capture's own feed documents (batches of its default 1 MiB of lines), pre-built as capture sends
 * them to this server (one multipart request with the CSV gzip-encoded, or JSON with base64): a
 * loader that PUTs them into a fresh database as fast as the server takes them, `inFlight` at a
 * time, and resolves with its rate in lines per second. The ceiling of feed mode.
 */
export async function feedLoaderOf(
  path: string,
  lines: number,
  freshDb: () => string,
  how?: "multipart" | "json",
): Promise<(inFlight: number) => Promise<number>> {
  const format = spysocketFormat({ columns: "classic", year: 2012 });
  const multipart = how
    ? how === "multipart"
    : takesMultipart(await new CouchClient({ url: freshDb() }).serverInfo());
  const gzip = await gzipAt(1);
  const docs = (await batchesOf(path, { bytes: FEED_BATCH_BYTES })).map((batch) => {
    const id = feedDocId(batch.source.id, batch.generation, batch.start);
    if (!multipart) return { id, json: feedDocument(batch, format).json.slice() };
    const parts = feedDocumentParts(batch, format, gzip);
    return { id, json: parts.json, attachments: parts.attachments };
  });
  return async (inFlight) => {
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
  };
}

/** {@linkcode feedLoaderOf}'s rate over the bench's runs, `inFlight` PUTs at a time. */
export async function rawFeedLoader(
  bench: Bench,
  path: string,
  lines: number,
  inFlight: number,
  freshDb: () => string = () => bench.freshDb(),
  how?: "multipart" | "json",
): Promise<Spread> {
  const load = await feedLoaderOf(path, lines, freshDb, how);
  return await repeat(bench.sizes.runs, () => load(inFlight));
}

/** Posts pre-built bodies as fast as the server takes them, two in flight. */
export async function rawLoader(
  bench: Bench,
  path: string,
  lines: number,
  make: (path: string) => Promise<Uint8Array<ArrayBuffer>[]>,
  freshDb: () => string = () => bench.freshDb(),
): Promise<Spread & { bytesPerDoc: number }> {
  const bodies = await make(path);
  const bytesPerDoc = bodies.reduce((n, b) => n + b.length, 0) / lines;
  const rate = await repeat(bench.sizes.runs, async () => {
    const db = freshDb();
    await fetch(db, { method: "PUT" }).then((r) => r.body?.cancel());
    return lines / await postBulkBodies(db, bodies);
  });
  return { ...rate, bytesPerDoc };
}

/**
 * What capture takes to start, make its database, check its cache file and CouchDB, and stop (an
 * empty log) in `mode`: medians of CPU seconds and seconds.
 */
async function startupCost(bench: Bench, mode: string): Promise<{ cpu: number; seconds: number }> {
  const empty = join(bench.work, "empty.log");
  await Deno.writeFile(empty, new Uint8Array(0));
  const runs = [];
  for (let i = 0; i < bench.sizes.runs; i++) {
    const cache = join(bench.work, `startup-${mode}-${i}.json`);
    const args = bench.captureArgs(bench.freshDb(), cache, "--once", "--mode", mode, empty);
    runs.push(await measure(program("capture", args)));
  }
  return {
    cpu: spread(runs.map((run) => run.cpuSeconds)).median,
    seconds: spread(runs.map((run) => run.seconds)).median,
  };
}

/** The catch-up section: the rows it adds. */
export const catchUpSection: Section = {
  name: "catch-up",
  run: (bench) => bench.rowsOf(() => catchUp(bench)),
};
