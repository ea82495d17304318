/**
 * What both programs set up the same way from their resolved options: the logger, and CouchDB as
 * the place batches are stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenAddress, programLogger } from "./program.ts";
 * const log = programLogger({ logLevel: "warn", logFormat: "text" });
 * log.info("not written: below --log-level warn");
 * assert.deepEqual(listenAddress("monitor", "--listen", "127.0.0.1:8443"), {
 *   hostname: "127.0.0.1",
 *   port: 8443,
 * });
 * assert.throws(() => listenAddress("monitor", "--listen", "8443"), /must be HOST:PORT/);
 * ```
 * @module
 */
import { UsageError } from "../base/errors.ts";
import {
  caCertsFrom,
  helpText,
  type OptionSpec,
  type Resolved,
  resolveOptions,
  type Settings,
} from "./config.ts";
import {
  HELP_SECTIONS,
  readProgramConfig,
  retryForMsOf,
  type SharedOptions,
  VERSION,
} from "./options.ts";
import { parseHostPort } from "./status.ts";
import { type Check, listenCheck } from "./check.ts";
import { clientFromSettings, type CouchClient, parseCouchUrl } from "../sink/couchdb.ts";
import { CouchSink } from "../sink/couch_sink.ts";
import { spysocketFormat } from "../format/line_format.ts";
import { createLogger, type Logger, type LogLevel } from "../base/log.ts";
import { setErrorFormat } from "./main.ts";
import { parseSince, type VerifySince } from "../run/verify.ts";

/** A program's name, option table, usage line and examples, for {@linkcode programOptions}. */
export interface ProgramInfo<T extends readonly OptionSpec[]> {
  /** The program's name, as messages begin with it. */
  name: string;
  /** Its option table. */
  specs: T;
  /** The usage line of `--help`. */
  usage: string;
  /** The examples `--help` ends with. */
  examples: string;
}

/**
 * Resolves a program's options (flags, `--config` file in JSON or the 2012 properties, the
 * environment), and answers `--help` and `--version` itself: `null` then, and the program exits 0.
 */
export async function programOptions<const T extends readonly OptionSpec[]>(
  info: ProgramInfo<T>,
  args: string[],
): Promise<Resolved<Settings<T>> | null> {
  const resolved = await resolveOptions(
    info.name,
    info.specs,
    args,
    (path) => readProgramConfig(path, info.specs, (note) => console.error(`${info.name}: ${note}`)),
  );
  const options = resolved.options as { help?: boolean; version?: boolean };
  if (options.help) {
    console.log(helpText(info.usage, info.specs, info.examples, HELP_SECTIONS));
    return null;
  }
  if (options.version) {
    console.log(`${info.name} ${VERSION}`);
    return null;
  }
  return resolved;
}

/** `HOST:PORT` given to an option, or a usage error naming the option. */
export function listenAddress(
  program: string,
  option: string,
  text: string,
): { hostname: string; port: number } {
  const address = parseHostPort(text);
  if (!address) {
    throw new UsageError(
      `${program}: ${option} must be HOST:PORT, e.g. 127.0.0.1:9100, got "${text}"`,
    );
  }
  return address;
}

/** The checks of `--status-listen`, when set: that its address can be bound (`check`). */
export function statusListenChecks(program: string, statusListen: string | undefined): Check[] {
  if (!statusListen) return [];
  const { hostname, port } = listenAddress(program, "--status-listen", statusListen);
  return [listenCheck(hostname, port, "--status-listen")];
}

/** The logger the options ask for (`verbose`, `logFormat`). */
export function programLogger(
  options: { verbose?: boolean; logLevel: LogLevel; logFormat: "text" | "json" },
): Logger {
  setErrorFormat(options.logFormat);
  return createLogger({
    level: options.verbose ? "debug" : options.logLevel,
    format: options.logFormat,
  });
}

/** A client for `check`: the same URL and credentials, but no retrying, and 10 s at most a request. */
export async function checkingClient(
  program: string,
  options: SharedOptions,
): Promise<CouchClient> {
  checkCouchUrl(program, options);
  return await clientFromSettings(
    {
      ...options,
      retryForMs: 0,
      requestTimeoutMs: Math.min(10_000, options.requestTimeoutMs),
      caCerts: await caCertsFrom(options.caFile),
    },
    createLogger({ level: "error" }),
  );
}

/**
 * The CouchDB client of `verify`: a server that does not answer at first is said at once (a wrong
 * URL, a server down); after that, a transient fault (a request timed out on a busy server, a
 * node restarting) is retried for up to two minutes, since a check of millions of documents
 * should not fail on one slow answer.
 */
export async function verifyingClient(
  program: string,
  options: SharedOptions,
): Promise<CouchClient> {
  checkCouchUrl(program, options);
  const db = await clientFromSettings(
    {
      ...options,
      retryForMs: Math.min(120_000, options.retryFor ?? Infinity),
      caCerts: await caCertsFrom(options.caFile),
    },
    createLogger({ level: "error" }),
  );
  // Asked once, not retried, within check's bound: a server that does not answer is said now.
  const timeoutMs = Math.min(10_000, options.requestTimeoutMs);
  await db.request("GET", "", undefined, { server: true, retry: false, timeoutMs });
  return db;
}

/** `--since WHEN` of `verify`, read; a usage error naming the forms it takes. */
export function verifySince(program: string, text: string | undefined): VerifySince | undefined {
  if (text === undefined) return undefined;
  const since = parseSince(text);
  if (since === null) {
    throw new UsageError(
      `${program}: --since ${text} is not a duration with its unit (6h, 2d), a generation (41) or GENERATION:OFFSET`,
    );
  }
  return since;
}

/**
 * Checks the CouchDB URL of the options: a usage error saying what is wrong with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCouchUrl } from "./program.ts";
 * assert.throws(() => checkCouchUrl("capture", {} as never), /no CouchDB given/);
 * checkCouchUrl("capture", { couchdb: "http://127.0.0.1:5984/hrtfeed" } as never);
 * ```
 */
export function checkCouchUrl(program: string, options: SharedOptions): void {
  if (!options.couchdb) {
    throw new UsageError(
      `${program}: no CouchDB given: use --couchdb http://host:5984/dbname (or COUCHDB_URL)`,
    );
  }
  try {
    parseCouchUrl(options.couchdb);
  } catch (error) {
    throw new UsageError(`${program}: ${(error as Error).message}`);
  }
}

/**
 * CouchDB from the options: checks the URL (a usage error when it is wrong), and opens the sink
 * that stores batches there (`couch_sink.ts`: the client, the database and its design document).
 */
export async function couchSink(
  program: string,
  options: SharedOptions,
  log: Logger,
): Promise<CouchSink> {
  checkCouchUrl(program, options);
  return await CouchSink.open({
    ...options,
    retryForMs: retryForMsOf(options),
    caCerts: await caCertsFrom(options.caFile),
    format: spysocketFormat({ columns: options.columns, year: options.year }),
    fromExtracts: program === "monitor",
  }, log);
}
