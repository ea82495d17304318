/**
 * Test helpers: the real programs as child processes (with the permission sets the build compiles
 * in), fresh databases on the test server, and what CouchDB holds, read back line by line.
 * @module
 */
import { freePort, TEST_DB_PREFIX } from "../tools/couch_server.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { csvRowsReference } from "./csv_reference.ts";
import { denoRunArgs } from "../tools/deno_run.ts";
import { createSimulator, simulateText } from "../tools/simulator.ts";
import { parseLine, yearResolver } from "../lib/parse/spysocket.ts";

export const ROOT = join(import.meta.dirname!, "..");
/** The sample data of SPEC.md §6: the 2012 tools' sample logs, their output and their cache file. */
export const FIXTURES = join(ROOT, "tests", "fixtures");

/** The test server's URL (set by `deno task test`). */
export function serverUrl(): string {
  const url = Deno.env.get("COUCHDB_URL");
  if (!url) throw new Error("COUCHDB_URL is not set: run the tests with `deno task test`");
  return url.replace(/\/+$/, "");
}

/** The test server's user and password, from its URL (none for an open server). */
export function serverCredentials(): { user?: string; password?: string } {
  const url = new URL(serverUrl());
  return {
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

export { TEST_DB_PREFIX };

let dbCounter = 0;
// Databases handed out by freshDb, deleted by the test that asked for them when it ends.
const handedOut: string[] = [];

/**
 * A database URL on the test server that no other test uses. A test that asks for one is
 * declared with {@linkcode test}, which deletes it when the test ends.
 */
export function freshDb(label = "t"): string {
  const name = `${TEST_DB_PREFIX}${label}_${Date.now().toString(36)}_${
    (dbCounter++).toString(36)
  }_${Math.random().toString(36).slice(2, 6)}`;
  const url = `${serverUrl()}/${name}`;
  handedOut.push(url);
  return url;
}

/**
 * `Deno.test`, and every database the test got from {@linkcode freshDb} deleted when it ends,
 * pass or fail, so that the suite leaves nothing in the user's server. The tests of a file run
 * one after another, so the databases handed out since the test began are its own.
 */
export function test(
  name: string,
  fn: () => Promise<void> | void,
  options: { ignore?: boolean } = {},
): void {
  Deno.test({ name, ignore: options.ignore }, async () => {
    const from = handedOut.length;
    try {
      await fn();
    } finally {
      await deleteDatabases(handedOut.splice(from));
    }
  });
}

// A database that cannot be deleted is only reported here, so that it never hides the test's own
// failure; `deno task test` counts what the suite left behind and fails the run on it.
async function deleteDatabases(urls: string[]): Promise<void> {
  for (const url of urls) {
    const response = await fetch(url, { method: "DELETE" }).catch((e) => e as Error);
    if (response instanceof Error) console.error(`cannot delete ${dbName(url)}: ${response}`);
    else {
      await response.body?.cancel();
      if (!response.ok && response.status !== 404) {
        console.error(`cannot delete ${dbName(url)}: ${response.status}`);
      }
    }
  }
}

/** A temporary folder, removed when disposed. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "logcapture-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** `deno run` arguments for a program, with its permission set from deno.json. */
export function programArgs(program: "capture" | "monitor", args: string[]): string[] {
  return denoRunArgs(program, `${program}.ts`, args);
}

/** Runs a program to its end. */
export async function run(
  program: "capture" | "monitor",
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: programArgs(program, args),
    env,
    signal: AbortSignal.timeout(60_000),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: stripWarnings(decoder.decode(out.stderr)),
  };
}

/** Drops Deno's own warning about permissions in the config file. */
function stripWarnings(text: string): string {
  return text.split("\n").filter((l) => !l.includes("Permissions in the config file")).join("\n");
}

/** A program running in the background, whose stderr can be awaited line by line. */
export class Running {
  readonly child: Deno.ChildProcess;
  stderr = "";
  #waiters: { re: RegExp; from: number; resolve: (m: string) => void }[] = [];
  readonly done: Promise<Deno.CommandStatus>;

  /** `wrap` runs the program under another command (say, `setpriv` dropping capabilities). */
  constructor(
    program: "capture" | "monitor",
    args: string[],
    env: Record<string, string> = {},
    wrap: string[] = [],
  ) {
    const command = [...wrap, Deno.execPath(), ...programArgs(program, args)];
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.child = child;
    const pump = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.stderr += decoder.decode(chunk, { stream: true });
        this.#check();
      }
    })();
    this.done = pump.then(() => this.child.status);
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      const m = w.re.exec(this.stderr.slice(w.from));
      if (m) w.resolve(m[0]);
      return !m;
    });
  }

  /** Resolves with the first stderr text matching `re` (from `from` on); rejects after `ms`. */
  waitFor(re: RegExp, ms = 20_000, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`timed out waiting for ${re} in stderr:\n${this.stderr.slice(-3000)}`)),
        ms,
      );
      this.#waiters.push({
        re,
        from,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
      this.#check();
      this.done.then(() => {
        setTimeout(() => {
          if (this.#waiters.some((w) => w.re === re)) {
            clearTimeout(timer);
            reject(new Error(`process ended before ${re} appeared:\n${this.stderr.slice(-3000)}`));
          }
        }, 50);
      });
    });
  }

  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.done;
  }
}

