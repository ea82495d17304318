/**
 * The options of `capture` and `monitor`, in one table each: flags, configuration keys, defaults
 * and help all come from here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchLinesFor, CAPTURE_OPTIONS, retryForMsOf } from "./options.ts";
 * import { resolveOptions } from "./config.ts";
 * const { options } = await resolveOptions("capture", CAPTURE_OPTIONS, [
 *   "--once",
 *   "--mode",
 *   "records",
 *   "app.log",
 * ]);
 * assert.equal(batchLinesFor(options), 1000); // records mode's default
 * assert.equal(retryForMsOf(options), 5 * 60_000); // --once gives up after 5 minutes
 * ```
 * @module
 */
import { dirname, join } from "../base/posix_path.ts";
import { type OptionSpec, readConfigFile, type Settings } from "./config.ts";
import { parseProperties } from "../base/properties.ts";
import { parseHostPort } from "./status.ts";
import { UsageError } from "../base/errors.ts";
import { COLUMN_SETS } from "../format/csv.ts";
import { STORE_MODES } from "../sink/store.ts";

/** The sections of `--help`, in order. */
export const HELP_SECTIONS = [
  "input",
  "CouchDB",
  "batching",
  "two-host (tail-only)",
  "receiver (monitor --listen)",
  "operations",
] as const;

/** The version of both programs. */
export const VERSION = "0.1.0";

const MiB = 1 << 20;

/** Flags that are not settings. */
const PROGRAM_FLAGS = [
  {
    key: "config",
    flag: "config",
    type: "string",
    placeholder: "FILE",
    section: "operations",
    flagOnly: true,
    help: "read settings from this JSON file",
  },
  {
    key: "printConfig",
    section: "operations",
    flag: "print-config",
    type: "boolean",
    flagOnly: true,
    help: "print the effective settings (secrets redacted) and exit",
  },
  {
    key: "help",
    section: "operations",
    flag: "help",
    short: "h",
    type: "boolean",
    flagOnly: true,
    help: "print this help and exit",
  },
  {
    key: "version",
    section: "operations",
    flag: "version",
    type: "boolean",
    flagOnly: true,
    help: "print the version and exit",
  },
] as const satisfies readonly OptionSpec[];

/** CouchDB and formatting settings, shared by both programs. */
export const COUCH_OPTIONS = [
  {
    key: "couchdb",
    flag: "couchdb",
    type: "string",
    placeholder: "URL",
    section: "CouchDB",
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
    section: "CouchDB",
    flag: "mode",
    type: "enum",
    values: STORE_MODES,
    default: "feed",
    help: "one document per batch (feed) or per line (records)",
  },
  {
    key: "columns",
    section: "CouchDB",
    flag: "columns",
    type: "enum",
    values: COLUMN_SETS,
    default: "classic",
    help: "CSV column set",
  },
  {
    key: "year",
    section: "CouchDB",
    flag: "year",
    type: "integer",
    min: 1970,
    help: "the year of every report, instead of inferring it",
  },
  {
    key: "gzipLevel",
    section: "CouchDB",
    flag: "gzip-level",
    type: "integer",
    min: 0,
    max: 9,
    default: 1,
    help: "gzip level of feed attachments sent to Apache CouchDB (0: the server compresses them)",
  },
  {
    key: "caFile",
    flag: "ca-file",
    type: "string",
    placeholder: "FILE",
    section: "CouchDB",
    help: "PEM file of a private CA, for https",
  },
  {
    key: "requestTimeoutMs",
    flag: "request-timeout",
    aliases: ["request-timeout-ms"],
    type: "duration",
    min: 1,
    default: 60_000,
    section: "CouchDB",
    help: "timeout of each CouchDB request",
  },
  {
    key: "retryFor",
    keyAliases: ["retryForMs"],
    flag: "retry-for",
    type: "duration",
    min: 1,
    forever: true,
    defaultText: "5m with --once, else forever",
    section: "CouchDB",
    help: "how long a failing server is retried before the program exits 1 with the last error",
  },
] as const satisfies readonly OptionSpec[];

/** Both programs and `monitor convert` reject lines longer than this, keeping their first bytes. */
const MAX_LINE_BYTES = {
  key: "maxLineBytes",
  flag: "max-line-bytes",
  type: "bytes",
  section: "input",
  min: 1,
  default: MiB,
  help: "longer lines are rejected (first bytes kept)",
} as const satisfies OptionSpec;

