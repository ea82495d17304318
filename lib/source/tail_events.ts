/**
 * What the tailer meets as a log lives (rotations, truncations, a log missing or unreadable, lines
 * lost), as events for its caller to log and count, and each event's log line, which names the fix
 * where there is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeTailEvent, unreadableReason } from "./tail_events.ts";
 * assert.equal(describeTailEvent({ kind: "removed" }, "/var/log/a.log").level, "info");
 * assert.equal(unreadableReason("/var/log/a.log"), "cannot read /var/log/a.log: permission denied");
 * ```
 * @module
 */
import type { UnreadableRotated } from "./rotated.ts";

/**
 * What the tailer met, for its caller to log and count. Files are named by their path; the log's
 * own path is the tailer's.
 */
export type TailEvent =
  /**
   * The log does not exist (yet): it is waited for. Said again every 5 minutes (`minutes`), and
   * `folderMissing` when not even its folder exists (a mistyped path, most likely).
   */
  | { kind: "missing"; minutes?: number; folderMissing?: boolean }
  /** The log exists now (it did not): `generation` begins. */
  | { kind: "appeared"; generation: number }
  /** The log was removed: the next file at its path is waited for. */
  | { kind: "removed" }
  /** The log was renamed and no file is at its path yet: the next one is waited for. */
  | { kind: "renamed" }
  /** `name` (the log, or a rotated file with lines to read) cannot be read: waited for, never skipped. */
  | { kind: "unreadable"; name: string }
  /** `name` can be read again. */
  | { kind: "readable"; name: string }
  /** The file at the path shrank or was rewritten in place: `generation` starts at 0. */
  | { kind: "truncated"; whileStopped: boolean; generation: number; size?: number; offset?: number }
  /** The log was rotated while capture was stopped: the rest of `name` is read first. */
  | { kind: "rotated"; whileStopped: true; name: string; generation: number; offset: number }
  /** The next file, `name` (a rotated one, or the new file at the path), is `generation`. */
  | { kind: "next"; name: string; generation: number }
  /**
   * The file of `generation` is gone: `bytes` after `offset`, at least, were never read (`size` is
   * its size when last seen). `unreadable` lists compressed files that may hold it and cannot be
   * read; `searched` the globs its rotated copies were looked for in.
   */
  | {
    kind: "lost";
    /** Why: the file is gone, or it was truncated (or rewritten) in place. */
    cause: "gone" | "truncated";
    generation: number;
    offset: number;
    bytes: number;
    size: number;
    next: number;
    whileStopped: boolean;
    unreadable: UnreadableRotated[];
    searched: string[];
  }
  /** `name` was truncated (copytruncate) while its lines were unread, and `copy` holds them. */
  | { kind: "copied"; name: string; copy: string; generation: number; offset: number }
  /** The log was replaced by `name`, a copy of the same text (a restore, `cp` and `mv`, `sed -i`). */
  | { kind: "replaced"; generation: number; offset: number }
  /** A rotated file that capture cannot read (a compressor it does not read, or corrupt data). */
  | { kind: "unreadableRotated"; file: UnreadableRotated; reason: string }
  /** The file at the path is not the one expected, but `holder` says where it was left. */
  | { kind: "located"; holder: string; generation: number; offset: number };

/** Why the tailer waits on `name`, in the words `/healthz` and the log line share. */
export function unreadableReason(name: string): string {
  return `cannot read ${name}: permission denied`;
}

/**
 * A tail event as a log line: its level and its words, which name the fix where there is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeTailEvent } from "./tail_events.ts";
 * assert.deepEqual(describeTailEvent({ kind: "next", name: "/var/log/a.log", generation: 3 }, "/var/log/a.log"), {
 *   level: "info",
 *   message: "/var/log/a.log is a new file: generation 3",
 * });
 * ```
 */
