/**
 * `monitor`: on the second host, stores each extract that capture hands over in CouchDB as CSV.
 * `monitor convert` re-processes old spysocket files into CSV on stdout.
 * Run `monitor --help` for the options.
 * @module
 */
import { join } from "./lib/base/posix_path.ts";
import { DONE_FOLDER, listExtracts, REJECTED_FOLDER } from "./lib/sink/extracts.ts";
import { describeVerify } from "./lib/run/verify.ts";
import { MANIFEST_FOLDER, parseManifest, verifyManifest } from "./lib/run/verify_manifest.ts";
import { printableConfig } from "./lib/cli/config.ts";
import { UsageError } from "./lib/base/errors.ts";
import { readSecretFile } from "./lib/base/secret.ts";
import { convertFiles } from "./lib/run/convert.ts";
import { holdLock } from "./lib/source/lock.ts";
import { runMain } from "./lib/cli/main.ts";
import {
  type Check,
  CheckFailure,
  couchChecks,
  describeOrigins,
  dropDirectoryCheck,
  dropDirectoryLockCheck,
  listenCheck,
  pemFileCheck,
  runChecks,
  tlsPairCheck,
} from "./lib/cli/check.ts";
import { monitorMetrics, NO_REQUESTS } from "./lib/cli/metrics.ts";
import { newMonitorStats } from "./lib/run/extract_sender.ts";
import { heldPosition, runMonitor } from "./lib/run/monitor_loop.ts";
import {
  batchLinesFor,
  CONVERT_OPTIONS,
  EXIT_CODES,
  MONITOR_OPTIONS,
  type MonitorOptions,
  receiverSettings,
  retryForMsOf,
  VERSION,
} from "./lib/cli/options.ts";
import {
  checkingClient,
  couchSink,
  listenAddress,
  programLogger,
  programOptions,
  statusListenChecks,
  verifyingClient,
  verifySince,
} from "./lib/cli/program.ts";
import { startReceiver } from "./lib/run/receiver.ts";
import { startStatusServer } from "./lib/cli/status.ts";
import { Health, sinkCheck } from "./lib/run/health.ts";
import { redactUrl } from "./lib/base/redact.ts";
import { formatBytes, formatDuration } from "./lib/base/units.ts";

const CONVERT_USAGE = "monitor convert [options] FILE...";
const CONVERT_EXAMPLES = `examples:
  monitor convert --year 2012 /archive/spysocket.log.2012-03 > march.csv
  monitor convert --columns full old/*.log > all.csv

The CSV goes to stdout, one header and then every file's rows in the order given; rejected lines
(the first 20, then their count) and unreadable files go to stderr.

exit codes:
  0  every file converted (rejected lines are counted on stderr, and do not change it)
  1  a file could not be read (the others are converted)
  2  a usage error`;

/** `monitor convert`: CSV of old files on stdout, the rejected count on stderr. */
async function convert(args: string[]): Promise<number> {
  const resolved = await programOptions(
    {
      name: "monitor convert",
      specs: CONVERT_OPTIONS,
      usage: CONVERT_USAGE,
      examples: CONVERT_EXAMPLES,
    },
    args,
  );
  if (!resolved) return 0;
  const { options, positionals } = resolved;
  if (positionals.length === 0) {
    throw new UsageError(`monitor convert: no FILE given (see monitor convert --help)`);
  }
  const year = options.year;
  if (year === undefined) {
    // A copied or touched file has a new modification time, and its reports would be dated by it.
    const dated = await Promise.all(
      positionals.slice(0, 3).map(async (file) => {
        const mtime = (await Deno.stat(file).catch(() => null))?.mtime;
        return `${file}: ${mtime ? mtime.toISOString().slice(0, 10) : "?"}`;
      }),
    );
    console.error(
      `monitor convert: no --year: each report's year is inferred from its file's modification time (${
        dated.join(", ")
      }${
        positionals.length > 3 ? ", ..." : ""
      }); for files copied or touched since, give --year YYYY`,
    );
  }
  const result = await convertFiles(
    positionals,
    {
      columns: options.columns,
      year,
      maxLineBytes: options.maxLineBytes,
    },
    // Synchronous, as the reads are: nothing else runs meanwhile.
    (bytes) => {
      for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
    },
  );
  for (const { file, line } of result.rejected.slice(0, 20)) {
    console.error(
      `monitor convert: ${file}: rejected line at offset ${line.offset}: ${line.reason}`,
    );
  }
  console.error(`monitor convert: ${result.rows} rows, ${result.rejected.length} rejected lines`);
  for (const { file, reason } of result.unreadable) {
    console.error(`monitor convert: cannot read ${file}: ${reason}`);
  }
  return result.unreadable.length > 0 ? 1 : 0;
}

