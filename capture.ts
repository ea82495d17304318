/**
 * `capture`: tails a spysocket log and stores every new line in CouchDB as CSV, forever, with
 * nothing lost and nothing doubled. Run `capture --help` for the options.
 * @module
 */
import { dirname, join } from "node:path";
import { defaultSourceName, runCapture } from "./lib/capture.ts";
import { helpText, printableConfig, resolveOptions, UsageError } from "./lib/config.ts";
import { clientFromSettings, parseCouchUrl } from "./lib/couchdb.ts";
import { createLogger } from "./lib/log.ts";
import { CAPTURE_OPTIONS, VERSION } from "./lib/options.ts";
import { findStoredPosition, storeBatch, type StoreOptions } from "./lib/store.ts";
import { SOURCE_NAME } from "./lib/batch.ts";
import { runMain } from "./lib/main.ts";

const USAGE = "capture [options] LOGFILE";
const EXAMPLES = `examples:
  capture --couchdb http://couch:5984/hrtfeed /var/log/spysocket.log
  COUCHDB_USER=admin COUCHDB_PASSWORD=secret capture --once --mode records --couchdb https://couch:6984/hrtfeed spysocket.log`;

/** The cache file's default folder: systemd's state directory, else the user's. */
function defaultCacheFolder(): string {
  const state = Deno.env.get("STATE_DIRECTORY")?.split(":")[0];
  if (state) return state;
  const xdg = Deno.env.get("XDG_STATE_HOME");
  return join(xdg || join(Deno.env.get("HOME") ?? ".", ".local", "state"), "logcapture");
}

await runMain("capture", async (signal) => {
  const { options: o, positionals } = await resolveOptions("capture", CAPTURE_OPTIONS, Deno.args);
  if (o.help) {
    console.log(helpText(USAGE, CAPTURE_OPTIONS, EXAMPLES));
    return 0;
  }
  if (o.version) {
    console.log(`capture ${VERSION}`);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `capture: give exactly one LOGFILE, got ${positionals.length} (see capture --help)`,
    );
  }
  const path = positionals[0].startsWith("/") ? positionals[0] : join(Deno.cwd(), positionals[0]);
  const source = (o.source as string | undefined) ?? defaultSourceName(path);
  if (!SOURCE_NAME.test(source)) {
    throw new UsageError(
      `capture: --source must be letters, digits, "_", "." or "-" (at most 64), got "${source}"`,
    );
  }
  const cachePath = (o.cache as string | undefined) ??
    join(defaultCacheFolder(), `${source}.cache.json`);
  if (o.printConfig) {
    console.log(printableConfig(CAPTURE_OPTIONS, { ...o, source, cache: cachePath }));
    return 0;
  }
  if (!o.couchdb) {
    throw new UsageError(
      "capture: no CouchDB given: use --couchdb http://host:5984/dbname (or COUCHDB_URL)",
    );
  }
  try {
    parseCouchUrl(o.couchdb as string);
  } catch (error) {
    throw new UsageError(`capture: ${(error as Error).message}`);
  }
  const log = createLogger({
    level: o.verbose ? "debug" : "info",
    format: o.logFormat as "text" | "json",
  });
  const db = await clientFromSettings(o, log);
  await db.ensureDatabase();
  await Deno.mkdir(dirname(cachePath), { recursive: true }).catch((error) => {
    throw new Error(`cannot create the folder of cache file ${cachePath}: ${error.message}`);
  });
  const storeOptions: StoreOptions = {
    mode: o.mode as StoreOptions["mode"],
    columns: o.columns as StoreOptions["columns"],
    year: o.year as number | undefined,
  };
  log.info(`capturing ${path} into ${db.url}`, {
    source,
    mode: storeOptions.mode,
    cache: cachePath,
  });
  return await runCapture(
    {
      path,
      source,
      cachePath,
      sink: {
        store: (batch) => storeBatch(db, batch, storeOptions),
        findPosition: (id, file) => findStoredPosition(db, id, file),
      },
      from: o.from as "start" | "end",
      once: o.once as boolean,
      flushMs: o.flushMs as number,
      batchLines: o.batchLines as number,
      batchBytes: o.batchBytes as number,
      maxLineBytes: o.maxLineBytes as number,
      rotated: o.rotated as string[] | undefined,
      importHistory: o.importHistory as string | undefined,
      pollMs: o.pollMs as number,
    },
    log,
    signal,
  );
});
