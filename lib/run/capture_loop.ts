/**
 * The capture loop: tail the log, cut whole lines into batches, hand each batch to a sink (CouchDB,
 * or an extract for the second host), and move the cache file only once the sink has it.
 *
 * Reading stops while the window of batches being stored is full, so memory stays bounded whatever
 * the backlog: the log itself is the buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import type { Batch } from "../sink/batch.ts";
 * import { runCapture } from "./capture_loop.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "line one\nline two\npartial");
 * const stored: string[] = [];
 * // A sink stands in for CouchDB here: it holds a batch once `store` resolves.
 * const sink = {
 *   store: (batch: Batch) => {
 *     stored.push(new TextDecoder().decode(batch.data));
 *     return Promise.resolve({ generation: batch.generation, end: batch.end, rows: 2 });
 *   },
 * };
 * const code = await runCapture({
 *   path: `${dir}/spysocket.log`,
 *   source: "avl1",
 *   cachePath: `${dir}/avl1.cache.json`,
 *   sink,
 *   target: "memory",
 *   from: "start",
 *   once: true,
 *   flushMs: 50,
 *   batchLines: 5000,
 *   batchBytes: 1 << 20,
 *   maxLineBytes: 1 << 20,
 * }, createLogger({ level: "error" }), new AbortController().signal);
 * assert.equal(code, 0);
 * assert.deepEqual(stored, ["line one\nline two\n"]); // the partial line waits for its newline
 * const cache = JSON.parse(await Deno.readTextFile(`${dir}/avl1.cache.json`));
 * assert.equal(cache.offset, 18);
 * ```
 * @module
 */
import { hostname } from "node:os";
import { sleep } from "../base/backoff.ts";
import { type Batch, SOURCE_NAME } from "../sink/batch.ts";
import { CacheFile, type Checkpoint, readCheckpoint } from "../source/checkpoint.ts";
import {
  type BatchSink,
  countStored,
  newStoreCounters,
  rejectionLogger,
  type SinkResult,
  stopReason,
  type StoreCounters,
  storeRetrying,
  summaryFields,
} from "../sink/sink.ts";
import { PermanentError } from "../base/errors.ts";
import {
  BEFORE_BYTES,
  beforeHashOf,
  type FileIdentity,
  headMatches,
  readIdentity,
  sameIdentity,
} from "../source/identity.ts";
import type { Logger } from "../base/log.ts";
import { describeTailEvent, Tailer, type TailEvent, unreadableReason } from "../source/tail.ts";
import { Batcher } from "./batcher.ts";
import { startPoint } from "../source/start_point.ts";
import { CatchUpProgress } from "./progress.ts";

/** Capture settings (the resolved command line). */
export interface CaptureSettings {
  path: string;
  source: string;
  cachePath: string;
  sink: BatchSink;
  /** Where the sink stores batches, for messages: a CouchDB URL, a drop directory, a receiver. */
  target: string;
  /** How it stores them, for the first log line: "feed mode", "tail-only". */
  mode?: string;
  /** The program's version, for the first log line. */
  version?: string;
  from: "start" | "end";
  once: boolean;
  flushMs: number;
  batchLines: number;
  batchBytes: number;
  maxLineBytes: number;
  rotated?: string[];
  importHistory?: string;
  pollMs?: number;
  /** How long a file that left the path must be quiet before the next is read; default 5 s. */
  rotateWaitMs?: number;
  /** How long a failing sink is retried before capture stops with its error; default forever. */
  retryForMs?: number;
}

/** Counters, for logs and metrics. */
export interface CaptureStats extends StoreCounters {
  linesRead: number;
  pushErrors: number;
  bytesBehind: number;
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
    linesRead: 0,
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
  };
}

/** The default source name: host name and log file name, made safe for ids. */
export function defaultSourceName(path: string): string {
  const name = `${hostname().split(".")[0]}-${path.split("/").pop()}`.replace(
    /[^A-Za-z0-9_.-]/g,
    "-",
  );
  const safe = name.replace(/^[^A-Za-z0-9]+/, "").slice(0, 64);
  return SOURCE_NAME.test(safe) ? safe : "log";
}

