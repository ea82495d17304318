/**
 * What capture does with each read of the tailer: the lines are gathered into a batch until it is
 * full, its time is up, or the next read belongs to another file; a line longer than the limit
 * goes as a batch of its own; and each batch is delivered through one window of batches in flight
 * ({@linkcode Delivery}). The reader waits while that window is full, so memory stays bounded
 * whatever the backlog.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { Batcher } from "./batcher.ts";
 * const stored: [number, number][] = [];
 * const batcher = new Batcher({
 *   source: { id: "avl1", host: "h", path: "/var/log/spysocket.log" },
 *   limits: { batchLines: 2, batchBytes: 1 << 20, maxLineBytes: 1024, flushMs: 50 },
 *   inFlight: 1,
 *   store: (batch) => Promise.resolve({ generation: batch.generation, end: batch.end }),
 *   acknowledge: (batch) => (stored.push([batch.start, batch.end]), Promise.resolve()),
 *   log: createLogger({ level: "error" }),
 * });
 * const file = { dev: 1, ino: 2, head: "", headLength: 0 };
 * const bytes = new TextEncoder().encode("a\nb\nc\n");
 * await batcher.add({ generation: 0, file, item: { kind: "lines", offset: 0, bytes } });
 * assert.deepEqual(stored, [[0, 4]]); // two lines make a full batch
 * assert.equal(batcher.dueIn() > 0, true); // the third waits for its time, or for more lines
 * assert.equal(await batcher.drain(), true);
 * assert.deepEqual(stored, [[0, 4], [4, 6]]);
 * ```
 * @module
 */
import type { Logger } from "../base/log.ts";
import type { Batch } from "../sink/batch.ts";
import type { SinkResult } from "../sink/sink.ts";
import { type FileIdentity, sameIdentity } from "../source/identity.ts";
import type { OversizedLine } from "../source/lines.ts";
import type { TailRead } from "../source/tail.ts";
import { BatchBuilder, fitBytes, fitLines } from "./batch_builder.ts";
import { Delivery } from "./delivery.ts";

/** How big a batch may grow, and how long its first line may wait. */
export interface BatchLimits {
  /** The most lines a batch holds; `Infinity`: batches are cut by size only, lines not counted. */
  batchLines: number;
  /** The most bytes a batch holds (a longer line goes alone). */
  batchBytes: number;
  /** The longest line the tailer returns whole, for the size of the reused buffers. */
  maxLineBytes: number;
  /** How long gathered lines wait for more before they are sent. */
  flushMs: number;
}

/** Where a batcher's batches go, and who is told of them. */
export interface BatcherOptions {
  /** The source every batch names (its file is the one each read names). */
  source: Omit<Batch["source"], "file">;
  /** How big a batch grows, and how long it waits. */
  limits: BatchLimits;
  /** How many batches may be in flight (the sink's `inFlight`). */
  inFlight: number;
  /** Stores a batch, retrying as it sees fit: its result, or `null` once the program stops. */
  store: (batch: Batch, turn?: Promise<void>) => Promise<SinkResult | null>;
  /** What follows a stored batch, in the order the batches were sent. */
  acknowledge: (batch: Batch, result: SinkResult) => Promise<void>;
  /** Told of each batch as it is sent. */
  sent?: (batch: Batch) => void;
  /** Where stored batches are logged (debug). */
  log: Logger;
}

/** Gathers reads into batches and delivers them; see the module example. */
export class Batcher {
  readonly #options: BatcherOptions;
  readonly #builder: BatchBuilder;
  readonly #delivery: Delivery<{ batch: Batch }>;
  /** Counts the reader's jumps: the rest of a read taken before one is not batched. */
  #jumps = 0;

