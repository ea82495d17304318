/**
 * The peers, configured as their documentation advises: syslog-ng (its http destination to `_bulk_docs`) and couchimport; installed only with `--install-peers`.
 * @module
 */
import { join } from "node:path";
import { ByteWriter } from "../../lib/base/bytes.ts";
import { formatCsv } from "../../lib/format/reports.ts";
import { yearResolver } from "../../lib/parse/spysocket.ts";
import { csvHeader } from "../../lib/format/csv.ts";
import { docCount, measure, num, processCpu, ROOT, show, spread, waitUntil } from "../measure.ts";
import type { Bench } from "../bench.ts";

export async function haveCommand(command: string, args = ["--version"]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false; // not installed: spawning fails at once
  }
}

/** syslog-ng lives in /usr/sbin, which a user's PATH may not hold. */
export const SYSLOG_NG = Deno.env.get("PATH")?.split(":").includes("/usr/sbin")
  ? "syslog-ng"
  : "/usr/sbin/syslog-ng";

/** Installs a Debian package when missing and possible (root, apt reachable). */
async function ensureDebian(bench: Bench, command: string, packages: string[]): Promise<boolean> {
  if (await haveCommand(command)) return true;
  if (!bench.installPeers || Deno.uid() !== 0) return false;
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
export async function runSyslogNg(
  bench: Bench,
  path: string,
  lines: number,
  db: string,
  tag: string,
): Promise<{ seconds: number; cpu: number; docs: number }> {
  const dir = await Deno.makeTempDir({ dir: bench.work, prefix: `syslog-ng-${tag}-` });
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

export async function syslogNg(
  bench: Bench,
  path: string,
  lines: number,
  rawRate: number,
): Promise<void> {
  const what = `(b) syslog-ng: file(no-parse) → http() _bulk_docs; ${SYSLOG_NG_SETTINGS}`;
  if (!await ensureDebian(bench, SYSLOG_NG, ["syslog-ng-core", "syslog-ng-mod-http"])) {
    bench.add(
      "2. Catch-up into CouchDB",
      what,
      "n/a: syslog-ng not installed (deno task bench --install-peers installs it)",
    );
    return;
  }
  const runs = [];
  for (let i = 0; i < bench.sizes.runs; i++) {
    runs.push(await runSyslogNg(bench, path, lines, bench.freshDb(), `catchup${i}`));
  }
  const rate = spread(runs.map((r) => r.docs / r.seconds));
  bench.add(
    "2. Catch-up into CouchDB",
    what,
    `${show(rate, 0, "docs/s")}; ${
      num(spread(runs.map((r) => (r.cpu / lines) * 1e6)).median, 2)
    } CPU-s per million lines`,
    `${num((rate.median / rawRate) * 100)}% of the raw loader`,
  );
}

export async function couchimport(
  bench: Bench,
  path: string,
  lines: number,
  rawRate: number,
): Promise<void> {
  const prefix = join(ROOT, ".cache", "couchimport");
  const bin = join(prefix, "node_modules", ".bin", "couchimport");
  if (bench.installPeers && !await Deno.stat(bin).then(() => true, () => false)) {
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
  const csvPath = join(bench.work, "couchimport.csv");
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
      bench.add(
        "2. Catch-up into CouchDB",
        what,
        "n/a: couchimport not installed (deno task bench --install-peers installs it)",
      );
      continue;
    }
    const runs = [];
    for (let i = 0; i < bench.sizes.runs; i++) {
      const db = bench.freshDb();
      await fetch(db, { method: "PUT" }).then((r) => r.body?.cancel());
      const name = db.split("/").pop()!;
      const result = await measure([
        "sh",
        "-c",
        `'${bin}' --url '${bench.base}' --db '${name}' --delimiter ',' ${
          extra.join(" ")
        } < '${csvPath}'`,
      ]);
      runs.push({ ...result, docs: await docCount(db) });
    }
    const rate = spread(runs.map((r) => r.docs / r.seconds));
    bench.add(
      "2. Catch-up into CouchDB",
      what,
      `${show(rate, 0, "docs/s")}; ${
        num(spread(runs.map((r) => (r.cpuSeconds / lines) * 1e6)).median, 2)
      } CPU-s per million lines`,
      `${num((rate.median / rawRate) * 100)}% of the raw loader`,
    );
  }
}
