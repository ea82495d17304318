/**
 * `capture`: tails a spysocket log and stores every new line in CouchDB as CSV (all-in-one), or
 * hands whole-line extracts to a second host (tail-only), forever, with nothing lost and nothing
 * doubled. Run `capture --help` for the options.
 * @module
 */
import { dirname, join } from "./lib/base/posix_path.ts";
import { defaultSourceName, describeStatus, newStats, runCapture } from "./lib/run/capture_loop.ts";
import { describeVerify, type LogPlace, verifyLog } from "./lib/run/verify.ts";
import { MANIFEST_FOLDER, manifestName, manifestOf } from "./lib/run/verify_manifest.ts";
import { ReceiverClient } from "./lib/sink/receiver_client.ts";
import { writeFileAtomic } from "./lib/source/atomic.ts";
import { spysocketFormat } from "./lib/format/line_format.ts";
import { resultOf, writeVerifyResult } from "./lib/run/verify_result.ts";
import { caCertsFrom, printableConfig } from "./lib/cli/config.ts";
import { UsageError } from "./lib/base/errors.ts";
import { readSecretFile } from "./lib/base/secret.ts";
import { SOURCE_NAME } from "./lib/sink/batch.ts";
import type { BatchSink } from "./lib/sink/sink.ts";
import { extractSink } from "./lib/sink/handover.ts";
import { removeStaleTemps } from "./lib/source/atomic.ts";
import { cacheLockPath, holdLock } from "./lib/source/lock.ts";
import { DEFAULT_LOGROTATE_CONF } from "./lib/source/logrotate.ts";
import { defaultRotatedGlobs } from "./lib/source/rotated.ts";
import { runMain } from "./lib/cli/main.ts";
import {
  batchBytesFor,
  batchLinesFor,
  CAPTURE_OPTIONS,
  type CaptureOptions,
  EXIT_CODES,
  flushMsFor,
  type HandoverTarget,
  handoverTarget,
  retryForMsOf,
  VERSION,
} from "./lib/cli/options.ts";
import { startStatusServer } from "./lib/cli/status.ts";
import { Health, sinkCheck } from "./lib/run/health.ts";
import { redactUrl } from "./lib/base/redact.ts";
import { captureMetrics, NO_REQUESTS } from "./lib/cli/metrics.ts";
import {
  checkCouchUrl,
  checkingClient,
  couchSink,
  listenAddress,
  programLogger,
  programOptions,
  statusListenChecks,
  verifyingClient,
  verifySince,
} from "./lib/cli/program.ts";
import {
  cacheCheck,
  type Check,
  couchChecks,
  describeOrigins,
  dropDirectoryCheck,
  logCheck,
  logrotateCheck,
  pemFileCheck,
  receiverCheck,
  runChecks,
} from "./lib/cli/check.ts";

/** How long the log may be missing before /healthz says so. */
const LOG_MISSING_GRACE_MS = 60_000;

/** Why the log counts as missing for /healthz: gone for longer than the grace period. */
function logMissing(path: string, since: number | null): string | null {
  if (since === 0) return `${path} does not exist, nor does its folder: check the path`;
  if (since === null || Date.now() - since < LOG_MISSING_GRACE_MS) return null;
  return `${path} does not exist (for ${Math.round((Date.now() - since) / 1000)} s)`;
}

const USAGE =
  "capture [options] LOGFILE\n       capture check [options] LOGFILE\n       capture verify [--json] [--since WHEN] [--deep | --manifest FILE] [options] LOGFILE";
const EXAMPLES = `examples:
  capture check --couchdb http://couch:5984/hrtfeed --source avl1 /var/log/spysocket.log
  capture --couchdb http://couch:5984/hrtfeed --source avl1 /var/log/spysocket.log
  capture -t Tail_Only --extract-dir /srv/spysocket-drop --source avl1 /var/log/spysocket.log

${EXIT_CODES}`;

/** The cache file's default folder: systemd's state directory, else the user's. */
function defaultCacheFolder(): string {
  const state = Deno.env.get("STATE_DIRECTORY")?.split(":")[0];
  if (state) return state;
  const xdg = Deno.env.get("XDG_STATE_HOME");
  return join(xdg || join(Deno.env.get("HOME") ?? ".", ".local", "state"), "logcapture");
}

/** The 2012 tools' `-t Tail_Only` (any case) becomes `--tail-only`. */
function legacyFlags(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "-t") {
      out.push(args[i]);
      continue;
    }
    if (!/^tail_only$/i.test(args[i + 1] ?? "")) {
      throw new UsageError(
        `capture: -t takes Tail_Only, got "${args[i + 1] ?? ""}" (see capture --help)`,
      );
    }
    out.push("--tail-only");
    i++;
  }
  return out;
}

