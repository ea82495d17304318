/**
 * 3. Live latency: a writer at a steady rate, and how long each line takes to be readable in CouchDB, all-in-one and two-host.
 * @module
 */
import { join } from "node:path";
import { createSimulator, simulateText } from "../../tools/simulator.ts";
import { freePort } from "../../tools/couch_server.ts";
import { Proxy } from "../../tools/proxy.ts";
import { getJson, num, program, waitUntil, Watched } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";

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

export async function latency(
  bench: Bench,
  config: Configuration,
  rate: number,
  seconds: number,
  proxy?: Proxy,
  rssEveryS = seconds / 4,
  captureExtra: string[] = [],
): Promise<LatencyResult> {
  const dir = await Deno.makeTempDir({ dir: bench.work, prefix: "latency-" });
  const log = join(dir, "spysocket.log");
  await Deno.writeTextFile(log, "");
  const name = bench.freshDb().split("/").pop()!;
  const db = `${bench.base}/${name}`;
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
      program("capture", bench.captureArgs(couch, join(dir, "c.json"), ...captureExtra, log)),
    );
  } else {
    const drop = join(dir, "drop");
    await Deno.mkdir(drop);
    const tail = ["-t", "Tail_Only", "--cache", join(dir, "c.json"), "--source", "bench"];
    const monitor = ["--couchdb", couch, "--year", bench.year];
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
export function latencyText(r: LatencyResult): string {
  return `p50 ${num(r.p50)} ms, p95 ${num(r.p95)} ms, p99 ${num(r.p99)} ms; ${
    num(r.docsPerMinute)
  } feed documents a minute (${num(r.linesPerDoc)} lines each); ${
    num(r.behindAtEnd)
  } bytes behind at the end`;
}

export const MEMORY_TARGET = "syslog-ng measured at 33 MB. Target ≤ 80 MB, not growing";

async function liveLatency(bench: Bench): Promise<void> {
  console.error("3. live latency");
  for (const config of ["all-in-one", "two-host", "two-host over HTTP"] as const) {
    for (const rate of config === "two-host over HTTP" ? [1000] : bench.sizes.rates) {
      const r = await latency(bench, config, rate, bench.sizes.latencyS);
      // The default --flush (1 s in feed mode and tail-only): about one document a second.
      const target = rate === 1000
        ? "Target p99 ≤ 1.1 s at the default --flush 1s, about 60 documents a minute"
        : rate === 10_000
        ? "Target: no growing lag"
        : "";
      bench.add(
        "3. Live latency (append → visible in _changes)",
        `${config}, ${num(rate)} lines/s for ${bench.sizes.latencyS} s`,
        latencyText(r),
        target,
      );
      if (config !== "two-host over HTTP" && rate === 1000) {
        // Low latency is one flag away, at about twenty documents a second.
        const fast = await latency(
          bench,
          config,
          rate,
          bench.sizes.latencyS,
          undefined,
          undefined,
          [
            "--flush",
            "50ms",
          ],
        );
        bench.add(
          "3. Live latency (append → visible in _changes)",
          `${config}, ${num(rate)} lines/s for ${bench.sizes.latencyS} s, --flush 50ms`,
          latencyText(fast),
          config === "all-in-one"
            ? "Target p99 ≤ 100 ms"
            : "Target p99 ≤ 200 ms (through a drop directory)",
        );
      }
      if (config === "all-in-one" && rate === 1000) {
        const [early] = r.rss, end = r.rss.at(-1)!;
        bench.liveMemory.push(
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

/** The latency section: the rows it adds. */
export const latencySection: Section = {
  name: "latency",
  run: (bench) => bench.rowsOf(() => liveLatency(bench)),
};