/** The most bytes in a batch, unless set: a feed document's lines, a records request. */
export const DEFAULT_BATCH_BYTES: number = MiB;

/**
 * The most bytes in an extract (tail-only), unless set. Each extract costs the production host a
 * file, two fsyncs and, over HTTP(S), a request, whatever its size: catching up a million lines
 * (155 MB) on loopback, capture spent per million 0.17-0.20 CPU-s into a drop directory, 0.20-0.23
 * over HTTP and 0.28-0.36 over HTTPS at 1 MiB, and 0.14, 0.14-0.15 and 0.20 at 4 MiB (`deno task
 * bench --only tail-only`). A tail-only capture holds one extract at a time (it is written before
 * the next is read), so its memory grows by 3 MiB, not twice that; the monitor stores an extract
 * in documents of its own reading, so documents do not grow with it.
 */
export const TAIL_ONLY_BATCH_BYTES: number = 4 * MiB;

/**
 * Records-mode `_bulk_docs` requests go best at about 1000 lines. A feed document or an extract is
 * cut by its size alone, so that nobody counts its lines on the way (counting them cost capture
 * about 0.1 CPU-s a million lines).
 */
const BATCH_LINES = {
  key: "batchLines",
  flag: "batch-lines",
  type: "integer",
  min: 1,
  section: "batching",
  defaultText: "1000 in records mode, else none: --batch-bytes alone cuts batches",
  help: "most lines in a batch",
} as const satisfies OptionSpec;

/** The options both programs have: CouchDB, formatting and logging (what `program.ts` sets up). */
export type SharedOptions =
  & Settings<typeof COUCH_OPTIONS>
  & Settings<typeof LOG_OPTIONS>
  & { once?: boolean; batchLines?: number };

/** Scripts want an end: `--once` gives up on a failing server after this long, by default. */
export const ONCE_RETRY_FOR_MS = 5 * 60_000;

/** The retry-for setting, or its default: {@linkcode ONCE_RETRY_FOR_MS} with `--once`, else forever. */
export function retryForMsOf(options: SharedOptions): number {
  return options.retryFor ?? (options.once ? ONCE_RETRY_FOR_MS : Infinity);
}

/**
 * How long read lines wait for more before they go, unless set: about one feed document (or
 * extract) a second per source, whatever the rate, since downstream reads documents one by one;
 * records mode, one document a line anyway, keeps its low latency.
 */
export function flushMsFor(options: CaptureOptions): number {
  return options.flush ?? (options.mode === "records" && !options.tailOnly ? 50 : 1000);
}

/** How many bytes a batch holds at most, unless set: an extract is bigger than a document. */
export function batchBytesFor(options: CaptureOptions): number {
  return options.batchBytes ?? (options.tailOnly ? TAIL_ONLY_BATCH_BYTES : DEFAULT_BATCH_BYTES);
}

/**
 * How many lines a batch holds at most, unless set: 1000 in records mode, and no limit otherwise
 * (`Infinity`: `--batch-bytes` cuts feed documents and extracts).
 */
export function batchLinesFor(options: SharedOptions): number {
  return options.batchLines ?? (options.mode === "records" ? 1000 : Infinity);
}

/** Logging and the status server: both programs have them. */
export const LOG_OPTIONS = [
  {
    key: "logLevel",
    section: "operations",
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
    placeholder: "HOST:PORT",
    section: "operations",
    help: "serve /healthz and /metrics on HOST:PORT",
  },
  {
    key: "verbose",
    section: "operations",
    flag: "verbose",
    short: "v",
    type: "boolean",
    default: false,
    help: "log debug lines too (same as --log-level debug)",
  },
  {
    key: "logFormat",
    section: "operations",
    flag: "log-format",
    type: "enum",
    values: ["text", "json"],
    default: "text",
    help: "log line format on stderr",
  },
] as const satisfies readonly OptionSpec[];