const USAGE = "monitor [options] DIR\n       monitor check [options] DIR\n" +
  "       monitor verify [--manifest FILE] [--since WHEN] [--json] [options] DIR\n" +
  "       monitor convert [--year YYYY] [--columns classic|full] FILE...";
const EXAMPLES = `examples:
  monitor check --couchdb http://couch:5984/hrtfeed /srv/spysocket-drop
  monitor --couchdb http://couch:5984/hrtfeed /srv/spysocket-drop
  monitor --couchdb http://couch:5984/hrtfeed --listen 0.0.0.0:8443 \\
    --token-file /etc/logcapture/token --tls-cert /etc/logcapture/cert.pem \\
    --tls-key /etc/logcapture/key.pem /srv/spysocket-drop

${EXIT_CODES}`;

/** `monitor check`: each part of this setup tried, one line each; how many failed. */
async function checkSetup(
  o: MonitorOptions,
  origins: Record<string, string>,
  dir: string,
): Promise<number> {
  const checks: Check[] = [
    { name: "configuration", run: () => Promise.resolve(describeOrigins(origins)) },
    dropDirectoryCheck(dir),
    dropDirectoryLockCheck(dir),
  ];
  if (o.caFile) checks.push(pemFileCheck("CA file", o.caFile, "--ca-file"));
  checks.push(...statusListenChecks("monitor", o.statusListen));
  checks.push(...couchChecks(await checkingClient("monitor", o), { feedViews: o.mode === "feed" }));
  const receiver = receiverSettings(o);
  if (receiver) {
    const { hostname, port, tokenFile, tls } = receiver;
    checks.push(listenCheck(hostname, port), {
      name: "token file",
      run: async () => {
        await readSecretFile(tokenFile, "--token-file").catch((error) => {
          throw new CheckFailure(error.message, "give a file holding the token on one line");
        });
        return `${tokenFile} holds a token`;
      },
    });
    if (tls) {
      checks.push(
        pemFileCheck("TLS key", tls.keyFile, "--tls-key"),
        tlsPairCheck(tls.certFile, tls.keyFile),
      );
    }
  }
  return await runChecks(checks);
}

/**
 * `monitor verify [--manifest FILE] DIR`: the log a tail-only capture described (`capture
 * verify`: the manifest it wrote, or those it handed over into DIR/manifests/) against what
 * CouchDB holds, and what the drop directory holds; exit 0 when complete.
 */
async function verifyManifestOf(o: MonitorOptions, dir: string): Promise<number> {
  const since = verifySince("monitor", o.since);
  const names = o.manifest ? [o.manifest] : await manifestsIn(dir);
  if (names.length === 0) {
    throw new UsageError(
      `monitor: ${dir}/${MANIFEST_FOLDER}/ holds no manifest: run capture verify on the capture host (tail-only, it hands one over), or give --manifest FILE`,
    );
  }
  const db = await verifyingClient("monitor", o);
  const extracts = await listExtracts(dir).catch(() => []);
  const rejected = await countFiles(`${dir}/${REJECTED_FOLDER}`);
  const kept = await countFiles(`${dir}/${DONE_FOLDER}`);
  const dropDirectory = { waiting: extracts.length, rejected, kept };
  let complete = true;
  for (const name of names) {
    const manifest = await Deno.readTextFile(name).then(parseManifest).catch((error) => {
      throw new UsageError(`monitor: cannot read the manifest ${name}: ${error.message}`);
    });
    const report = await verifyManifest(manifest, { db, mode: o.mode, since, waiting: extracts });
    complete &&= report.complete;
    console.log(
      o.json
        ? JSON.stringify({ manifest: name, ...report, dropDirectory }, null, 2)
        : `manifest ${name}, written ${manifest.written}\n${describeVerify(report)}`,
    );
  }
  if (!o.json) {
    console.log(
      `drop directory ${dir}: ${extracts.length} extracts waiting (counted as not yet captured), ${rejected} rejected, ${kept} kept in done/`,
    );
  }
  return complete ? 0 : 1;
}

/** The manifests handed over into `dir` (`manifests/*.json`). */
async function manifestsIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(dir, MANIFEST_FOLDER))) {
      if (entry.isFile && entry.name.endsWith(".json")) {
        names.push(join(dir, MANIFEST_FOLDER, entry.name));
      }
    }
  } catch {
    // No manifests folder: none handed over.
  }
  return names.sort();
}

