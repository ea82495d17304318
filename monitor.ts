/**
 * `monitor`: on the second host, stores each extract that capture hands over in CouchDB as CSV.
 * `monitor convert` re-processes old spysocket files into CSV on stdout.
 * Run `monitor --help` for the options.
 * @module
 */
import { parseArgs } from "node:util";
import { printableConfig, readSecretFile, UsageError } from "./lib/config.ts";
import { convertFiles } from "./lib/convert.ts";
import { COLUMN_SETS, type ColumnSet } from "./lib/csv.ts";
import { holdLock } from "./lib/lock.ts";
import { runMain } from "./lib/main.ts";
import { monitorMetrics } from "./lib/metrics.ts";
import { heldPosition, newMonitorStats, runMonitor } from "./lib/monitor.ts";
import { findStoredPosition } from "./lib/store.ts";
import { batchLinesFor, MONITOR_OPTIONS } from "./lib/options.ts";
import { couchSink, listenAddress, programLogger, programOptions } from "./lib/program.ts";
import { startReceiver } from "./lib/receiver.ts";
import { startStatusServer } from "./lib/status.ts";

const CONVERT_USAGE = "usage: monitor convert [--year YYYY] [--columns classic|full] FILE...";

/** `monitor convert`: CSV of old files on stdout, the rejected count on stderr. */
async function convert(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        year: { type: "string" },
        columns: { type: "string", default: "classic" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(
      `monitor convert: ${(error as Error).message.split("\n")[0]} (${CONVERT_USAGE})`,
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(CONVERT_USAGE);
    return 0;
  }
  const year = values.year === undefined ? undefined : Number(values.year);
  if (year !== undefined && !(Number.isInteger(year) && year >= 1970 && year <= 9999)) {
    throw new UsageError(
      `monitor convert: --year must be a year such as 2012, got "${values.year}"`,
    );
  }
  if (!COLUMN_SETS.includes(values.columns as ColumnSet)) {
    throw new UsageError(
      `monitor convert: --columns must be classic or full, got "${values.columns}"`,
    );
  }
  if (positionals.length === 0) {
    throw new UsageError(`monitor convert: no FILE given (${CONVERT_USAGE})`);
  }
  const result = await convertFiles(
    positionals,
    { columns: values.columns as ColumnSet, year },
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

const USAGE =
  "monitor [options] DIR\n       monitor convert [--year YYYY] [--columns classic|full] FILE...";
const EXAMPLES = `examples:
  monitor --couchdb http://couch:5984/hrtfeed /srv/spysocket-drop
  monitor --couchdb http://couch:5984/hrtfeed --listen 0.0.0.0:8443 --token-file /etc/logcapture/token \\
    --tls-cert /etc/logcapture/cert.pem --tls-key /etc/logcapture/key.pem /srv/spysocket-drop`;

await runMain("monitor", async (signal) => {
  if (Deno.args[0] === "convert") return await convert(Deno.args.slice(1));
  const resolved = await programOptions(
    { name: "monitor", specs: MONITOR_OPTIONS, usage: USAGE, examples: EXAMPLES },
    Deno.args,
  );
  if (!resolved) return 0;
  const { options: o, positionals } = resolved;
  if (positionals.length !== 1) {
    throw new UsageError(
      `monitor: give exactly one DIR, got ${positionals.length} (see monitor --help)`,
    );
  }
  const dir = positionals[0];
  if (o.printConfig) {
    console.log(printableConfig(MONITOR_OPTIONS, o));
    return 0;
  }
  const info = await Deno.stat(dir).catch(() => null);
  if (!info?.isDirectory) throw new UsageError(`monitor: ${dir} is not a directory`);
  if (o.listen && !o.tokenFile) throw new UsageError("monitor: --listen needs --token-file FILE");
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new UsageError("monitor: --tls-cert and --tls-key go together");
  }
  const listen = o.listen ? listenAddress("monitor", "--listen", o.listen as string) : null;
  const statusAt = o.statusListen
    ? listenAddress("monitor", "--status-listen", o.statusListen as string)
    : null;
  const log = programLogger(o);
  // One monitor per drop directory: two would take the same extracts from under each other.
  await holdLock(
    dir,
    `drop directory ${dir}`,
    "another monitor takes its extracts; stop it first (one monitor per drop directory)",
  );
  const { sink, url, db } = await couchSink("monitor", o, log);
  const stats = newMonitorStats();
  if (statusAt) {
    startStatusServer({
      ...statusAt,
      program: "monitor",
      signal,
      log,
      health: () => (db.inOutage ? `CouchDB at ${url} does not answer` : null),
      metrics: () => monitorMetrics(stats, db),
    });
  }
  if (listen) {
    startReceiver({
      dir,
      ...listen,
      token: await readSecretFile(o.tokenFile as string, "--token-file"),
      maxExtractBytes: o.maxExtractBytes as number,
      locate: async (source, fileId) =>
        await heldPosition(
          dir,
          source,
          fileId,
          await findStoredPosition(db, source, { id: fileId }),
        ),
      maxPendingBytes: o.maxPendingBytes as number,
      cert: o.tlsCert ? await Deno.readTextFile(o.tlsCert as string) : undefined,
      key: o.tlsKey ? await Deno.readTextFile(o.tlsKey as string) : undefined,
      log,
      signal,
    });
  }
  log.info(`monitoring ${dir} into ${url}`);
  return await runMonitor(
    {
      dir,
      once: o.once as boolean,
      done: o.done as "keep" | "delete",
      store: sink.store,
      inFlight: sink.inFlight,
      maxLineBytes: o.maxLineBytes as number,
      batchLines: batchLinesFor(o),
      pollMs: o.pollMs as number,
    },
    log,
    signal,
    stats,
  );
});
