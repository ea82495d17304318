/**
 * The options of `capture` and `monitor`, in one table each: flags, configuration keys, defaults
 * and help all come from here.
 *
 * @example
 * ```ts
 * import { CAPTURE_OPTIONS } from "./options.ts";
 * import { resolveOptions } from "./config.ts";
 * const { options } = await resolveOptions("capture", CAPTURE_OPTIONS, ["--once", "app.log"]);
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { type OptionSpec, readConfigFile, UsageError } from "./config.ts";
import { COLUMN_SETS } from "./csv.ts";
import { STORE_MODES } from "./store.ts";

/** The version of both programs. */
export const VERSION = "0.1.0";

const MiB = 1 << 20;

/** Flags that are not settings. */
const PROGRAM_FLAGS: OptionSpec[] = [
  {
    key: "config",
    flag: "config",
    type: "string",
    flagOnly: true,
    help: "read settings from this JSON file",
  },
  {
    key: "printConfig",
    flag: "print-config",
    type: "boolean",
    flagOnly: true,
    help: "print the effective settings (secrets redacted) and exit",
  },
  {
    key: "help",
    flag: "help",
    short: "h",
    type: "boolean",
    flagOnly: true,
    help: "print this help and exit",
  },
  {
    key: "version",
    flag: "version",
    type: "boolean",
    flagOnly: true,
    help: "print the version and exit",
  },
];

/** CouchDB and formatting settings, shared by both programs. */
const COUCH_OPTIONS: OptionSpec[] = [
  {
    key: "couchdb",
    flag: "couchdb",
    type: "string",
    env: "COUCHDB_URL",
    help: "the database, http(s)://host:5984/dbname",
  },
  { key: "user", type: "string", env: "COUCHDB_USER", help: "CouchDB user name" },
  {
    key: "password",
    type: "string",
    env: "COUCHDB_PASSWORD",
    secret: true,
    help: "CouchDB password",
  },
  { key: "passwordFile", type: "string", help: "file holding the CouchDB password" },
  {
    key: "mode",
    flag: "mode",
    type: "enum",
    values: STORE_MODES,
    default: "feed",
    help: "one document per batch (feed) or per line (records)",
  },
  {
    key: "columns",
    flag: "columns",
    type: "enum",
    values: COLUMN_SETS,
    default: "classic",
    help: "CSV column set",
  },
  {
    key: "year",
    flag: "year",
    type: "integer",
    min: 1970,
    help: "the year of every report, instead of inferring it",
  },
  {
    key: "gzipLevel",
    flag: "gzip-level",
    type: "integer",
    min: 0,
    max: 9,
    default: 1,
    help: "gzip level of feed attachments sent to Apache CouchDB (0: the server compresses them)",
  },
  { key: "caFile", flag: "ca-file", type: "string", help: "PEM file of a private CA, for https" },
  {
    key: "requestTimeoutMs",
    flag: "request-timeout-ms",
    type: "integer",
    min: 1,
    default: 60_000,
    help: "timeout of each CouchDB request",
  },
];

/** Feed documents hold many lines; records-mode `_bulk_docs` requests go best at about 1000. */
const BATCH_LINES: OptionSpec = {
  key: "batchLines",
  flag: "batch-lines",
  type: "integer",
  min: 1,
  defaultText: "5000 in feed mode, 1000 in records mode",
  help: "most lines in a batch",
};

/** The batch-lines setting, or its default for the mode. */
export function batchLinesFor(options: Record<string, unknown>): number {
  return (options.batchLines as number | undefined) ?? (options.mode === "records" ? 1000 : 5000);
}

const LOG_OPTIONS: OptionSpec[] = [
  {
    key: "logLevel",
    flag: "log-level",
    type: "enum",
    values: ["debug", "info", "warn", "error"],
    default: "info",
    help: "the least important lines logged",
  },
  {
    key: "statusListen",
    flag: "status-listen",
    type: "string",
    help: "serve /healthz and /metrics on HOST:PORT",
  },
  {
    key: "verbose",
    flag: "verbose",
    short: "v",
    type: "boolean",
    default: false,
    help: "log debug lines too (same as --log-level debug)",
  },
  {
    key: "logFormat",
    flag: "log-format",
    type: "enum",
    values: ["text", "json"],
    default: "text",
    help: "log line format on stderr",
  },
];