const PROGRESS_EVERY_MS = 10_000;
/** How often `bytes_behind` and the age of the oldest unacknowledged line are taken again. */
const BEHIND_EVERY_MS = 2_000;
const GATHER_POLL_MS = 100;

/**
 * Runs the capture until `signal` aborts (or, with `once`, until everything now in the log is
 * stored). Resolves with the exit code.
 */
export async function runCapture(
  settings: CaptureSettings,
  log: Logger,
  signal: AbortSignal,
  stats: CaptureStats = newStats(),
): Promise<number> {
  const tailer = new Tailer({
    path: settings.path,
    maxLineBytes: settings.maxLineBytes,
    pollMs: settings.pollMs,
    rotated: settings.rotated,
    rotateWaitMs: settings.rotateWaitMs,
    events: (event) => {
      const { level, message } = describeTailEvent(event, settings.path);
      log[level](message);
      countTailEvent(stats, event);
    },
    signal,
  });
  const logRejected = rejectionLogger(log);
  const startedAt = Date.now();
  const checkpoint = await startTail(settings, tailer, log);
  stats.tailing = true;

  const cache = new CacheFile(
    settings.cachePath,
    { path: settings.path, source: settings.source },
    checkpoint,
  );
  async function commit(
    generation: number,
    offset: number,
    file: FileIdentity,
    before?: string,
  ): Promise<void> {
    before ??= await tailer.beforeHash(file, offset);
    await cache.commit({ generation, offset, file, before }, await tailer.fileSize());
  }

  /** Stores one batch, retrying until it is stored (its result) or the capture is stopped (null). */
  async function store(batch: Batch, turn?: Promise<void>): Promise<SinkResult | null> {
    const result = await storeRetrying(
      (batch, turn) => settings.sink.store(batch, turn),
      batch,
      signal,
      (error, attempt) => {
        stats.pushErrors++;
        stats.pushFailing = error.message;
        if (attempt === 0) log.warn(`${error.message}; retrying`);
      },
      settings.retryForMs,
      turn,
    );
    if (result) stats.pushFailing = null;
    return result;
  }

  // When each batch in flight was read, oldest first (they are acknowledged in that order).
  const inFlightReadAt: number[] = [];
  function noteOldest(): void {
    const gathered = batcher.gatheredSince;
    const oldest = inFlightReadAt[0] ?? gathered;
    stats.oldestUnackedAt = oldest ?? null;
  }

  /** What follows a stored batch, in log order: counters, logs, and the cache file moved past it. */
  async function acknowledge(batch: Batch, result: SinkResult): Promise<void> {
    inFlightReadAt.shift();
    noteOldest();
    countStored(stats, result);
    if (result.rejected?.length) logRejected(settings.source, result.rejected);
    if (result.skippedBytes) {
      log.info(`skipped ${result.skippedBytes} bytes that CouchDB already held`, {
        generation: result.generation,
        from: batch.start,
        to: result.end,
      });
    }
    // CouchDB is the source of truth for which file a number is: the numbering follows its answer.
    if (tailer.generations.moved(batch.generation, result.generation)) {
      log.warn(
        `generation ${batch.generation} of source ${settings.source} is held by another file in CouchDB (a lost or replaced cache file); this file is now generation ${result.generation}`,
      );
    }
    // capture's own batches carry the identity the tailer read, never a bare file id.
    const file = batch.source.file as FileIdentity;
    if (result.end > batch.end) {
      // CouchDB holds this file further than the batch reached (an earlier run cut its batches
      // elsewhere). The lines gathered since are contiguous with the batch, not with what is
      // stored: where they reach into it, they are dropped and read again from its end. Only the
      // reader's own file moves; batches already in flight meet their conflicts in the store.
      const from = batcher.gatheredFrom(file) ?? tailer.position?.offset ?? result.end;
      if (result.end > from && await tailer.resumeAt(file, result.end)) batcher.dropGathered();
    }
    // The bytes before the new position are the batch's own when it holds enough of them.
    const before = result.end === batch.end &&
        (batch.data.length >= BEFORE_BYTES || (batch.start === 0 && batch.data.length > 0))
      ? await beforeHashOf(batch.data)
      : undefined;
    await commit(result.generation, result.end, file, before);
  }

  /** While catching up on a backlog: a line at most every 10 s with how far behind and how fast. */
  const progress = new CatchUpProgress(PROGRESS_EVERY_MS, settings.batchBytes);
  async function reportProgress(): Promise<void> {
    if (!progress.due()) return;
    stats.bytesBehind = await tailer.bytesBehind();
    const line = progress.report(stats.linesRead, stats.bytesBehind);
    if (line) log.info(line);
  }

  const batcher = new Batcher({
    source: { id: settings.source, host: hostname(), path: settings.path },
    limits: settings,
    // The sink says how many batches may be stored at once; the cache file still moves only over
    // the contiguous acknowledged prefix.
    inFlight: settings.sink.inFlight ?? 1,
    store,
    acknowledge,
    sent: (batch, lines) => {
      inFlightReadAt.push(batch.readAt.getTime());
      stats.linesRead += lines;
      if (batch.oversized === null) progress.noteBatch(lines, batch.data.length);
    },
    log,
  });

  /**
   * With nothing read and not stored, records where the tailer stands when that is not what the
   * cache file says: a new generation began (whose file must be found again after a stop, even
   * before any of its lines is stored), or the sink skipped ahead. A new file with no whole line
   * yet has too little text to be known by after a stop: the cache file goes on naming the file
   * before it, drained, from which the files after it are found again.
   */
  async function recordPosition(): Promise<void> {
    const position = tailer.position;
    if (!batcher.idle || !position || cache.holds(position)) return;
    if (!position.file.id && cache.current) return;
    await commit(position.generation, position.offset, position.file);
  }

  /**
   * Bytes of the log not yet acknowledged, true at all times (an outage included, when the loop
   * waits for room): the rest of the file being read past what the cache file says, the rest of an
   * older file still in flight, and the rotated files waiting to be read.
   */
  async function updateBehind(): Promise<void> {
    const acked = cache.current;
    const position = tailer.position;
    let behind = await tailer.fileSize() + await tailer.queuedBytes();
    if (acked && position && sameIdentity(acked.file, position.file)) behind -= acked.offset;
    else if (acked) behind += Math.max(0, acked.seenSize - acked.offset);
    stats.bytesBehind = Math.max(0, behind);
    noteOldest();
  }
  const behindTimer = setInterval(() => void updateBehind().catch(() => {}), BEHIND_EVERY_MS);

  let stopping: string | null = null;
  try {
    // Stopped while gathering lines: what was written meanwhile is read too, and goes with the
    // last push (the log is read up to where it stands, as with --once).
    let finishing = false;
    for (;;) {
      if (signal.aborted && !finishing) break;
      const read = await tailer.read();
      if (read) {
        if (!await batcher.add(read)) break;
        await reportProgress();
        continue;
      }
      // A file that left the path may still be written to: its lines, and those after it, wait.
      if (settings.once && tailer.settling && !signal.aborted) {
        if (!await batcher.drain()) break;
        await tailer.wait(settings.pollMs ?? 1000, signal);
        continue;
      }
      // Caught up with the log: what is in flight is waited for, so that the cache file is current.
      if (settings.once || finishing) {
        if (!await batcher.drain()) break;
        await recordPosition();
        return 0;
      }
      if (!await batcher.settleAll()) break;
      await recordPosition();
      await updateBehind();
      const left = batcher.dueIn();
      if (left <= 0) {
        if (!await batcher.flush()) break;
        continue;
      }
      if (left < Infinity) {
        // The gathered lines go at the deadline: until then, look every 100 ms (a batch may fill
        // first) taking no events, rather than wake for every write (a log written a line at a
        // time, 1,000 lines a second: 10% of a core before, about 1% now).
        tailer.pauseWatch();
        await sleep(Math.min(left, GATHER_POLL_MS), signal);
        finishing = signal.aborted;
      } else {
        await tailer.wait(60_000, signal);
      }
    }
    // Stopping: what was read is pushed once more, if CouchDB takes it before the grace period ends.
    if (await batcher.drain()) await recordPosition();
    return 0;
  } catch (error) {
    stopping = "stopping on an error";
    throw error;
  } finally {
    clearInterval(behindTimer);
    stats.tailing = false;
    tailer.close();
    log.info(`${stopping ?? stopReason(signal, "stopped: --once has captured all there was")}`, {
      lines: stats.linesRead,
      ...summaryFields(stats, startedAt),
      generation: cache.current?.generation ?? null,
      offset: cache.current?.offset ?? null,
      saved: settings.cachePath,
    });
  }
}