/** GET a JSON document from CouchDB. */
export async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  return await response.json();
}

/** Waits until `check` returns true, checking every 50 ms; fails after `ms`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  ms = 20_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One line as CouchDB holds it. */
export interface StoredLine {
  generation: number;
  offset: number;
  /** The CSV row (feed mode) or the document's vehicle/time (records mode). */
  row: string;
}

interface FeedDoc {
  _id: string;
  source: { generation: number; start: number; end: number };
  rows: number;
  _attachments: { feed: { data: string } };
}

/** Every feed document of a database, attachments decoded, in id order. */
export async function feedDocs(db: string): Promise<(FeedDoc & { csv: string[] })[]> {
  const body = await getJson(
    `${db}/_all_docs?include_docs=true&attachments=true&startkey=${
      encodeURIComponent('"feed:"')
    }&endkey=${encodeURIComponent('"feed:\ufff0"')}`,
  );
  const rows = (body.rows as { doc: FeedDoc }[]) ?? [];
  return rows.map(({ doc }) => {
    const csv = atob(doc._attachments.feed.data).split("\n").slice(1).filter((l) => l !== "");
    return { ...doc, csv };
  });
}

/** Every records-mode document of a database, in id order. */
export async function recordDocs(db: string): Promise<Record<string, unknown>[]> {
  const body = await getJson(
    `${db}/_all_docs?include_docs=true&startkey=${encodeURIComponent('"rec:"')}&endkey=${
      encodeURIComponent('"rec:\ufff0"')
    }`,
  );
  return ((body.rows as { doc: Record<string, unknown> }[]) ?? []).map((r) => r.doc);
}

/** The lines of `bytes`: where each starts, and its text without the `\n` (a `\r` is kept). */
export function linesOf(bytes: Uint8Array): { start: number; text: string }[] {
  const decoder = new TextDecoder();
  const lines: { start: number; text: string }[] = [];
  for (let start = 0; start < bytes.length;) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    lines.push({ start, text: decoder.decode(bytes.subarray(start, end)) });
    start = newline < 0 ? bytes.length : newline + 1;
  }
  return lines;
}

/** The CSV rows a file must give (classic columns, year fixed), in order, made by csv-stringify. */
export function expectedRows(bytes: Uint8Array, year = 2012): string[] {
  const years = yearResolver({ year });
  return linesOf(bytes).flatMap(({ text }) => {
    const report = parseLine(text, years);
    return report.kind === "rejected" ? [] : [csvRowsReference([report], "classic").slice(0, -1)];
  });
}

/** The offsets of the non-blank lines of a file. */
export function lineOffsets(bytes: Uint8Array): number[] {
  return linesOf(bytes).filter(({ text }) => text.trim() !== "").map(({ start }) => start);
}

