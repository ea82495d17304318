/**
 * What every section of the bench shares: the sizes of this run (quick or full), a temporary
 * folder, the CouchDB server and a fresh database per measure (all deleted at the end), the
 * simulated logs, made once each, and the rows each section adds to the table.
 * @module
 */
import { join } from "node:path";
import { createSimulator, simulateText } from "../tools/simulator.ts";
import { serverName } from "../tools/real_couchdb.ts";
import { benchServer, measure, program } from "./measure.ts";

/** How much each section does: small for `--quick`, full otherwise. */
export interface Sizes {
  /** Runs of each measure (medians are of these). */
  runs: number;
  /** Lines read and formatted in-process. */
  parse: number;
  /** Lines of the feed-mode catch-up. */
  feed: number;
  /** Lines sent one document each (the server's own limit). */
  server: number;
  /** Lines of the steady-state cost. */
  steady: number;
  /** Seconds of each live latency run. */
  latencyS: number;
  /** The write rates of the live latency runs (lines/s). */
  rates: number[];
  /** Bytes of the memory run's log. */
  memBytes: number;
  /** Seconds of the idle run. */
  idleS: number;
  /** Log sizes of the scaling runs (lines). */
  scaling: number[];
  /** Seconds of the slow-client runs. */
  slowS: number;
  /** Clients of the receiver load. */
  uploads: number;
}

/** The sizes of a quick run: a smoke check, not figures. */
export const QUICK_SIZES: Sizes = {
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
};

/** The sizes of a full run. */
export const FULL_SIZES: Sizes = {
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

/** One row of the table. */
export interface Row {
  /** The section, as the table groups rows. */
  section: string;
  /** What was measured. */
  measure: string;
  /** logcapture's figure. */
  result: string;
  /** The peer or target beside it. */
  beside?: string;
}

/** One section of the bench: its name for `--only`, and what it measures. */
export interface Section {
  /** Its name for `--only`. */
  name: string;
  /** Runs it: the rows it adds to the table. */
  run(bench: Bench): Promise<Row[]>;
}

/** The run's shared state; see the module doc. */
export class Bench {
  /** The sizes of this run. */
  readonly sizes: Sizes;
  /** Whether missing peers may be installed (`--install-peers`). */
  readonly installPeers: boolean;
  /** The temporary folder, removed at the end. */
  readonly work: string;
  /** The server's URL, with credentials. */
  readonly base: string;
  /** The server, for the report's first line. */
  readonly serverVersion: string;
  /** The year every report is given (the simulated logs are of 2012). */
  readonly year = "2012";
  /** The simulated logs, by size. */
  readonly logs = new Map<string, string>();
  /** Capture's RSS as the live latency runs found it, for the memory section. */
  readonly liveMemory: string[] = [];
  readonly #server: AsyncDisposable;
  readonly #databases: string[] = [];
  #rows: Row[] = [];

  private constructor(
    options: { sizes: Sizes; installPeers: boolean; work: string },
    server: { server: AsyncDisposable; base: string; version: string },
  ) {
    this.sizes = options.sizes;
    this.installPeers = options.installPeers;
    this.work = options.work;
    this.base = server.base;
    this.serverVersion = server.version;
    this.#server = server.server;
  }

  /** Starts (or finds) the server and makes the temporary folder. */
  static async open(options: { sizes: Sizes; installPeers: boolean }): Promise<Bench> {
    const work = await Deno.makeTempDir({ prefix: "logcapture-bench-" });
    const { server, base, how } = await benchServer();
    const version = `${await serverName(base)} (${how})`;
    console.error(`server: ${version}`);
    return new Bench({ ...options, work }, { server, base, version });
  }

  /** Adds a row to the table, and says it on stderr as it comes. */
  add(section: string, measure: string, result: string, beside = ""): void {
    this.#rows.push({ section, measure, result, beside });
    console.error(`  ${measure}: ${result}${beside ? ` | ${beside}` : ""}`);
  }

  /** Runs `section`: the rows it added. */
  async rowsOf(section: () => Promise<void>): Promise<Row[]> {
    const before = this.#rows;
    this.#rows = [];
    try {
      await section();
      return this.#rows;
    } finally {
      this.#rows = before;
    }
  }

  /** A database of its own for one measure, deleted at the end. */
  freshDb(): string {
    const db = `${this.base}/bench_${Date.now().toString(36)}_${this.#databases.length}`;
    this.#databases.push(db);
    return db;
  }

  /** A simulated log of `lines` lines, made once and reused. */
  async simulatedLog(lines: number): Promise<string> {
    const key = `lines-${lines}`;
    if (this.logs.has(key)) return this.logs.get(key)!;
    const path = join(this.work, `${key}.log`);
    const sim = createSimulator({ seed: 42 });
    const when = new Date(2012, 1, 15, 7, 4, 42);
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    for (let done = 0; done < lines;) {
      const n = Math.min(50_000, lines - done);
      await file.write(new TextEncoder().encode(simulateText(sim, n, when)));
      done += n;
    }
    this.logs.set(key, path);
    return path;
  }

  /** capture's arguments into database `db` with its cache file `cache`. */
  captureArgs(db: string, cache: string, ...extra: string[]): string[] {
    return ["--couchdb", db, "--cache", cache, "--year", this.year, "--source", "bench", ...extra];
  }

  /** A drop directory holding the log at `path` as extracts (capture -t, not measured). */
  async extractsOf(path: string, prefix: string): Promise<string> {
    const drop = await Deno.makeTempDir({ dir: this.work, prefix });
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

  /** Deletes every database made, stops the server, removes the folder. */
  async close(): Promise<void> {
    for (const db of this.#databases) {
      await fetch(db, { method: "DELETE" }).then((r) => r.body?.cancel()).catch(() => {});
    }
    await this.#server[Symbol.asyncDispose]();
    await Deno.remove(this.work, { recursive: true }).catch(() => {});
  }
}