/**
 * Reads the cache file, starts the tailer where the capture resumes (see {@linkcode startPoint}),
 * and says so; resolves with what the cache file held.
 */
async function startTail(
  settings: CaptureSettings,
  tailer: Tailer,
  log: Logger,
): Promise<Checkpoint | null> {
  const sink = settings.sink;
  const { checkpoint, start, origin } = await startPoint({
    ...settings,
    // CouchDB is the source of truth: whenever the cache file is in doubt, or a file is about to
    // be started from 0 as a new generation, capture asks it where this file stands.
    locate: sink.findPosition
      ? (file: FileIdentity) => sink.findPosition!(settings.source, file)
      : undefined,
    holder: sink.positionHolder ?? "CouchDB",
  }, log);
  await tailer.start(start, checkpoint?.seenSize);
  // A script's --once must not pass for a capture of a log that is not there (a wrong path).
  if (settings.once && !tailer.position) {
    tailer.close();
    throw new PermanentError(
      `${settings.path} does not exist: --once has nothing to capture (without --once, capture waits for the log to appear)`,
    );
  }
  log.info(`capturing ${settings.path} into ${settings.target}`, {
    version: settings.version,
    mode: settings.mode,
    source: settings.source,
    generation: tailer.position?.generation ?? start.generation,
    offset: tailer.position?.offset ?? start.offset,
    from: origin,
    cache: settings.cachePath,
  });
  return checkpoint;
}