/**
 * Checks that the feed documents of one generation cover `[0, end)` exactly once, contiguous and
 * without overlap, and returns their rows in order.
 */
export async function feedRowsOnce(db: string, end: number, generation = 0): Promise<string[]> {
  const docs = (await feedDocs(db)).filter((d) => d.source.generation === generation)
    .sort((a, b) => a.source.start - b.source.start);
  let at = 0;
  const rows: string[] = [];
  for (const doc of docs) {
    if (doc.source.start !== at) {
      throw new Error(
        `feed documents of generation ${generation} ${
          at < doc.source.start ? "leave a gap" : "overlap"
        } at ${at}: ${doc._id}`,
      );
    }
    at = doc.source.end;
    rows.push(...doc.csv);
  }
  if (at !== end) {
    throw new Error(`feed documents of generation ${generation} end at ${at}, the log at ${end}`);
  }
  return rows;
}

/**
 * The arguments of a capture into `db` with its cache file in `dir`, as most tests run it: the year
 * fixed, the source named `t`, short flush and poll times; `extra` (flags, then the log) follow.
 */
export function captureArgs(db: string, dir: string, ...extra: string[]): string[] {
  return [
    "--couchdb",
    db,
    "--cache",
    `${dir}/cache.json`,
    "--year",
    "2012",
    "--source",
    "t",
    "--flush",
    "100ms",
    "--poll",
    "100ms",
    ...extra,
  ];
}

/** The spysocket line of number `n` (its vehicle is `V.1.n`), so that each line can be counted. */
export function numberedLine(n: number): string {
  return `07:04:42 02/15  V.1.${n}  H.0.0  MT_LOCATION    Lat/Lon:370620935/-763413842 [Valid]  Adher:-1 [Valid]  Odom:2668 [Valid]  DGPS:On  FOM:2\n`;
}

/** Lines `from` to `to` (exclusive), numbered (see {@linkcode numberedLine}). */
export function numbered(from: number, to: number): string {
  let text = "";
  for (let n = from; n < to; n++) text += numberedLine(n);
  return text;
}

/**
 * The log daemon (tests/log_daemon.ts) writing to `log`, running: it keeps its file open across a
 * rename until told to reopen (SIGHUP); `args` are its flags (`--from`, `--to`, `--rate`, ...).
 */