/** The options of `capture verify` and `monitor verify`. */
const VERIFY_OPTIONS = [
  {
    key: "json",
    section: "operations",
    flag: "json",
    type: "boolean",
    flagOnly: true,
    help: "verify: print the report as JSON",
  },
  {
    key: "manifest",
    section: "operations",
    flag: "manifest",
    type: "string",
    placeholder: "FILE",
    flagOnly: true,
    help:
      "verify: the manifest of the log (capture writes it, the monitor checks it against CouchDB)",
  },
  {
    key: "since",
    section: "operations",
    flag: "since",
    type: "string",
    placeholder: "WHEN",
    flagOnly: true,
    help:
      "verify: only the files written in the last DURATION (6h, 2d), or from a generation on (41, or 41:OFFSET)",
  },
] as const satisfies readonly OptionSpec[];

/** The options of `capture`. */
export const CAPTURE_OPTIONS = [
  ...VERIFY_OPTIONS,
  {
    key: "deep",
    section: "operations",
    flag: "deep",
    type: "boolean",
    flagOnly: true,
    help:
      "capture verify: also format each stored range again and compare it with what CouchDB holds (CSV, or records)",
  },
  {
    key: "status",
    section: "operations",
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
    placeholder: "NAME",
    section: "input",
    defaultText: "HOST-LOGNAME, which changes with the host name: set it",
    help: "stable name of this log in document ids",
  },
  {
    key: "cache",
    flag: "cache",
    type: "string",
    placeholder: "FILE",
    section: "input",
    defaultText:
      "$STATE_DIRECTORY/SOURCE.cache.json, else $XDG_STATE_HOME/logcapture/, else ~/.local/state/logcapture/",
    help: "the private cache file",
  },
  {
    key: "from",
    section: "input",
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
    section: "input",
    help: "capture what is new now, store it, and exit",
  },
  // A batch goes once its first line has waited this long, unless one is being stored: then the
  // log keeps what comes meanwhile and the next batch takes it all, so batches grow with the
  // server's answer time. Measured on CouchDB 3.5 at 1,000 lines/s: 500 ms gave p99 525 ms and
  // 1.7% of a core; 50 ms gives p99 69 ms (61 lines a document, about 1,000 documents a minute)
  // and 5.8%; 25 ms, 46 ms and 9.5%.
  {
    key: "flush",
    keyAliases: ["flushMs"],
    flag: "flush",
    aliases: ["flush-ms"],
    type: "duration",
    min: 1,
    section: "batching",
    defaultText: "1s in feed mode and tail-only, 50ms in records mode",
    help: "longest a read line waits before it is pushed, while no batch is being stored",
  },
  BATCH_LINES,
  {
    key: "batchBytes",
    flag: "batch-bytes",
    type: "bytes",
    section: "batching",
    min: 1,
    defaultText: "1MiB; 4MiB in tail-only",
    help: "most bytes in a batch",
  },
  MAX_LINE_BYTES,
  {
    key: "rotated",
    flag: "rotated",
    type: "list",
    placeholder: "GLOB",
    section: "input",
    defaultText: "logrotate's names beside LOGFILE",
    help: "where rotated files go, e.g. an olddir (repeatable)",
  },
  {
    key: "logrotateConf",
    flag: "logrotate-conf",
    type: "list",
    placeholder: "FILE",
    section: "input",
    defaultText: "/etc/logrotate.conf",
    help: "logrotate configuration that capture check reads (repeatable)",
  },
  {
    key: "rotateWait",
    flag: "rotate-wait",
    type: "duration",
    min: 0,
    section: "input",
    default: 5000,
    help: "how long a rotated or removed file must stop growing before the next file is read",
  },
  {
    key: "importHistory",
    flag: "import-history",
    type: "string",
    placeholder: "FILE",
    section: "input",
    help: "start from a 2012 logtail.history file",
  },
  {
    key: "poll",
    keyAliases: ["pollMs"],
    flag: "poll",
    aliases: ["poll-ms"],
    type: "duration",
    min: 10,
    section: "input",
    default: 1000,
    help: "how often the log is checked without a filesystem event",
  },
  {
    key: "tailOnly",
    section: "two-host (tail-only)",
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
    placeholder: "DIR",
    section: "two-host (tail-only)",
    help: "tail-only: the drop directory for extracts",
  },
  {
    key: "maxPendingBytes",
    flag: "max-pending-bytes",
    type: "bytes",
    min: 1,
    default: 1 << 30,
    section: "two-host (tail-only)",
    help: "tail-only: pause while the drop directory holds this much",
  },
  {
    key: "shipTo",
    flag: "ship-to",
    type: "string",
    placeholder: "URL",
    section: "two-host (tail-only)",
    help: "tail-only: a monitor's receiver, http(s)://host:port",
  },
  {
    key: "tokenFile",
    flag: "token-file",
    type: "string",
    placeholder: "FILE",
    section: "two-host (tail-only)",
    help: "tail-only: file holding the receiver's bearer token",
  },
  ...LOG_OPTIONS,
  ...PROGRAM_FLAGS,
] as const satisfies readonly OptionSpec[];