  /** A batcher with nothing gathered and nothing in flight. */
  constructor(options: BatcherOptions) {
    this.#options = options;
    const { batchBytes, maxLineBytes } = options.limits;
    // A batch holds at most `batchBytes`, or one line alone up to the line limit; a buffer holds
    // either (the builder grows one for anything longer). Each batch in flight keeps its buffer.
    const builder = new BatchBuilder(Math.min(Math.max(batchBytes, maxLineBytes + 1), 64 << 20));
    this.#builder = builder;
    this.#delivery = new Delivery<{ batch: Batch }>({
      limit: options.inFlight,
      store: options.store,
      settled: ({ batch }) => {
        if (batch.oversized === null) builder.recycle(batch);
      },
      acknowledge: ({ batch }, result) => options.acknowledge(batch, result),
      log: options.log,
    });
  }

  /** Whether nothing is gathered and nothing is in flight: all that was read is acknowledged. */
  get idle(): boolean {
    return this.#builder.empty && this.#delivery.size === 0;
  }

  /**
   * Where the gathered lines start, in the file of `file`: `null` when nothing of that file is
   * gathered.
   */
  gatheredFrom(file: FileIdentity): number | null {
    const builder = this.#builder;
    return builder.empty || !sameIdentity(builder.file!, file) ? null : builder.start;
  }

  /**
   * Drops the gathered lines: the reader was moved (CouchDB holds more of the file than the batches
   * before them covered), and it reads them again from where it now stands.
   */
  dropGathered(): void {
    this.#builder.clear();
    this.#jumps++;
  }

  /** When the oldest line gathered and not yet sent was read (ms), or `null`. */
  get gatheredSince(): number | null {
    return this.#builder.empty ? null : this.#builder.firstAt;
  }

  /** Milliseconds until the gathered lines are due to be sent (0 or less: now); Infinity if none. */
  dueIn(now: number = Date.now()): number {
    if (this.#builder.empty) return Infinity;
    return this.#builder.firstAt + this.#options.limits.flushMs - now;
  }

  /**
   * Takes one read: its lines are gathered (a full batch sent at once, and the rest when their time
   * is up), a line longer than the limit is sent alone. False when the program stopped.
   */
  async add(read: TailRead): Promise<boolean> {
    const builder = this.#builder;
    // A batch holds lines of one file: another generation or file sends what is gathered first.
    if (
      !builder.empty &&
      (read.generation !== builder.generation || !sameIdentity(read.file, builder.file!))
    ) {
      if (!await this.flush()) return false;
    }
    // Acknowledgements of another file come first: they may move the reader.
    const turn = {
      source: { id: this.#options.source.id, file: read.file },
      generation: read.generation,
    };
    if (!await this.#delivery.turnTo(turn)) return false;
    if (read.item.kind === "oversized") return await this.#sendOversized(read, read.item);
    const { batchLines, batchBytes } = this.#options.limits;
    const { bytes, offset } = read.item;
    const jumps = this.#jumps;
    // The unterminated last line of a finished file goes alone, after what was gathered: a batch
    // of whole lines always ends in a newline (in tail-only mode it travels as a `.last` note).
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 10 && !builder.empty) {
      if (!await this.flush()) return false;
    }
    for (let from = 0; from < bytes.length;) {
      if (builder.empty) builder.begin(read, offset + from);
      // The same file, its identity taken again over more of its first bytes (a young file).
      else builder.file = read.file;
      const roomBytes = batchBytes - builder.bytes;
      let to: number, lines = 0;
      // Without a line limit the lines are not counted: one newline is looked for, not each.
      if (batchLines === Infinity) to = fitBytes(bytes, from, roomBytes);
      else ({ to, lines } = fitLines(bytes, from, batchLines - builder.lines, roomBytes));
      // A line that does not fit in what is left of the batch begins the next one: only a line
      // longer than a whole batch makes a batch over the byte limit (and then it is alone).
      if (to - from > roomBytes && !builder.empty) {
        if (!await this.flush()) return false;
        if (this.#jumps !== jumps) return true;
        continue;
      }
      // The chunk view is only valid until the next read: the builder copies what it keeps.
      builder.add(bytes.subarray(from, to), lines);
      from = to;
      if (builder.lines >= batchLines || builder.bytes >= batchBytes) {
        if (!await this.flush()) return false;
        // The reader jumped while this batch waited for room: the rest of this read is read again
        // from where it now stands.
        if (this.#jumps !== jumps) return true;
      }
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 10) return await this.flush();
    return this.dueIn() > 0 || await this.flush();
  }

  /** Sends what is gathered, waiting only while the window is full; false when stopped. */
  async flush(): Promise<boolean> {
    const builder = this.#builder;
    if (builder.empty) return true;
    return await this.#send(builder.take(this.#options.source));
  }

  /** Sends what is gathered and waits until every batch is acknowledged; false when stopped. */
  async drain(): Promise<boolean> {
    return await this.flush() && await this.#delivery.settleAll();
  }

  /** Waits until every batch sent is acknowledged (what is gathered stays); false when stopped. */
  settleAll(): Promise<boolean> {
    return this.#delivery.settleAll();
  }

  async #sendOversized(read: TailRead, line: OversizedLine): Promise<boolean> {
    if (!await this.flush()) return false;
    return await this.#send({
      source: { ...this.#options.source, file: read.file },
      generation: read.generation,
      start: line.offset,
      end: line.offset + line.length,
      data: new Uint8Array(0),
      oversized: line,
      readAt: new Date(),
    });
  }

  #send(batch: Batch): Promise<boolean> {
    this.#options.sent?.(batch);
    return this.#delivery.send({ batch });
  }
}
