/**
 * One line per event on stderr: human-readable by default, JSON for collectors. Secrets registered
 * with the logger are replaced by `***` in every line, whatever produced the text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger({ format: "json", secrets: ["hunter2"], write: (l) => lines.push(l) });
 * log.info("capturing /var/log/spysocket.log", { offset: 0, password: "hunter2" });
 * log.debug("not written: below the level");
 * const line = JSON.parse(lines[0]);
 * assert.deepEqual([line.level, line.msg, line.offset, line.password], [
 *   "info",
 *   "capturing /var/log/spysocket.log",
 *   0,
 *   "***",
 * ]);
 * assert.equal(lines.length, 1);
 * ```
 * @module
 */

/** Levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Line formats. */
export type LogFormat = "text" | "json";

/** What the program logs through. */
export interface Logger {
  /** A line for debugging (`-v`): per batch, per request. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** What happened: start, stop, a rotation, an outage's end. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something is wrong but is being handled: a retry, a rejected line, a file that cannot be read. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Something failed that the program cannot handle itself. */
  error(message: string, fields?: Record<string, unknown>): void;
  /** Adds a string that must never appear in a log line. */
  addSecret(secret: string): void;
}

/** Logger settings. */
export interface LoggerOptions {
  /** The lowest level written; default `info`. */
  level?: LogLevel;
  /** Text lines, or one JSON object a line. */
  format?: LogFormat;
  /** Strings never written: each is replaced by `***`. */
  secrets?: string[];
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const encoder = new TextEncoder();

/** Creates a logger. See the module example. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? "info"];
  const format = options.format ?? "text";
  const secrets = (options.secrets ?? []).filter((s) => s.length > 0);
  const write = options.write ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line)));

  function redact(text: string): string {
    for (const secret of secrets) text = text.replaceAll(secret, "***");
    return text;
  }

  function emit(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < min) return;
    const time = new Date().toISOString();
    let line: string;
    if (format === "json") {
      line = JSON.stringify({ time, level, msg: message, ...fields });
    } else {
      const extra = fields
        ? Object.entries(fields).map(([k, v]) =>
          // logfmt's rule: a value with spaces, quotes or "=" is quoted.
          ` ${k}=${typeof v === "string" && !/[\s"=]/.test(v) && v !== "" ? v : JSON.stringify(v)}`
        )
          .join("")
        : "";
      line = `${time} ${level.toUpperCase().padEnd(5)} ${message}${extra}`;
    }
    write(redact(line) + "\n");
  }

  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    addSecret: (s) => {
      if (s.length > 0) secrets.push(s);
    },
  };
}
