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
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { sleep } from "../base/backoff.ts";
import { type Batch, SOURCE_NAME } from "../sink/batch.ts";
import { CacheFile, type Checkpoint } from "../source/checkpoint.ts";
import {
  type BatchSink,
  countStored,
  rejectionLogger,
  type SinkResult,
  stopReason,
  storeRetrying,
  summaryFields,
} from "../sink/sink.ts";
import { PermanentError } from "../base/errors.ts";
import { BEFORE_BYTES, beforeHashOf, type FileIdentity, sameIdentity } from "../source/identity.ts";
import type { Logger } from "../base/log.ts";
import { Tailer } from "../source/tail.ts";
import { describeTailEvent } from "../source/tail_events.ts";
import { startPoint } from "../source/start_point.ts";
import { Batcher } from "./batcher.ts";
import { type CaptureStats, countTailEvent, newStats } from "./capture_stats.ts";
import { CatchUpProgress } from "./progress.ts";
import { LastVerification } from "./verify_result.ts";
import { nextTurn } from "../base/turn.ts";
import { CacheWriter } from "./cache_writer.ts";

export { type CaptureStats, countTailEvent, newStats } from "./capture_stats.ts";
export { describeStatus } from "./capture_status.ts";

/** Capture settings (the resolved command line). */
export interface CaptureSettings {
  /** The log. */
  path: string;
  /** The source name every document and extract carries. */
  source: string;
  /** The cache file. */
  cachePath: string;
  /** Where batches go. */
  sink: BatchSink;
  /** Where the sink stores batches, for messages: a CouchDB URL, a drop directory, a receiver. */
  target: string;
  /** How it stores them, for the first log line: "feed mode", "tail-only". */
  mode?: string;
  /** The program's version, for the first log line. */
  version?: string;
  /** Where a log never captured starts. */
  from: "start" | "end";
  /** Capture what is there now, then exit. */
  once: boolean;
  /** How long gathered lines wait for more before they are sent. */
  flushMs: number;
  /** The most lines a batch holds. */
  batchLines: number;
  /** The most bytes a batch holds. */
  batchBytes: number;
  /** The longest line stored whole; a longer one is rejected with its first bytes. */
  maxLineBytes: number;
  /** Where rotated files go (globs); logrotate's names by default. */
  rotated?: string[];
  /** A 2012 history file to start from. */
  importHistory?: string;
  /** How often the log is looked at without a filesystem event. */
  pollMs?: number;
  /** How long a file that left the path must be quiet before the next is read; default 5 s. */
  rotateWaitMs?: number;
  /** How long a failing sink is retried before capture stops with its error; default forever. */
  retryForMs?: number;
}

