/**
 * What both programs set up the same way from their resolved options: the logger, and CouchDB as
 * the place batches are stored.
 *
 * @example
 * ```ts
 * import { couchSink, programLogger } from "./program.ts";
 * const log = programLogger(options);
 * const { sink, url } = await couchSink("capture", options, log);
 * ```
 * @module
 */
import type { BatchSink } from "./capture.ts";
import { httpClientWithCa, UsageError } from "./config.ts";
import {
  clientFromSettings,
  type CouchClient,
  type CouchSettings,
  parseCouchUrl,
} from "./couchdb.ts";
import { createLogger, type Logger } from "./log.ts";
import { setErrorFormat } from "./main.ts";
import { findStoredPosition, storeBatch, type StoreOptions } from "./store.ts";

/** The logger the options ask for (`verbose`, `logFormat`). */
export function programLogger(options: Record<string, unknown>): Logger {
  setErrorFormat(options.logFormat as "text" | "json");
  return createLogger({
    level: options.verbose ? "debug" : "info",
    format: options.logFormat as "text" | "json",
  });
}

/**
 * CouchDB from the options: checks the URL (a usage error when it is wrong), makes the client,
 * creates the database and its design document, and returns the sink that stores batches there.
 */
export async function couchSink(
  program: string,
  options: Record<string, unknown>,
  log: Logger,
): Promise<{ sink: BatchSink; url: string; db: CouchClient }> {
  if (!options.couchdb) {
    throw new UsageError(
      `${program}: no CouchDB given: use --couchdb http://host:5984/dbname (or COUCHDB_URL)`,
    );
  }
  try {
    parseCouchUrl(options.couchdb as string);
  } catch (error) {
    throw new UsageError(`${program}: ${(error as Error).message}`);
  }
  const settings: CouchSettings = {
    ...(options as CouchSettings),
    httpClient: await httpClientWithCa(options.caFile as string | undefined),
  };
  const db = await clientFromSettings(settings, log);
  await db.ensureDatabase();
  const storeOptions: StoreOptions = {
    mode: options.mode as StoreOptions["mode"],
    columns: options.columns as StoreOptions["columns"],
    year: options.year as number | undefined,
  };
  return {
    db,
    url: db.url,
    sink: {
      store: (batch) => storeBatch(db, batch, storeOptions),
      findPosition: (source, file) => findStoredPosition(db, source, file),
    },
  };
}
