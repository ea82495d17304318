/**
 * Measuring helpers for the benchmarks: processes with their CPU time and peak memory, medians,
 * the test server, and the programs started exactly as the tests start them.
 * @module
 */
import { join } from "node:path";
import { denoRunArgs } from "../tools/deno_run.ts";
import type { Batch } from "../lib/sink/batch.ts";
import { lineRuns } from "../lib/source/lines.ts";
import { fitBytes } from "../lib/run/batch_builder.ts";
import { startCouchServer } from "../tools/couch_server.ts";
import { couchdbScripts, startCouchdb } from "../tools/real_couchdb.ts";

export const ROOT = join(import.meta.dirname!, "..");

/** Median, minimum and maximum of some runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** The spread of `values`. */
export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: values.length };
}

/** A number for a table: 1234567 → "1,234,567", small numbers with some decimals. */
export function num(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** "median (min–max, N runs)" */
export function show(s: Spread, digits = 0, unit = ""): string {
  const u = unit ? ` ${unit}` : "";
  return s.runs > 1
    ? `${num(s.median, digits)}${u} (${num(s.min, digits)}–${num(s.max, digits)}, ${s.runs} runs)`
    : `${num(s.median, digits)}${u}`;
}

/** What a finished process cost. */
export interface ProcessCost {
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  code: number;
  stderr: string;
}

// getrusage(RUSAGE_CHILDREN) gives the CPU and peak RSS of the child alone.
const RUSAGE = "import resource,subprocess,sys,time\n" +
  "t=time.time(); p=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); e=time.time()-t\n" +
  "r=resource.getrusage(resource.RUSAGE_CHILDREN)\n" +
  "print('RUSAGE %f %f %d %d' % (e, r.ru_utime+r.ru_stime, r.ru_maxrss, p.returncode), file=sys.stderr)";

/** Runs a command to its end and measures it. */
export async function measure(
  command: string[],
  env: Record<string, string> = {},
): Promise<ProcessCost> {
  const out = await new Deno.Command("python3", {
    args: ["-c", RUSAGE, ...command],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const m = /RUSAGE (\S+) (\S+) (\d+) (-?\d+)/.exec(stderr);
  if (!m) throw new Error(`could not measure ${command.join(" ")}: ${stderr.slice(-500)}`);
  return {
    seconds: Number(m[1]),
    cpuSeconds: Number(m[2]),
    maxRssMb: Number(m[3]) / 1024,
    code: Number(m[4]),
    stderr,
  };
}

/** The command line of a program, as the tests and the build run it. */
export function program(name: "capture" | "monitor", args: string[]): string[] {
  return [Deno.execPath(), ...denoRunArgs(name, `${name}.ts`, args)];
}

/** CPU seconds (user + system) a running process has used so far. */
export async function processCpu(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

/** Resident memory of a running process now, and its peak, in MB. */
export async function processMemory(pid: number): Promise<{ rssMb: number; peakMb: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/**
 * A program the bench runs beside its measurements, watched: the end of its stderr is kept, and
 * reading its CPU or memory after it has died says so, with its exit code and last words (a
 * program refused by the server used to surface as a missing `/proc/PID/stat`).
 */
export class Watched {
  readonly child: Deno.ChildProcess;
  readonly name: string;
  #stderr = "";
  #status: Deno.CommandStatus | null = null;
  readonly #pump: Promise<void>;

  constructor(command: string[], name = command.find((a) => /\.ts$/.test(a)) ?? command[0]) {
    this.name = name;
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#pump = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-2000);
      }
    })().catch(() => {});
    this.child.status.then((status) => (this.#status = status));
  }

  get pid(): number {
    return this.child.pid;
  }

  /** CPU seconds it has used so far. */
  cpu(): Promise<number> {
    return this.#read(() => processCpu(this.pid));
  }

  /** Its resident memory now, and its peak, in MB. */
  memory(): Promise<{ rssMb: number; peakMb: number }> {
    return this.#read(() => processMemory(this.pid));
  }

  async #read<T>(read: () => Promise<T>): Promise<T> {
    try {
      if (!this.#status) return await read();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const status = await this.child.status;
    await this.#pump;
    throw new Error(
      `${this.name} exited (code ${status.code}) while being measured: ${this.#stderr.trim()}`,
    );
  }

  /** Stops it (SIGTERM) and waits for its end. */
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // ended already
    }
    await this.child.status;
    await this.#pump;
  }
}

/**
 * A process that keeps `share` of one core busy until stopped, spinning 2 ms at a time whenever it
 * is behind that share since it began: what a client's own CPU use takes from a server on the same
 * cores, without its requests.
 */
export function cpuBurner(share: number): Watched {
  const code = `const start = performance.now(); let busy = 0; for (;;) { ` +
    `const now = performance.now(); if (busy < ${share} * (now - start)) { ` +
    `while (performance.now() < now + 2); busy += performance.now() - now; } ` +
    `else await new Promise((r) => setTimeout(r, 2)); }`;
  return new Watched([Deno.execPath(), "eval", code], "cpu burner");
}

/** GET JSON from CouchDB. */
export async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  return await response.json();
}

/** Documents in a database (0 when it does not exist yet). */
export async function docCount(db: string): Promise<number> {
  const info = await getJson(db).catch(() => ({}));
  return Number((info as { doc_count?: number }).doc_count ?? 0);
}

/** Waits until `check` holds, every `everyMs`; false after `ms`. */
export async function waitUntil(
  check: () => Promise<boolean>,
  ms: number,
  everyMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

/** Runs `fn` `runs` times and gives the spread of what it returns. */
export async function repeat(runs: number, fn: (run: number) => Promise<number>): Promise<Spread> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await fn(i));
  return spread(values);
}

/**
 * The server users run, when it is at hand: `COUCHDB_URL`, else an Apache CouchDB node from its
 * release beside the project, else pouchdb-server. Disposing of it stops what was started.
 */
export async function benchServer(): Promise<
  { server: AsyncDisposable; base: string; how: string }
> {
  const given = Deno.env.get("COUCHDB_URL")?.replace(/\/+$/, "");
  if (given) {
    return {
      server: { [Symbol.asyncDispose]: async () => {} },
      base: given,
      how: "given by COUCHDB_URL",
    };
  }
  if (couchdbScripts()) {
    const couchdb = await startCouchdb();
    return { server: couchdb, base: couchdb.url, how: "single node, started by the bench" };
  }
  const pouchdb = await startCouchServer();
  return { server: pouchdb, base: pouchdb.url, how: "in memory, started by the bench" };
}

/**
 * Posts pre-built `_bulk_docs` bodies into the database `db` (which exists) as fast as the server
 * takes them, two in flight: how many seconds it took. A body the server refuses is an error.
 */
export async function postBulkBodies(
  db: string,
  bodies: Uint8Array<ArrayBuffer>[],
): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const response = await fetch(`${db}/_bulk_docs`, {
        method: "POST",
        body: bodies[next++],
        headers: { "Content-Type": "application/json" },
      });
      if (response.status !== 201 && response.status !== 202) {
        throw new Error(`${db}/_bulk_docs: ${response.status} ${await response.text()}`);
      }
      await response.body?.cancel();
    }
  };
  await Promise.all([worker(), worker()]);
  return (performance.now() - started) / 1000;
}

/**
 * The batches capture makes of the log bytes `bytes` at `path`: `lines` lines each (records mode),
 * or as many whole lines as fit in `bytes` bytes (feed mode).
 */
export function batchesOfBytes(
  bytes: Uint8Array,
  path: string,
  cut: { lines: number } | { bytes: number },
): Batch[] {
  const file = { dev: 0, ino: 0, head: "", headLength: 0 };
  const runs: [number, number][] = "lines" in cut ? [...lineRuns(bytes, cut.lines)] : [];
  if ("bytes" in cut) {
    for (let start = 0; start < bytes.length;) {
      const end = fitBytes(bytes, start, cut.bytes);
      runs.push([start, end]);
      start = end;
    }
  }
  return runs.map(([start, end]): Batch => ({
    source: { id: "bench", host: "bench", path, file },
    generation: 0,
    start,
    end,
    data: bytes.subarray(start, end),
    oversized: null,
    readAt: new Date(),
  }));
}
