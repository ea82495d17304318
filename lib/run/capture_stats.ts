/**
 * What capture counts, for its log lines, `/metrics` and `/healthz`: lines read and stored, files
 * followed, bytes lost, and what is failing now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countTailEvent, newStats } from "./capture_stats.ts";
 * const stats = newStats();
 * countTailEvent(stats, { kind: "next", name: "/var/log/a.log", generation: 1 });
 * assert.equal(stats.filesFollowed, 1);
 * ```
 * @module
 */
import { newStoreCounters, type StoreCounters } from "../sink/sink.ts";
import { type TailEvent, unreadableReason } from "../source/tail_events.ts";
import type { VerifyResult } from "./verify_result.ts";

/** Counters, for logs and metrics. */
export interface CaptureStats extends StoreCounters {
  /** Bytes of the log handed on in batches: whole lines, over-long ones included. */
  bytesRead: number;
  /** Failed attempts to store a batch. */
  pushErrors: number;
  /** Bytes of the log not yet acknowledged. */
  bytesBehind: number;
  /** Whether the log is being followed now. */
  tailing: boolean;
  /** The last attempt to store a batch failed (cleared by the next success). */
  pushFailing: string | null;
  /** The log, or a rotated file with lines to read, cannot be read now: why. */
  readFailing: string | null;
  /** Files that followed the one being read: rotated, or new at the path. */
  filesFollowed: number;
  /** Files truncated or rewritten in place. */
  filesTruncated: number;
  /** Bytes known lost: files gone or truncated before they were read, unreadable rotated files. */
  bytesLost: number;
  /** Rotated files that cannot be read (a compressor other than gzip, or corrupt data). */
  rotatedUnreadable: number;
  /** When the oldest line read and not yet acknowledged was read (ms since the epoch), or `null`. */
  oldestUnackedAt: number | null;
  /** The last `capture verify` of this log (its cache file's `.verify.json`), or `null`. */
  verified: VerifyResult | null;
  /**
   * Since when no file is at the log's path (ms since the epoch; 0 when its folder is missing too),
   * or `null`.
   */
  logMissingSince: number | null;
}

/** What a tail event moves in the counters. */
export function countTailEvent(stats: CaptureStats, event: TailEvent): void {
  if (["missing", "removed", "renamed"].includes(event.kind)) {
    // A log whose folder is missing too is a mistyped path: no grace for it.
    stats.logMissingSince = event.kind === "missing" && event.folderMissing
      ? 0
      : stats.logMissingSince ?? Date.now();
  } else if (event.kind === "appeared" || event.kind === "next") stats.logMissingSince = null;
  if (event.kind === "next") stats.filesFollowed++;
  else if (event.kind === "truncated") stats.filesTruncated++;
  else if (event.kind === "lost") stats.bytesLost += event.bytes;
  else if (event.kind === "unreadableRotated") {
    stats.rotatedUnreadable++;
    stats.bytesLost += event.file.bytes;
  } else if (event.kind === "unreadable") {
    stats.readFailing = unreadableReason(event.name);
  } else if (event.kind === "readable") stats.readFailing = null;
}

/** A fresh set of counters. */
export function newStats(): CaptureStats {
  return {
    ...newStoreCounters(),
    bytesRead: 0,
    pushErrors: 0,
    bytesBehind: 0,
    tailing: false,
    pushFailing: null,
    readFailing: null,
    filesFollowed: 0,
    filesTruncated: 0,
    bytesLost: 0,
    rotatedUnreadable: 0,
    logMissingSince: null,
    oldestUnackedAt: null,
    verified: null,
  };
}