export function logDaemon(log: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tests", "log_daemon.ts"), "--log", log, ...args],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

/** Whether `command` runs here (`--version` answers): a tool of Debian's that tests may need. */
export async function hasCommand(command: string): Promise<boolean> {
  return await new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((o) => o.success, () => false);
}

/** Appends text to a file. */
export async function append(path: string, text: string | Uint8Array): Promise<void> {
  await Deno.writeFile(path, typeof text === "string" ? new TextEncoder().encode(text) : text, {
    append: true,
    create: true,
  });
}

export { Proxy } from "../tools/proxy.ts";

/** The database name of a database URL. */
export function dbName(url: string): string {
  return url.split("/").pop()!;
}

export { freePort as freePortForTest } from "../tools/couch_server.ts";

/** Simulated lines for a test file: `lines(n)` gives `n` more lines, `\n`-ended, dated 2012-02-15. */
export function simulatedLines(seed: number): (n: number) => string {
  const sim = createSimulator({ seed });
  return (n) => simulateText(sim, n, new Date(2012, 1, 15, 7, 4, 42));
}

/**
 * Appends lines until stopped, 40 at a time; `ragged` splits each write in two at a random byte,
 * so that capture meets partial lines.
 */
export function startWriter(
  path: string,
  lines: (n: number) => string,
  ragged = false,
): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    while (running) {
      const text = new TextEncoder().encode(lines(40));
      const cut = ragged ? 1 + Math.floor(Math.random() * (text.length - 2)) : text.length;
      await append(path, text.subarray(0, cut));
      if (cut < text.length) {
        await new Promise((r) => setTimeout(r, 5));
        await append(path, text.subarray(cut));
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** How far the feed documents of `generation` reach, contiguously from 0. */
export async function feedEnd(db: string, generation = 0): Promise<number> {
  const docs = (await feedDocs(db).catch(() => [])).filter((d) =>
    d.source.generation === generation
  )
    .sort((a, b) => a.source.start - b.source.start);
  let at = 0;
  for (const d of docs) if (d.source.start === at) at = d.source.end;
  return at;
}

/** Feed documents of `generation` cover the file exactly once, with the rows it must give. */
export async function assertFeedOnce(db: string, bytes: Uint8Array, generation = 0): Promise<void> {
  const rows = await feedRowsOnce(db, bytes.length, generation);
  if (JSON.stringify(rows) !== JSON.stringify(expectedRows(bytes))) {
    throw new Error(
      `generation ${generation}: CouchDB holds ${rows.length} rows, the log gives ${
        expectedRows(bytes).length
      }, or they differ`,
    );
  }
}

/**
 * `capture verify` agrees that the log (and its rotated files) is in CouchDB once: run beside a
 * test's own count, so that a bug in verify cannot hide a bug in capture, nor the other way round.
 * `extra` are the capture's flags (`--mode records`).
 */
export async function assertVerified(
  db: string,
  dir: string,
  log: string,
  ...extra: string[]
): Promise<void> {
  const result = await run("capture", ["verify", ...captureArgs(db, dir, ...extra, log)]);
  assert.equal(result.code, 0, `capture verify: ${result.stdout}${result.stderr}`);
}

/** Records-mode documents hold each non-blank line of the file once, all in one generation. */
export async function assertRecordsOnce(db: string, bytes: Uint8Array): Promise<void> {
  const docs = await recordDocs(db);
  const offsets = docs.map((d) => d.line_offset as number).sort((a, b) => a - b);
  assert.deepEqual(offsets, lineOffsets(bytes));
  assert.equal(new Set(docs.map((d) => d.generation)).size, 1);
}

/** One metric of a program's `/metrics` on `port` (NaN when it is not there). */
export async function readMetric(
  port: number,
  program: "capture" | "monitor",
  name: string,
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^logcapture_${program}_${name} (\\S+)$`, "m").exec(text)?.[1]);
}

/** A stand-in server on loopback answering every request with `answer`, counting them. */
export function fakeServer(
  answer: (request: Request) => Response,
): { url: string; requests: () => number } & AsyncDisposable {
  const controller = new AbortController();
  let requests = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen() {},
  }, (request) => {
    requests++;
    return answer(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    [Symbol.asyncDispose]: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

/** A stand-in for a CouchDB that refuses every request's credentials, as CouchDB does (401). */
export function refusingServer(): ReturnType<typeof fakeServer> {
  return fakeServer(() =>
    Response.json({ error: "unauthorized", reason: "Name or password is incorrect." }, {
      status: 401,
    })
  );
}

/** Runs a tool script (`tools/…`, `bench/…`) with the tools permission set. */
export function toolArgs(script: string, args: string[]): string[] {
  return denoRunArgs("tools", script, args);
}

/**
 * A monitor receiving extracts over HTTP on a free loopback port (`--listen`), its token in
 * `DIR/token` (0600), storing what it takes from `drop` into `db`; started and listening.
 */
export async function receivingMonitor(
  dir: string,
  drop: string,
  db: string,
  token = "tok",
  ...extra: string[]
): Promise<{ monitor: Running; url: string; port: number; tokenFile: string }> {
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, `${token}\n`);
  await Deno.chmod(tokenFile, 0o600);
  const port = freePort();
  const monitor = new Running("monitor", [
    ...extra,
    ...["--couchdb", db, "--year", "2012", "--poll-ms", "100"],
    ...["--listen", `127.0.0.1:${port}`, "--token-file", tokenFile, drop],
  ]);
  await monitor.waitFor(/receiving extracts/);
  return { monitor, url: `http://127.0.0.1:${port}`, port, tokenFile };
}