/** `capture check`: each part of this setup tried, one line each; how many failed. */
async function checkSetup(
  o: CaptureOptions,
  origins: Record<string, string>,
  path: string,
  cachePath: string,
): Promise<number> {
  const checks: Check[] = [
    { name: "configuration", run: () => Promise.resolve(describeOrigins(origins)) },
    logCheck(path),
    cacheCheck(cachePath, cacheLockPath(cachePath)),
    logrotateCheck(
      path,
      o.rotated?.length ? o.rotated : defaultRotatedGlobs(path),
      o.logrotateConf?.length ? o.logrotateConf : DEFAULT_LOGROTATE_CONF,
    ),
  ];
  checks.push(...statusListenChecks("capture", o.statusListen));
  if (o.caFile) checks.push(pemFileCheck("CA file", o.caFile, "--ca-file"));
  if (o.tailOnly) {
    const { extractDir, ship } = handoverTarget(o);
    if (extractDir) checks.push(dropDirectoryCheck(extractDir));
    if (ship) {
      const token = await readSecretFile(ship.tokenFile, "--token-file");
      checks.push(receiverCheck(ship.url, token, await caCertsFrom(o.caFile), batchBytesFor(o)));
    }
  } else {
    const db = await checkingClient("capture", o);
    checks.push(...couchChecks(db, { feedViews: o.mode === "feed" }));
  }
  return await runChecks(checks);
}

/**
 * `capture verify`: whether the log is in CouchDB once (`run/verify.ts`); exit 0 when it is, 1
 * when anything is missing, stored twice, or foreign. A tail-only capture, which does not reach
 * CouchDB, hands a manifest of the log over instead (`run/verify_manifest.ts`).
 */
async function verify(
  o: CaptureOptions,
  path: string,
  source: string,
  cachePath: string,
): Promise<number> {
  const rotated = o.rotated?.length ? o.rotated : undefined;
  const since = verifySince("capture", o.since);
  if (o.manifest || o.tailOnly) {
    return await handManifestOver(o, { path, rotated, source, cachePath });
  }
  const db = await verifyingClient("capture", o);
  const deep = o.deep
    ? {
      format: spysocketFormat({ columns: o.columns, year: o.year }),
      attachment: (id: string, name: string) => db.getAttachment(id, name),
    }
    : undefined;
  const settings = { path, rotated, source, cachePath, mode: o.mode, db, deep, since };
  const report = await verifyLog(settings);
  console.log(o.json ? JSON.stringify(report, null, 2) : describeVerify(report));
  // Kept for the /metrics of a running capture; where the state folder is not writable, only said.
  await writeVerifyResult(cachePath, resultOf(report)).catch((error) =>
    console.error(`capture: the result is not kept for /metrics: ${error.message}`)
  );
  return report.complete ? 0 : 1;
}

/**
 * Where CouchDB cannot be reached (tail-only): what the log holds, written to `--manifest FILE`,
 * else handed over like an extract, for `monitor verify` on the host that reaches CouchDB.
 */
async function handManifestOver(o: CaptureOptions, place: LogPlace & { source: string }) {
  if (o.deep) {
    throw new UsageError(
      "capture: verify --deep reads CouchDB, which a tail-only capture does not reach: run it without --deep",
    );
  }
  const manifest = await manifestOf(place);
  const bytes = new TextEncoder().encode(JSON.stringify(manifest) + "\n");
  const what = `${manifest.files.length} files of ${place.source} (${bytes.length} bytes)`;
  if (o.manifest) {
    await writeFileAtomic(o.manifest, bytes, 0o644);
    console.log(
      `wrote ${o.manifest}: ${what}; check it where CouchDB is: monitor verify --manifest ${o.manifest} DIR`,
    );
    return 0;
  }
  const target = handoverTarget(o);
  const name = manifestName(place.source);
  if (target.extractDir) {
    await Deno.mkdir(join(target.extractDir, MANIFEST_FOLDER), { recursive: true });
    await writeFileAtomic(join(target.extractDir, MANIFEST_FOLDER, name), bytes, 0o644);
  }
  if (target.ship) {
    const client = new ReceiverClient({
      shipTo: target.ship.url,
      token: await readSecretFile(target.ship.tokenFile, "--token-file"),
      caCerts: await caCertsFrom(o.caFile),
      // A command run by hand or by a timer: a receiver down for a minute is said, not waited for.
      retryForMs: 60_000,
      log: programLogger(o),
    });
    await client.putManifest(name, bytes);
  }
  const where = [target.extractDir, target.ship?.url].filter(Boolean).join(" and ");
  console.log(`handed ${what} to ${where}; the monitor checks it: monitor verify DIR`);
  return 0;
}