/** How many files `folder` holds (0 when it is not there). */
async function countFiles(folder: string): Promise<number> {
  let n = 0;
  try {
    for await (const entry of Deno.readDir(folder)) if (entry.isFile) n++;
  } catch {
    return 0;
  }
  return n;
}

await runMain("monitor", async (signal) => {
  if (Deno.args[0] === "convert") return await convert(Deno.args.slice(1));
  const checking = Deno.args[0] === "check";
  const verifying = Deno.args[0] === "verify";
  const resolved = await programOptions(
    { name: "monitor", specs: MONITOR_OPTIONS, usage: USAGE, examples: EXAMPLES },
    checking || verifying ? Deno.args.slice(1) : Deno.args,
  );
  if (!resolved) return 0;
  const { options: o, positionals, origins } = resolved;
  if (o.printConfig && positionals.length <= 1) {
    console.log(printableConfig(MONITOR_OPTIONS, o, origins));
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `monitor: give exactly one DIR, got ${positionals.length} (see monitor --help)`,
    );
  }
  const dir = positionals[0];
  const receiver = receiverSettings(o);
  if (checking) return await checkSetup(o, origins, dir) ? 1 : 0;
  if (verifying) return await verifyManifestOf(o, dir);
  const info = await Deno.stat(dir).catch(() => null);
  if (!info?.isDirectory) throw new UsageError(`monitor: ${dir} is not a directory`);
  const statusAt = o.statusListen
    ? listenAddress("monitor", "--status-listen", o.statusListen)
    : null;
  const log = programLogger(o);
  // One monitor per drop directory: two would take the same extracts from under each other.
  await holdLock(
    dir,
    `drop directory ${dir}`,
    "another monitor takes its extracts; stop it first (one monitor per drop directory)",
  );
  const stats = newMonitorStats();
  // /healthz is served from the start: a monitor that cannot reach CouchDB at start says so.
  let couch: Awaited<ReturnType<typeof couchSink>> | null = null;
  if (statusAt) {
    const health = new Health();
    health.add(
      "couchdb",
      sinkCheck({
        target: () => couch?.url ?? redactUrl(o.couchdb ?? ""),
        ready: () => couch !== null,
        outage: () => couch?.db.inOutage ?? false,
        probe: async () => await couch?.db.probe() ?? null,
      }, signal),
    );
    startStatusServer({
      ...statusAt,
      program: "monitor",
      signal,
      log,
      health,
      metrics: () => monitorMetrics(stats, couch?.db ?? NO_REQUESTS),
    });
  }
  couch = await couchSink("monitor", o, log);
  const sink = couch, url = couch.url;
  if (receiver) {
    startReceiver({
      dir,
      hostname: receiver.hostname,
      port: receiver.port,
      token: await readSecretFile(receiver.tokenFile, "--token-file", (m) => log.warn(m)),
      refused: () => stats.tokensRefused++,
      maxExtractBytes: o.maxExtractBytes,
      locate: async (source, fileId) =>
        await heldPosition(
          dir,
          source,
          fileId,
          await sink.findPosition(source, { id: fileId }),
        ),
      maxPendingBytes: o.maxPendingBytes,
      cert: receiver.tls ? await Deno.readTextFile(receiver.tls.certFile) : undefined,
      key: receiver.tls ? await Deno.readTextFile(receiver.tls.keyFile) : undefined,
      log,
      signal,
    });
  }
  log.info(`monitoring ${dir} into ${url}`, {
    version: VERSION,
    mode: `${o.mode} mode`,
    receiver: receiver ? `${receiver.hostname}:${receiver.port}` : null,
    done: o.done === "keep"
      ? `kept in ${dir}/done for ${formatDuration(o.doneKeepFor)} or ${
        formatBytes(o.doneMaxBytes)
      }, whichever comes first`
      : "deleted",
  });
  return await runMonitor(
    {
      dir,
      once: o.once,
      done: o.done,
      retention: { maxAgeMs: o.doneKeepFor, maxBytes: o.doneMaxBytes },
      store: (batch, turn) => sink.store(batch, turn),
      inFlight: sink.inFlight,
      maxLineBytes: o.maxLineBytes,
      batchLines: batchLinesFor(o),
      pollMs: o.poll,
      retryForMs: retryForMsOf(o),
    },
    log,
    signal,
    stats,
  );
});