export function describeTailEvent(
  event: TailEvent,
  path: string,
): { level: "info" | "warn" | "error"; message: string } {
  switch (event.kind) {
    case "missing":
      return describeMissing(event, path);
    case "appeared":
      return {
        level: "info",
        message: `${path} exists now: reading it as generation ${event.generation}`,
      };
    case "removed":
      return { level: "info", message: `${path} was removed; waiting for it to be created again` };
    case "renamed":
      return { level: "info", message: `${path} was rotated away; waiting for the new ${path}` };
    case "unreadable":
      return {
        level: "warn",
        message: `${
          unreadableReason(event.name)
        }; capture waits for it and retries (give the capture user read access: the log's group, or a default ACL on its folder)`,
      };
    case "readable":
      return { level: "info", message: `${event.name} can be read again` };
    case "truncated":
      return event.whileStopped
        ? {
          level: "warn",
          message:
            `${path} was truncated while capture was stopped (rewritten in place: now ${event.size} bytes, and not the text capture had read up to offset ${event.offset}); starting generation ${event.generation} at 0`,
        }
        : {
          level: "info",
          message: `${path} was truncated or rewritten; generation ${event.generation} starts at 0`,
        };
    case "rotated":
      return {
        level: "info",
        message:
          `${path} was rotated while capture was stopped; reading the rest of ${event.name} first (generation ${event.generation}, offset ${event.offset})`,
      };
    case "next":
      return {
        level: "info",
        message: event.name === path
          ? `${path} is a new file: generation ${event.generation}`
          : `reading ${event.name} (rotated after it): generation ${event.generation}`,
      };
    case "lost":
      return describeLost(event, path);
    case "copied":
      return {
        level: "warn",
        message:
          `${event.name} was truncated (copytruncate) before capture read all of it: reading the rest from its copy ${event.copy} (generation ${event.generation}, offset ${event.offset})`,
      };
    case "replaced":
      return {
        level: "info",
        message:
          `${path} was replaced by a copy of the same text (a restore, cp and mv, sed -i): it is the same file; continuing at offset ${event.offset} of generation ${event.generation}`,
      };
    case "unreadableRotated":
      return {
        level: "error",
        message:
          `${event.file.name} is a rotated file of ${path} that capture cannot read (${event.reason}): its ${event.file.bytes} bytes are not captured; have logrotate compress with gzip`,
      };
    case "located":
      return {
        level: "warn",
        message:
          `${path} is not the file the cache file names, but ${event.holder} holds it (generation ${event.generation}): continuing at offset ${event.offset}, skipping what is stored already`,
      };
  }
}

/** A tail event's level and words. */
type Described = { level: "info" | "warn" | "error"; message: string };

function describeMissing(event: Extract<TailEvent, { kind: "missing" }>, path: string): Described {
  if (event.folderMissing) {
    return {
      level: "warn",
      message: `${path} does not exist, nor does its folder${
        event.minutes ? ` (for ${event.minutes} minutes)` : ""
      }: check the path; capture waits for it`,
    };
  }
  return event.minutes
    ? {
      level: "warn",
      message:
        `${path} still does not exist (for ${event.minutes} minutes): check the path, and that the writer runs; capture waits for it`,
    }
    : { level: "info", message: `${path} does not exist yet; waiting for it` };
}

function describeLost(event: Extract<TailEvent, { kind: "lost" }>, path: string): Described {
  const where = event.cause === "gone"
    ? "gone (rotated and removed while capture was stopped)"
    : `truncated ${
      event.whileStopped ? "while capture was stopped" : "before capture read it all"
    }, and no rotated copy holds the rest`;
  const held = event.bytes > 0
    ? `${event.bytes} bytes after offset ${event.offset} were lost (it held ${event.size} bytes when last seen, and maybe more since)`
    : `what it held after offset ${event.offset} is lost (it held ${event.size} bytes when last seen; how much it grew after that cannot be known)`;
  const unreadable = event.unreadable.map((u) =>
    `${u.name} (${u.compression ?? "not whole"}, ${u.bytes} bytes) may hold it and cannot be read`
  );
  const searched = event.unreadable.length > 0
    ? `${
      unreadable.join("; ")
    }: have logrotate compress with gzip (compresscmd), or use delaycompress`
    : `it is not among the rotated files (${
      event.searched.join(", ")
    }): if logrotate moves them to another folder (olddir), name it with --rotated`;
  return {
    // A file gone, or bytes known lost, is an error; a file rewritten in place with nothing
    // unread when capture last looked is a warning.
    level: event.cause === "gone" || event.bytes > 0 || event.unreadable.length > 0
      ? "error"
      : "warn",
    message:
      `the file of generation ${event.generation} of ${path} is ${where}: ${held}, and could not be captured; ${searched}; continuing with generation ${event.next}`,
  };
}