/** The options of `capture`. */
export const CAPTURE_OPTIONS: OptionSpec[] = [
  {
    key: "status",
    flag: "status",
    type: "boolean",
    flagOnly: true,
    help: "print the position, the bytes behind and the identity check, and exit",
  },
  ...COUCH_OPTIONS,
  {
    key: "source",
    flag: "source",
    type: "string",
    defaultText: "HOST-LOGNAME",
    help: "stable name of this log in document ids",
  },
  {
    key: "cache",
    flag: "cache",
    type: "string",
    defaultText:
      "$STATE_DIRECTORY/SOURCE.cache.json, else ~/.local/state/logcapture/SOURCE.cache.json",
    help: "the private cache file",
  },
  {
    key: "from",
    flag: "from",
    type: "enum",
    values: ["start", "end"],
    default: "start",
    help: "where to begin on a log never seen before",
  },
  {
    key: "once",
    flag: "once",
    type: "boolean",
    default: false,
    help: "capture what is new now, store it, and exit",
  },
  // A batch goes once its first line has waited this long, unless one is being stored: then the
  // log keeps what comes meanwhile and the next batch takes it all, so batches grow with the
  // server's answer time. Measured on CouchDB 3.5 at 1,000 lines/s: 500 ms gave p99 525 ms and
  // 1.7% of a core; 50 ms gives p99 69 ms (61 lines a document, about 1,000 documents a minute)
  // and 5.8%; 25 ms, 46 ms and 9.5%.
  {
    key: "flushMs",
    flag: "flush-ms",
    type: "integer",
    min: 1,
    default: 50,
    help: "longest a read line waits before it is pushed, while no batch is being stored",
  },
  BATCH_LINES,
  {
    key: "batchBytes",
    flag: "batch-bytes",
    type: "integer",
    min: 1,
    default: MiB,
    help: "most bytes in a batch",
  },
  {
    key: "maxLineBytes",
    flag: "max-line-bytes",
    type: "integer",
    min: 1,
    default: MiB,
    help: "longer lines are rejected (first bytes kept)",
  },
  {
    key: "rotated",
    flag: "rotated",
    type: "list",
    defaultText: "LOGFILE.* and LOGFILE-*",
    help: "where rotated files go (repeatable)",
  },
  {
    key: "importHistory",
    flag: "import-history",
    type: "string",
    help: "start from a 2012 logtail.history file",
  },
  {
    key: "pollMs",
    flag: "poll-ms",
    type: "integer",
    min: 10,
    default: 1000,
    help: "how often the log is checked without a filesystem event",
  },
  {
    key: "tailOnly",
    flag: "tail-only",
    short: "t",
    type: "boolean",
    default: false,
    help: "hand extracts to a second host instead of CouchDB (also -t Tail_Only)",
  },
  {
    key: "extractDir",
    flag: "extract-dir",
    type: "string",
    help: "tail-only: the drop directory for extracts",
  },
  {
    key: "maxPendingBytes",
    flag: "max-pending-bytes",
    type: "integer",
    min: 1,
    default: 1 << 30,
    help: "tail-only: pause while the drop directory holds this much",
  },
  {
    key: "shipTo",
    flag: "ship-to",
    type: "string",
    help: "tail-only: a monitor's receiver, http(s)://host:port",
  },
  {
    key: "tokenFile",
    flag: "token-file",
    type: "string",
    help: "tail-only: file holding the receiver's bearer token",
  },
  ...LOG_OPTIONS,
  ...PROGRAM_FLAGS,
];

/** The options of `monitor`. */
export const MONITOR_OPTIONS: OptionSpec[] = [
  ...COUCH_OPTIONS,
  {
    key: "once",
    flag: "once",
    type: "boolean",
    default: false,
    help: "process the extracts there now, and exit",
  },
  {
    key: "done",
    flag: "done",
    type: "enum",
    values: ["keep", "delete"],
    default: "keep",
    help: "keep processed extracts in DIR/done, or delete them",
  },
  BATCH_LINES,
  {
    key: "maxLineBytes",
    flag: "max-line-bytes",
    type: "integer",
    min: 1,
    default: MiB,
    help: "longer lines are rejected (first bytes kept)",
  },
  {
    key: "pollMs",
    flag: "poll-ms",
    type: "integer",
    min: 10,
    default: 1000,
    help: "how often DIR is scanned without a filesystem event",
  },
  {
    key: "listen",
    flag: "listen",
    type: "string",
    help: "receive extracts over HTTP on HOST:PORT",
  },
  {
    key: "tokenFile",
    flag: "token-file",
    type: "string",
    help: "file holding the bearer token the receiver requires",
  },
  {
    key: "tlsCert",
    flag: "tls-cert",
    type: "string",
    help: "PEM certificate, for an https receiver",
  },
  {
    key: "tlsKey",
    flag: "tls-key",
    type: "string",
    help: "PEM private key, for an https receiver",
  },
  {
    key: "maxExtractBytes",
    flag: "max-extract-bytes",
    type: "integer",
    min: 1,
    default: 64 * MiB,
    help: "largest extract the receiver takes",
  },
  {
    key: "maxPendingBytes",
    flag: "max-pending-bytes",
    type: "integer",
    min: 1,
    default: 1 << 30,
    help: "the receiver answers 503 while DIR holds this much",
  },
  ...LOG_OPTIONS,
  ...PROGRAM_FLAGS,
];

/** How the 2012 tools' `hrtail.properties` keys map onto settings. */
const LEGACY_KEYS: Record<string, string> = {
  "couchpush.db_url": "couchdb",
  "logtail.tail_status_filename": "importHistory",
};

/** Reads Java properties: `key=value` or `key: value` lines, `#` and `!` comments. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("!")) continue;
    const m = /^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1].replace(/\\(.)/g, "$1"), m[2]);
  }
  return out;
}

/**
 * Reads a program's configuration file: JSON (see `--help`), or the 2012 tools' `hrtail.properties`,
 * whose keys are mapped onto settings with a note (through `note`) of what was taken and what has
 * no equivalent.
 */
export async function readProgramConfig(
  path: string,
  specs: OptionSpec[],
  note: (message: string) => void,
): Promise<Record<string, unknown>> {
  if (!path.endsWith(".properties")) return await readConfigFile(path, specs);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`cannot read configuration file ${path}: ${(error as Error).message}`);
  }
  const values: Record<string, unknown> = {};
  const taken: string[] = [];
  const ignored: string[] = [];
  for (const [key, value] of parseProperties(text)) {
    const setting = LEGACY_KEYS[key];
    if (!setting || !specs.some((s) => s.key === setting)) {
      ignored.push(key);
      continue;
    }
    values[setting] = setting === "importHistory" && !value.startsWith("/")
      ? join(dirname(path), value)
      : value;
    taken.push(`${key} → ${setting}`);
  }
  note(
    `read the 2012 configuration ${path}: took ${
      taken.join(", ") || "nothing"
    }; no equivalent for ${
      ignored.join(", ") || "nothing"
    } (extracts are named by the data contract, CSV goes to CouchDB, lines have no size limit but maxLineBytes)`,
  );
  return values;
}