/**
 * What `capture --status` prints: the position in the cache file, how far behind the log it is,
 * and whether the file at the path is still the one the cache file names. Starts nothing.
 */
export async function describeStatus(path: string, cachePath: string): Promise<string> {
  const checkpoint = await readCheckpoint(cachePath);
  let size: number | null = null;
  let identity: FileIdentity | null = null;
  let matches = false;
  try {
    using file = await Deno.open(path);
    size = (await file.stat()).size;
    identity = await readIdentity(file);
    // Known by its text: a copy of the file (a restore) is the file.
    if (checkpoint) matches = await headMatches(file, checkpoint.file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const lines = [`log:        ${path} (${size === null ? "does not exist" : `${size} bytes`})`];
  if (!checkpoint) {
    lines.push(
      `cache file: ${cachePath} does not exist yet: nothing captured; capture starts at --from (default: the beginning)`,
    );
    if (size !== null) lines.push(`behind:     ${size} bytes`);
    return lines.join("\n");
  }
  lines.push(`cache file: ${cachePath} (updated ${checkpoint.updated ?? "?"})`);
  lines.push(
    `source:     ${checkpoint.source}, generation ${checkpoint.generation}, offset ${checkpoint.offset}`,
  );
  if (size === null || !identity) {
    lines.push("identity:   the log is gone; capture will look for it among the rotated files");
  } else if (matches) {
    lines.push(`behind:     ${Math.max(0, size - checkpoint.offset)} bytes`);
    lines.push(
      `identity:   matches (device ${identity.dev}, inode ${identity.ino}, first ${checkpoint.file.headLength} bytes)`,
    );
  } else {
    lines.push(
      `behind:     ${size} bytes of the new file, and whatever is left of the old one after offset ${checkpoint.offset}`,
    );
    lines.push(
      `identity:   does not match (cache: device ${checkpoint.file.dev}, inode ${checkpoint.file.ino}; log: device ${identity.dev}, inode ${identity.ino}): the log was rotated or replaced; capture will read the rest of the old file from the rotated files, then the new one as generation ${
        checkpoint.generation + 1
      }`,
    );
  }
  return lines.join("\n");
}