/** The resolved options of `capture`, typed from its table. */
export type CaptureOptions = Settings<typeof CAPTURE_OPTIONS>;

/** The options of `monitor`. */
export const MONITOR_OPTIONS = [
  ...COUCH_OPTIONS,
  ...VERIFY_OPTIONS,
  {
    key: "once",
    flag: "once",
    type: "boolean",
    default: false,
    section: "input",
    help: "process the extracts there now, and exit",
  },
  {
    key: "done",
    section: "input",
    flag: "done",
    type: "enum",
    values: ["keep", "delete"],
    default: "keep",
    help: "keep processed extracts in DIR/done, or delete them",
  },
  {
    key: "doneKeepFor",
    flag: "done-keep-for",
    type: "duration",
    min: 0,
    section: "input",
    default: 7 * 86_400_000,
    help: "how long DIR/done keeps an extract (or --done-max-bytes, whichever first)",
  },
  {
    key: "doneMaxBytes",
    flag: "done-max-bytes",
    type: "bytes",
    min: 0,
    section: "input",
    default: 1024 * MiB,
    help: "most bytes DIR/done keeps, oldest removed first",
  },
  BATCH_LINES,
  MAX_LINE_BYTES,
  {
    key: "poll",
    keyAliases: ["pollMs"],
    flag: "poll",
    aliases: ["poll-ms"],
    type: "duration",
    min: 10,
    section: "input",
    default: 1000,
    help: "how often DIR is scanned without a filesystem event",
  },
  {
    key: "listen",
    flag: "listen",
    type: "string",
    placeholder: "HOST:PORT",
    section: "receiver (monitor --listen)",
    help: "receive extracts over HTTP on HOST:PORT",
  },
  {
    key: "tokenFile",
    flag: "token-file",
    type: "string",
    placeholder: "FILE",
    section: "receiver (monitor --listen)",
    help: "file holding the bearer token the receiver requires",
  },
  {
    key: "tlsCert",
    flag: "tls-cert",
    type: "string",
    placeholder: "FILE",
    section: "receiver (monitor --listen)",
    help: "PEM certificate, for an https receiver",
  },
  {
    key: "tlsKey",
    flag: "tls-key",
    type: "string",
    placeholder: "FILE",
    section: "receiver (monitor --listen)",
    help: "PEM private key, for an https receiver",
  },
  {
    key: "maxExtractBytes",
    flag: "max-extract-bytes",
    type: "bytes",
    section: "receiver (monitor --listen)",
    min: 1,
    default: 64 * MiB,
    help: "largest extract the receiver takes",
  },
  {
    key: "maxPendingBytes",
    flag: "max-pending-bytes",
    type: "bytes",
    min: 1,
    default: 1 << 30,
    section: "receiver (monitor --listen)",
    help: "the receiver answers 503 while DIR holds this much",
  },
  ...LOG_OPTIONS,
  ...PROGRAM_FLAGS,
] as const satisfies readonly OptionSpec[];

/** The resolved options of `monitor`, typed from its table. */
export type MonitorOptions = Settings<typeof MONITOR_OPTIONS>;

// The rules between options, in one place: each says what is wrong and the fix in one line, and
// returns what it checked with the types that the rule guarantees.

/** Where tail-only capture hands its extracts: a drop directory, a receiver, or both. */
export interface HandoverTarget {
  /** The drop directory extracts are written into. */
  extractDir?: string;
  /** The receiver extracts are shipped to, and the file holding its token. */
  ship?: { url: string; tokenFile: string };
}

