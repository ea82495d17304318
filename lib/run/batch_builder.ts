/**
 * Cutting whole lines into batches: the lines read are gathered into one buffer until a batch is
 * full or its time is up, then handed over as a {@linkcode Batch} whose data keeps that buffer until
 * the batch is stored and given back. A buffer is taken when a batch's first lines come, so a batch
 * given back by then is gathered into again: as many buffers as batches in flight while the next
 * is gathered (one, when each batch is stored before the next is read), reused from batch to
 * batch; nothing is copied twice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BatchBuilder } from "./batch_builder.ts";
 * const builder = new BatchBuilder(1024);
 * const file = { dev: 1, ino: 2, head: "", headLength: 0 };
 * builder.begin({ generation: 0, file }, 100);
 * builder.add(new TextEncoder().encode("a\nb\n"), 2);
 * const batch = builder.take({ id: "avl1", host: "h", path: "/var/log/x.log" });
 * assert.deepEqual([batch.start, batch.end, builder.empty], [100, 104, true]);
 * builder.recycle(batch); // stored: its buffer is reused
 * ```
 * @module
 */
import type { Batch } from "../sink/batch.ts";
import type { FileIdentity } from "../source/identity.ts";

const NO_BUFFER = new Uint8Array(0);

/** Lines gathered for the next batch, in a buffer that is reused from batch to batch. */
export class BatchBuilder {
  readonly #capacity: number;
  /** The buffer lines are gathered in; empty (none) from `take` until lines come. */
  #buffer: Uint8Array = NO_BUFFER;
  #spare: Uint8Array[] = [];
  #length = 0;
  /** Lines gathered. */
  lines = 0;
  /** The file offset of the first line gathered. */
  start = 0;
  /** The generation of the file they are from. */
  generation = 0;
  /** The file they are from; `null` while nothing is gathered. */
  file: FileIdentity | null = null;
  /** When the first of them was read (ms). */
  firstAt = 0;

  /** A builder whose buffers hold `capacity` bytes (they grow for a longer batch). */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** How many bytes are gathered. */
  get bytes(): number {
    return this.#length;
  }

  /** Whether nothing is gathered. */
  get empty(): boolean {
    return this.#length === 0;
  }

  /** Starts a batch at `offset` of the file `read` names (its generation and identity). */
  begin(read: { generation: number; file: FileIdentity }, offset: number): void {
    this.start = offset;
    this.generation = read.generation;
    this.file = read.file;
    this.firstAt = Date.now();
  }

  /** Adds whole lines (`lines` of them), copied into the buffer. */
  add(bytes: Uint8Array, lines: number): void {
    if (this.#buffer === NO_BUFFER) {
      this.#buffer = this.#spare.pop() ?? new Uint8Array(this.#capacity);
    }
    if (this.#length + bytes.length > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.#length + bytes.length));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
    this.lines += lines;
  }

  /**
   * Hands the gathered lines over as a batch, whose data keeps its buffer until the batch is given
   * back with `recycle`; the next lines go into a buffer given back by then, or a new one, so
   * batches can be in flight while the next one is gathered.
   */
  take(source: Omit<Batch["source"], "file">): Batch {
    const batch: Batch = {
      source: { ...source, file: this.file! },
      generation: this.generation,
      start: this.start,
      end: this.start + this.#length,
      data: this.#buffer.subarray(0, this.#length),
      oversized: null,
      readAt: new Date(this.firstAt),
    };
    this.#buffer = NO_BUFFER;
    this.#length = 0;
    this.lines = 0;
    return batch;
  }

  /** Forgets what is gathered (the reader went back or ahead: it is read again). */
  clear(): void {
    this.#length = 0;
    this.lines = 0;
  }

  /** Takes back the buffer of a batch that is stored. */
  recycle(batch: Batch): void {
    const buffer = new Uint8Array(batch.data.buffer);
    if (buffer.length === this.#capacity) this.#spare.push(buffer);
  }
}

/**
 * How much of the whole lines `bytes[from, …)` fits in a batch with room for `roomLines` lines and
 * `roomBytes` bytes: up to `to`, `lines` of them. At least one line is taken, however long, so
 * that a line longer than a batch still goes (alone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitLines } from "./batch_builder.ts";
 * const bytes = new TextEncoder().encode("aa\nbb\ncc\n");
 * assert.deepEqual(fitLines(bytes, 0, 2, 100), { to: 6, lines: 2 });
 * assert.deepEqual(fitLines(bytes, 0, 10, 7), { to: 6, lines: 2 });
 * assert.deepEqual(fitLines(bytes, 3, 10, 1), { to: 6, lines: 1 });
 * ```
 */
export function fitLines(
  bytes: Uint8Array,
  from: number,
  roomLines: number,
  roomBytes: number,
): { to: number; lines: number } {
  let to = from, lines = 0;
  while (to < bytes.length && lines < roomLines) {
    const newline = bytes.indexOf(10, to);
    const next = newline < 0 ? bytes.length : newline + 1;
    if (next - from > roomBytes && lines > 0) break;
    to = next;
    lines++;
    if (to - from >= roomBytes) break;
  }
  return { to, lines };
}

/**
 * Where the whole lines `bytes[from, …)` stop fitting in a batch with room for `roomBytes` bytes:
 * {@linkcode fitLines} without counting them, for batches that are cut by size only. It looks for
 * one newline, not every one. At least one line is taken, however long.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitBytes } from "./batch_builder.ts";
 * const bytes = new TextEncoder().encode("aa\nbb\ncc\n");
 * assert.equal(fitBytes(bytes, 0, 100), 9);
 * assert.equal(fitBytes(bytes, 0, 7), 6);
 * assert.equal(fitBytes(bytes, 3, 1), 6); // one line longer than the room: taken alone
 * ```
 */
export function fitBytes(bytes: Uint8Array, from: number, roomBytes: number): number {
  if (bytes.length - from <= roomBytes) return bytes.length;
  const lastNewline = bytes.lastIndexOf(10, from + roomBytes - 1);
  if (lastNewline >= from) return lastNewline + 1;
  const firstNewline = bytes.indexOf(10, from);
  return firstNewline < 0 ? bytes.length : firstNewline + 1;
}