await runMain("capture", async (signal) => {
  const checking = Deno.args[0] === "check";
  const verifying = Deno.args[0] === "verify";
  const resolved = await programOptions(
    { name: "capture", specs: CAPTURE_OPTIONS, usage: USAGE, examples: EXAMPLES },
    legacyFlags(checking || verifying ? Deno.args.slice(1) : Deno.args),
  );
  if (!resolved) return 0;
  const { options: o, positionals, origins } = resolved;
  if (o.printConfig && positionals.length === 0) {
    // Without LOGFILE, the source and the cache file are what the settings say, if anything.
    console.log(printableConfig(CAPTURE_OPTIONS, o, origins));
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `capture: give exactly one LOGFILE, got ${positionals.length} (see capture --help)`,
    );
  }
  const path = positionals[0].startsWith("/") ? positionals[0] : join(Deno.cwd(), positionals[0]);
  const source = (o.source) ?? defaultSourceName(path);
  if (!SOURCE_NAME.test(source)) {
    throw new UsageError(
      `capture: --source must be letters, digits, "_", "." or "-" (at most 64), got "${source}"`,
    );
  }
  const cachePath = (o.cache) ??
    join(defaultCacheFolder(), `${source}.cache.json`);
  const derived = {
    source: origins.source ?? "default (the host and LOGFILE)",
    cache: origins.cache ?? "default (the state folder and source)",
  };
  if (o.printConfig) {
    console.log(
      printableConfig(CAPTURE_OPTIONS, { ...o, source, cache: cachePath }, {
        ...origins,
        ...derived,
      }),
    );
    return 0;
  }
  if (o.status) {
    console.log(await describeStatus(path, cachePath));
    return 0;
  }
  if (checking) return await checkSetup(o, { ...origins, ...derived }, path, cachePath) ? 1 : 0;
  if (verifying) return await verify(o, path, source, cachePath);
  const statusAt = o.statusListen
    ? listenAddress("capture", "--status-listen", o.statusListen)
    : null;
  // Settings that cannot work are refused before anything is written: no cache folder, no lock.
  const handover = o.tailOnly ? await checkedHandover(o) : null;
  if (!o.tailOnly) checkCouchUrl("capture", o);
  const log = programLogger(o);
  await Deno.mkdir(dirname(cachePath), { recursive: true }).catch((error) => {
    throw new Error(`cannot create the folder of cache file ${cachePath}: ${error.message}`);
  });
  // One capture per cache file (a unit and a manual run, say): the second refuses to start. The
  // lock is held until the process ends, however it ends.
  await holdLock(
    cacheLockPath(cachePath),
    `cache file ${cachePath}`,
    "another capture runs on this log; stop it first, or give this one its own --cache",
  );
  const stale = await removeStaleTemps(cachePath);
  if (stale) log.info(`removed ${stale} temporary files of ${cachePath} left by a crash`);
  const stats = newStats();
  // /healthz is served from the start: a capture that cannot reach CouchDB at start says so.
  let sink: BatchSink | null = null;
  let couchOutage = () => false;
  let requests = NO_REQUESTS;
  let target = o.tailOnly ? [o.extractDir, o.shipTo].filter(Boolean).join(" and ") : redactUrl(
    o.couchdb ?? "",
  );
  if (statusAt) {
    const health = new Health();
    health.add("log", () => stats.readFailing ?? logMissing(path, stats.logMissingSince));
    health.add(
      o.tailOnly ? "hand-over" : "couchdb",
      sinkCheck({
        target: () => target,
        ready: () => sink !== null,
        outage: () => couchOutage(),
        probe: async () => await sink?.probe?.() ?? null,
        failing: () => stats.pushFailing,
      }, signal),
    );
    health.add("tailing", () => sink && !stats.tailing ? "not tailing" : null);
    startStatusServer({
      ...statusAt,
      program: "capture",
      signal,
      log,
      health,
      metrics: () => captureMetrics(stats, requests),
    });
  }
  if (handover) {
    const { extractDir, ship } = handover;
    sink = extractSink({
      extractDir,
      maxPendingBytes: o.maxPendingBytes,
      shipTo: ship?.url,
      token: ship
        ? await readSecretFile(ship.tokenFile, "--token-file", (m) => log.warn(m))
        : undefined,
      caCerts: await caCertsFrom(o.caFile),
      log,
      pollMs: o.poll,
      retryForMs: retryForMsOf(o),
    });
  } else {
    const couch = await couchSink("capture", o, log);
    sink = couch;
    target = couch.url;
    couchOutage = () => couch.db.inOutage;
    requests = couch.db;
  }
  return await runCapture(
    {
      path,
      source,
      cachePath,
      sink,
      target,
      mode: o.tailOnly ? "tail-only" : `all-in-one, ${o.mode} mode`,
      version: VERSION,
      from: o.from,
      once: o.once,
      flushMs: flushMsFor(o),
      batchLines: batchLinesFor(o),
      batchBytes: batchBytesFor(o),
      maxLineBytes: o.maxLineBytes,
      rotated: o.rotated,
      rotateWaitMs: o.rotateWait,
      importHistory: o.importHistory,
      pollMs: o.poll,
      retryForMs: retryForMsOf(o),
    },
    log,
    signal,
    stats,
  );
});

/** Where tail-only capture hands its extracts, checked: a usage error when it cannot work. */
async function checkedHandover(o: CaptureOptions): Promise<HandoverTarget> {
  const target = handoverTarget(o);
  if (target.extractDir) {
    const info = await Deno.stat(target.extractDir).catch(() => null);
    if (!info?.isDirectory) {
      throw new UsageError(`capture: --extract-dir ${target.extractDir} is not a directory`);
    }
  }
  return target;
}