/** The default source name: host name and log file name, made safe for ids. */
export function defaultSourceName(path: string): string {
  const name = `${Deno.hostname().split(".")[0]}-${path.split("/").pop()}`.replace(
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
 * A read this long means a backlog: the folder's events are not needed until the capture has
 * caught up (it reads on regardless), and each one costs the runtime's watcher thread some fifty
 * system calls, a cache file saved in the log's folder raising four per batch.
 */
const BACKLOG_READ_BYTES = 256 << 10;

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
  return await new Capture(settings, log, signal, stats).run();
}

/**
 * One run of capture: the tailer reads, the batcher gathers and delivers, and the cache file moves
 * only from the ordered acknowledgements.
 */
class Capture {
  readonly #settings: CaptureSettings;
  readonly #log: Logger;
  readonly #signal: AbortSignal;
  readonly #stats: CaptureStats;
  readonly #tailer: Tailer;
  readonly #batcher: Batcher;
  readonly #logRejected: ReturnType<typeof rejectionLogger>;
  /** While catching up on a backlog: a line at most every 10 s with how far behind and how fast. */
  readonly #progress: CatchUpProgress;
  /** When each batch in flight was read, oldest first (they are acknowledged in that order). */
  readonly #inFlightReadAt: number[] = [];
  #cacheWriter: CacheWriter | null = null;

  constructor(settings: CaptureSettings, log: Logger, signal: AbortSignal, stats: CaptureStats) {
    this.#settings = settings;
    this.#log = log;
    this.#signal = signal;
    this.#stats = stats;
    this.#tailer = new Tailer({
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
    this.#logRejected = rejectionLogger(log);
    this.#progress = new CatchUpProgress(PROGRESS_EVERY_MS, settings.batchBytes);
    this.#batcher = new Batcher({
      source: { id: settings.source, host: Deno.hostname(), path: settings.path },
      limits: settings,
      // The sink says how many batches may be stored at once; the cache file still moves only
      // over the contiguous acknowledged prefix.
      inFlight: settings.sink.inFlight ?? 1,
      store: (batch, turn) => this.#store(batch, turn),
      acknowledge: (batch, result) => this.#acknowledge(batch, result),
      sent: (batch) => {
        this.#inFlightReadAt.push(batch.readAt.getTime());
        stats.bytesRead += batch.end - batch.start;
      },
      log,
    });
  }

  /** Starts where the capture resumes, and reads until stopped; the exit code. */
  async run(): Promise<number> {
    const settings = this.#settings, stats = this.#stats;
    const startedAt = Date.now();
    const checkpoint = await startTail(settings, this.#tailer, this.#log);
    stats.tailing = true;
    const identity = { path: settings.path, source: settings.source };
    const cache = new CacheFile(settings.cachePath, identity, checkpoint);
    this.#cacheWriter = new CacheWriter(cache, this.#tailer);
    // What the last `capture verify` found, for /metrics: on the timer, not the read loop.
    const verification = new LastVerification(settings.cachePath);
    const update = () =>
      void this.#updateBehind().then(async () => stats.verified = await verification.current())
        .catch(() => {});
    const behindTimer = setInterval(update, BEHIND_EVERY_MS);
    let stopping: string | null = null;
    try {
      // Where it starts is saved at once: a capture stopped before its first batch is stored, and
      // the log rotated meanwhile, finds that file again among the rotated files.
      await this.#recordPosition();
      return await this.#loop();
    } catch (error) {
      stopping = "stopping on an error";
      throw error;
    } finally {
      clearInterval(behindTimer);
      stats.tailing = false;
      this.#tailer.close();
      const done = "stopped: --once has captured all there was";
      this.#log.info(`${stopping ?? stopReason(this.#signal, done)}`, {
        bytes: stats.bytesRead,
        ...summaryFields(stats, startedAt),
        generation: cache.current?.generation ?? null,
        offset: cache.current?.offset ?? null,
        saved: settings.cachePath,
      });
    }
  }

  /** Reads, gathers and delivers until stopped (or, with `once`, caught up); the exit code. */
  async #loop(): Promise<number> {
    const { once, pollMs } = this.#settings;
    const tailer = this.#tailer, batcher = this.#batcher, signal = this.#signal;
    // Stopped while gathering lines: what was written meanwhile is read too, and goes with the
    // last push (the log is read up to where it stands, as with --once).
    let finishing = false;
    for (;;) {
      if (signal.aborted && !finishing) break;
      const read = await tailer.read();
      if (read) {
        if (read.item.kind === "lines" && read.item.bytes.length >= BACKLOG_READ_BYTES) {
          tailer.pauseWatch();
        }
        if (!await batcher.add(read)) break;
        await this.#reportProgress();
        continue;
      }
      // A file that left the path may still be written to: its lines, and those after it, wait.
      if (once && tailer.settling && !signal.aborted) {
        if (!await batcher.drain()) break;
        await this.#cacheWriter!.flush();
        await tailer.wait(pollMs ?? 1000, signal);
        continue;
      }
      // Caught up with the log: what is in flight is waited for, so that the cache file is current.
      if (once || finishing) {
        if (!await batcher.drain()) break;
        await this.#recordPosition();
        return 0;
      }
      if (!await batcher.settleAll()) break;
      await this.#recordPosition();
      await this.#updateBehind();
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
    if (await batcher.drain()) await this.#recordPosition();
    return 0;
  }

  /** Stores one batch, retrying until it is stored (its result) or the capture is stopped (null). */
  async #store(batch: Batch, turn?: Promise<void>): Promise<SinkResult | null> {
    const { sink, retryForMs } = this.#settings, stats = this.#stats;
    const result = await storeRetrying(
      (batch, turn) => sink.store(batch, turn),
      batch,
      this.#signal,
      (error, attempt) => {
        stats.pushErrors++;
        stats.pushFailing = error.message;
        if (attempt === 0) this.#log.warn(`${error.message}; retrying`);
      },
      retryForMs,
      turn,
    );
    if (result) stats.pushFailing = null;
    return result;
  }

  #noteOldest(): void {
    const oldest = this.#inFlightReadAt[0] ?? this.#batcher.gatheredSince;
    this.#stats.oldestUnackedAt = oldest ?? null;
  }

  /** What follows a stored batch, in log order: counters, logs, and the cache file moved past it. */
  async #acknowledge(batch: Batch, result: SinkResult): Promise<void> {
    const tailer = this.#tailer, log = this.#log;
    this.#inFlightReadAt.shift();
    this.#noteOldest();
    countStored(this.#stats, result);
    if (result.rejected?.length) this.#logRejected(this.#settings.source, result.rejected);
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
        `generation ${batch.generation} of source ${this.#settings.source} is held by another file in CouchDB (a lost or replaced cache file); this file is now generation ${result.generation}`,
      );
    }
    // capture's own batches carry the identity the tailer read, never a bare file id.
    const file = batch.source.file as FileIdentity;
    if (result.end > batch.end) {
      // CouchDB holds this file further than the batch reached (an earlier run cut its batches
      // elsewhere). The lines gathered since are contiguous with the batch, not with what is
      // stored: where they reach into it, they are dropped and read again from its end. Only the
      // reader's own file moves; batches already in flight meet their conflicts in the store.
      const from = this.#batcher.gatheredFrom(file) ?? tailer.position?.offset ?? result.end;
      if (result.end > from && await tailer.resumeAt(file, result.end)) {
        this.#batcher.dropGathered();
      }
    }
    // The bytes before the new position are the batch's own when it holds enough of them.
    const before = result.end === batch.end &&
        (batch.data.length >= BEFORE_BYTES || (batch.start === 0 && batch.data.length > 0))
      ? beforeHashOf(batch.data)
      : undefined;
    const position = { generation: result.generation, offset: result.end, file, before };
    // Unless the cache file was written, the loop turns once, as that write made it: the next
    // batch in flight goes out (its turn may have just come) before the next is read and made,
    // which takes milliseconds the server would wait (0.25 s a million lines without it).
    if (!await this.#cacheWriter!.acknowledge(position)) await nextTurn();
  }

  async #reportProgress(): Promise<void> {
    if (!this.#progress.due()) return;
    this.#stats.bytesBehind = await this.#tailer.bytesBehind();
    const line = this.#progress.report(this.#stats.bytesRead, this.#stats.bytesBehind);
    if (line) this.#log.info(line);
  }

  /**
   * With nothing read and not stored, records where the tailer stands when that is not what the
   * cache file says: a new generation began (whose file must be found again after a stop, even
   * before any of its lines is stored), or the sink skipped ahead. A new file with no whole line
   * yet has too little text to be known by after a stop: the cache file goes on naming the file
   * before it, drained, from which the files after it are found again.
   */
  async #recordPosition(): Promise<void> {
    await this.#cacheWriter!.flush();
    const { cache } = this.#cacheWriter!, position = this.#tailer.position;
    if (!this.#batcher.idle || !position || cache.holds(position)) return;
    if (!position.file.id && cache.current) return;
    await this.#cacheWriter!.commit(position);
  }

  /**
   * Bytes of the log not yet acknowledged, true at all times (an outage included, when the loop
   * waits for room): the rest of the file being read past what the cache file says, the rest of an
   * older file still in flight, and the rotated files waiting to be read.
   */
  async #updateBehind(): Promise<void> {
    const acked = this.#cacheWriter?.cache.current;
    const position = this.#tailer.position;
    let behind = await this.#tailer.fileSize() + await this.#tailer.queuedBytes();
    if (acked && position && sameIdentity(position.file, acked.file)) behind -= acked.offset;
    else if (acked) behind += Math.max(0, acked.seenSize - acked.offset);
    this.#stats.bytesBehind = Math.max(0, behind);
    this.#noteOldest();
  }
}

/**
 * Asks once where the capture resumes (`start_point.ts`), starts the tailer there, and says so;
 * resolves with what the cache file held.
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