/**
 * The hand-over of tail-only capture, checked: it needs `--extract-dir` or `--ship-to`, and
 * `--ship-to` needs `--token-file`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CAPTURE_OPTIONS, handoverTarget } from "./options.ts";
 * import { resolveOptions } from "./config.ts";
 * const { options } = await resolveOptions("capture", CAPTURE_OPTIONS, ["-t", "--ship-to", "https://m:8443"]);
 * assert.throws(() => handoverTarget(options), /--ship-to needs --token-file FILE/);
 * ```
 */
export function handoverTarget(o: CaptureOptions): HandoverTarget {
  if (!o.extractDir && !o.shipTo) {
    throw new UsageError("capture: tail-only needs --extract-dir DIR or --ship-to URL (or both)");
  }
  if (o.shipTo && !o.tokenFile) throw new UsageError("capture: --ship-to needs --token-file FILE");
  return {
    extractDir: o.extractDir,
    ship: o.shipTo && o.tokenFile ? { url: o.shipTo, tokenFile: o.tokenFile } : undefined,
  };
}

/** The monitor's receiver: where it listens, its token file, and its TLS pair if any. */
export interface ReceiverSettings {
  /** The address the receiver listens on. */
  hostname: string;
  /** The port it listens on. */
  port: number;
  /** The file holding the token clients must present. */
  tokenFile: string;
  /** The certificate and key for https; `null`: plain http. */
  tls: { certFile: string; keyFile: string } | null;
}

/**
 * The monitor's receiver, checked, or `null` without `--listen`: `--listen` needs
 * `--token-file`, and `--tls-cert` and `--tls-key` go together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MONITOR_OPTIONS, receiverSettings } from "./options.ts";
 * import { resolveOptions } from "./config.ts";
 * const { options } = await resolveOptions("monitor", MONITOR_OPTIONS, ["--listen", "0.0.0.0:8443", "--token-file", "t"]);
 * assert.deepEqual(receiverSettings(options), { hostname: "0.0.0.0", port: 8443, tokenFile: "t", tls: null });
 * ```
 */
export function receiverSettings(o: MonitorOptions): ReceiverSettings | null {
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new UsageError("monitor: --tls-cert and --tls-key go together");
  }
  if (!o.listen) return null;
  if (!o.tokenFile) throw new UsageError("monitor: --listen needs --token-file FILE");
  const address = parseHostPort(o.listen);
  if (!address) {
    throw new UsageError(
      `monitor: --listen must be HOST:PORT, e.g. 127.0.0.1:9100, got "${o.listen}"`,
    );
  }
  return {
    ...address,
    tokenFile: o.tokenFile,
    tls: o.tlsCert && o.tlsKey ? { certFile: o.tlsCert, keyFile: o.tlsKey } : null,
  };
}

/** The options of `monitor convert`. */
export const CONVERT_OPTIONS = [
  {
    key: "year",
    flag: "year",
    type: "integer",
    min: 1970,
    max: 9999,
    placeholder: "YYYY",
    section: "input",
    defaultText: "inferred from each file's modification time",
    help: "the year of every report",
  },
  {
    key: "columns",
    flag: "columns",
    type: "enum",
    values: COLUMN_SETS,
    default: "classic",
    section: "input",
    help: "CSV column set",
  },
  MAX_LINE_BYTES,
  PROGRAM_FLAGS[2],
] as const satisfies readonly OptionSpec[];

/** What the exit codes mean, for `--help`: the same for both programs. */
export const EXIT_CODES = `exit codes:
  0  done: stopped by SIGTERM or SIGINT, --once finished, or every check passed
  1  a failure the message names: the log missing with --once, CouchDB or the receiver still
     failing after --retry-for, a refusal no retry mends (401, a foreign document), the cache file
     or drop directory held by another process, a check that failed
  2  a usage or configuration error: a wrong flag, key or value (the message names the fix)`;

/** How the 2012 tools' `hrtail.properties` keys map onto settings. */
const LEGACY_KEYS: Record<string, string> = {
  "couchpush.db_url": "couchdb",
  "logtail.tail_status_filename": "importHistory",
};

/**
 * Reads a program's configuration file: JSON (see `--help`), or the 2012 tools' `hrtail.properties`,
 * whose keys are mapped onto settings with a note (through `note`) of what was taken and what has
 * no equivalent.
 */
export async function readProgramConfig(
  path: string,
  specs: readonly OptionSpec[],
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
