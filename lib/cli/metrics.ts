/**
 * The metrics each program serves on `/metrics`, from its counters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { captureMetrics, NO_REQUESTS } from "./metrics.ts";
 * import { newStats } from "../run/capture_stats.ts";
 * const stats = newStats();
 * stats.bytesRead = 5;
 * const metrics = captureMetrics(stats, NO_REQUESTS);
 * assert.equal(metrics.bytes_read_total.value, 5);
 * assert.equal(metrics.seconds_since_last_ack.value, -1); // nothing acknowledged yet
 * ```
 * @module
 */
import type { CaptureStats } from "../run/capture_stats.ts";
import type { CouchClient } from "../sink/couchdb.ts";
import type { MonitorStats } from "../run/extract_sender.ts";
import type { StoreCounters } from "../sink/sink.ts";
import type { Metric } from "./status.ts";

const counter = (value: number, help: string): Metric => ({ value, help, type: "counter" });
const gauge = (value: number, help: string): Metric => ({ value, help, type: "gauge" });

function sinceLastAck(lastAckAt: number): Metric {
  return gauge(
    lastAckAt ? (Date.now() - lastAckAt) / 1000 : -1,
    "seconds since the last acknowledged batch (-1: none yet)",
  );
}

/** What the CouchDB client counts of its requests. */
export type RequestCounters = Pick<CouchClient, "retries" | "writesBelowQuorum">;

/** No CouchDB (tail-only capture): nothing counted. */
export const NO_REQUESTS: RequestCounters = { retries: 0, writesBelowQuorum: 0 };

/** The metrics both programs have, from the counters every stored batch moves. */
function storeMetrics(stats: StoreCounters, requests: RequestCounters): Record<string, Metric> {
  return {
    rows_pushed_total: counter(stats.rowsPushed, "CSV rows or records stored"),
    lines_rejected_total: counter(
      stats.linesRejected,
      "lines that did not parse, kept with their batch",
    ),
    batches_total: counter(stats.batches, "batches acknowledged"),
    conflicts_resolved_total: counter(
      stats.conflictsResolved,
      "conflicts resolved by reading what CouchDB holds",
    ),
    retries_total: counter(requests.retries, "CouchDB requests retried"),
    writes_below_quorum_total: counter(
      requests.writesBelowQuorum,
      "writes a CouchDB cluster accepted on fewer copies than its write quorum (202): stored",
    ),
    bytes_skipped_total: counter(stats.bytesSkipped, "bytes an earlier run had stored already"),
    seconds_since_last_ack: sinceLastAck(stats.lastAckAt),
    last_ack_timestamp_seconds: gauge(
      stats.lastAckAt / 1000,
      "when the last batch was acknowledged (Unix time; 0: none yet)",
    ),
  };
}

/** The metrics of `capture`. */
export function captureMetrics(
  stats: CaptureStats,
  requests: RequestCounters,
): Record<string, Metric> {
  return {
    bytes_read_total: counter(
      stats.bytesRead,
      "bytes of whole lines read from the log and sent on",
    ),
    ...storeMetrics(stats, requests),
    push_errors_total: counter(stats.pushErrors, "failed attempts to store a batch"),
    attempts_failed_total: counter(
      stats.pushErrors + requests.retries,
      "failed attempts of any kind: a batch's store, or a CouchDB request retried",
    ),
    oldest_unacknowledged_seconds: gauge(
      stats.oldestUnackedAt === null ? 0 : (Date.now() - stats.oldestUnackedAt) / 1000,
      "age of the oldest line read and not yet acknowledged (0: none)",
    ),
    files_followed_total: counter(stats.filesFollowed, "files that followed the one being read"),
    files_truncated_total: counter(stats.filesTruncated, "files truncated or rewritten in place"),
    bytes_lost_total: counter(
      stats.bytesLost,
      "bytes known lost: files gone or truncated before they were read, rotated files capture cannot read",
    ),
    rotated_files_unreadable_total: counter(
      stats.rotatedUnreadable,
      "rotated files capture cannot read (a compressor other than gzip, or corrupt data)",
    ),
    bytes_behind: gauge(stats.bytesBehind, "bytes in the log not yet captured"),
    verify_last_timestamp_seconds: gauge(
      (stats.verified?.verifiedAt ?? 0) / 1000,
      "when capture verify last ran on this log (Unix time; 0: never)",
    ),
    verify_bytes_missing: gauge(
      stats.verified?.bytesMissing ?? 0,
      "bytes of the log no document held, at the last capture verify",
    ),
    verify_bytes_doubled: gauge(
      stats.verified?.bytesDoubled ?? 0,
      "bytes of the log stored more than once (or beyond the file), at the last capture verify",
    ),
  };
}

/** The metrics of `monitor`. */
export function monitorMetrics(
  stats: MonitorStats,
  requests: RequestCounters,
): Record<string, Metric> {
  return {
    extracts_done_total: counter(stats.extractsDone, "extracts stored"),
    extracts_rejected_total: counter(stats.extractsRejected, "files moved to rejected/"),
    extracts_pending: gauge(stats.extractsPending, "extracts waiting in the drop directory"),
    ...storeMetrics(stats, requests),
    extracts_pruned_total: counter(
      stats.extractsPruned,
      "stored extracts removed from done/ by its retention (--done-keep-for, --done-max-bytes)",
    ),
    done_bytes: gauge(stats.doneBytes, "bytes done/ holds, as of its last pruning"),
    tokens_refused_total: counter(
      stats.tokensRefused,
      "requests the receiver refused for a missing or wrong token",
    ),
  };
}
