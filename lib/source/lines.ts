/**
 * Whole lines out of a growing file, in the manner of Go's `bufio.Scanner`: one reusable buffer, a
 * clear rule for the partial last line (it waits for its newline) and for a line that is too long
 * (it is reported with its offset, length and first bytes, and reading goes on after its newline).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineScanner } from "./lines.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "one\ntwo\nthr");
 * using file = await Deno.open(path);
 * const scanner = new LineScanner(file, 0, { maxLineBytes: 1 << 20 });
 * const item = await scanner.next();
 * assert.ok(item?.kind === "lines");
 * assert.equal(new TextDecoder().decode(item.bytes), "one\ntwo\n");
 * assert.equal(await scanner.next(), null); // "thr" waits for its newline
 * assert.equal(scanner.position, 8);
 * await Deno.remove(path);
 * ```
 * @module
 */

/** What the scanner reads from: an open file, read sequentially from where it was put. */
export interface SeekableReader {
  /** Reads from the current position into `buffer`: bytes read, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Moves the position; resolves with the new one. */
  seek(offset: number | bigint, whence: Deno.SeekMode): Promise<number>;
}

/** Whole lines, `\n`-ended, as a view of the scanner's buffer: valid until the next call. */
export interface LinesChunk {
  /** Whole lines. */
  kind: "lines";
  /** File offset of `bytes[0]`. */
  offset: number;
  /** The lines, each `\n`-ended (a view, valid until the next read). */
  bytes: Uint8Array;
}

/** A line longer than the limit: its offset, its length with the newline, and its first bytes. */
export interface OversizedLine {
  /** One line longer than the limit. */
  kind: "oversized";
  /** The file offset of the line. */
  offset: number;
  /** Its length in bytes, with its line end. */
  length: number;
  /** Its first bytes, kept for the rejection. */
  head: Uint8Array;
}

/** One result of {@linkcode LineScanner.next}. */
export type ScanItem = LinesChunk | OversizedLine;

/** Scanner settings. */
export interface ScannerOptions {
  /** A line longer than this (without its newline) is reported as oversized. */
  maxLineBytes: number;
  /** The size of the one read buffer; raised to hold the longest line allowed. */
  bufferBytes?: number;
  /**
   * A buffer to read into, reused from an earlier scanner that is done with it (it must hold the
   * longest line allowed); a new one is made when absent or too small.
   */
  buffer?: Uint8Array;
}

/** How many first bytes of an oversized line are kept. */
export const OVERSIZED_HEAD_BYTES = 256;

const NEWLINE = 10;

/** Reads whole lines from `reader` starting at a byte offset. See the module example. */
export class LineScanner {
  readonly #reader: SeekableReader;
  readonly #maxLineBytes: number;
  #buffer: Uint8Array;
  #start = 0; // first byte not yet returned
  #end = 0; // end of the bytes read
  #position: number; // file offset of buffer[#start]
  #sought = false;
  #skip: { offset: number; head: Uint8Array } | null = null;

  /** A scanner of `reader` from byte `offset`, which must be the start of a line. */
  constructor(reader: SeekableReader, offset: number, options: ScannerOptions) {
    this.#reader = reader;
    this.#maxLineBytes = options.maxLineBytes;
    const size = Math.max(options.bufferBytes ?? 1 << 20, options.maxLineBytes + 1);
    this.#buffer = options.buffer && options.buffer.length >= size
      ? options.buffer
      : new Uint8Array(size);
    this.#position = offset;
  }

  /** The buffer it reads into, to give to a later scanner once this one's chunks are done with. */
  get buffer(): Uint8Array {
    return this.#buffer;
  }

  /** The offset of the first byte not yet returned: where the next line starts. */
  get position(): number {
    return this.#skip ? this.#skip.offset : this.#position;
  }

  /** Goes to `offset`, forgetting all it buffered; it must be the start of a line. */
  seekTo(offset: number): void {
    this.#start = this.#end = 0;
    this.#position = offset;
    this.#sought = false;
    this.#skip = null;
  }

  /**
   * The next whole lines, or an oversized line, or `null` when the file holds no further complete
   * line now (a partial last line stays buffered until its newline arrives).
   */
  async next(): Promise<ScanItem | null> {
    for (;;) {
      const item = this.#take();
      if (item) return item;
      if (!await this.#fill()) return null;
    }
  }

  /**
   * The bytes after the last whole line, as a final line, for a file that will not grow again
   * (rotated away or deleted): `null` when there are none.
   */
  async takeRest(): Promise<ScanItem | null> {
    const item = await this.next();
    if (item) return item;
    if (this.#skip) {
      const { offset, head } = this.#skip;
      this.#skip = null;
      return { kind: "oversized", offset, length: this.#position - offset, head };
    }
    if (this.#end === this.#start) return null;
    const bytes = this.#buffer.slice(this.#start, this.#end);
    const chunk: LinesChunk = { kind: "lines", offset: this.#position, bytes };
    this.#position += bytes.length;
    this.#start = this.#end;
    return chunk;
  }

  #take(): ScanItem | null {
    const buffer = this.#buffer;
    if (this.#skip) {
      const newline = buffer.subarray(this.#start, this.#end).indexOf(NEWLINE);
      const through = newline < 0 ? this.#end : this.#start + newline + 1;
      this.#position += through - this.#start;
      this.#start = through;
      if (newline < 0) return null;
      const { offset, head } = this.#skip;
      this.#skip = null;
      return { kind: "oversized", offset, length: this.#position - offset, head };
    }
    const view = buffer.subarray(this.#start, this.#end);
    let last = view.lastIndexOf(NEWLINE);
    if (last >= 0 && view.length > this.#maxLineBytes + 1) {
      last = this.#lastFittingLine(view, last);
      if (this.#skip) return this.#take();
    }
    if (last < 0) {
      if (view.length > this.#maxLineBytes) {
        const head = view.slice(0, OVERSIZED_HEAD_BYTES);
        this.#skip = { offset: this.#position, head };
        this.#position += view.length;
        this.#start = this.#end;
      }
      return null;
    }
    const bytes = view.subarray(0, last + 1);
    const chunk: LinesChunk = { kind: "lines", offset: this.#position, bytes };
    this.#position += bytes.length;
    this.#start += bytes.length;
    return chunk;
  }

  /** Where the whole lines before the first too-long line end (index of its `\n`), or -1. */
  #lastFittingLine(view: Uint8Array, last: number): number {
    let from = 0;
    while (from <= last) {
      // The line at `from` fits when a newline is within the limit from it; the last one there
      // ends the line that fit too, so one look back passes over all the short lines at once
      // (a look for each line cost 70 ns a line).
      const newline = view.lastIndexOf(NEWLINE, Math.min(from + this.#maxLineBytes, last));
      if (newline < from) {
        if (from > 0) return from - 1;
        // The first line is too long and complete: report it as oversized at once.
        this.#skip = { offset: this.#position, head: view.slice(0, OVERSIZED_HEAD_BYTES) };
        return -1;
      }
      from = newline + 1;
    }
    return last;
  }

  /** Reads more bytes; false at the end of the file. */
  async #fill(): Promise<boolean> {
    if (!this.#sought) {
      await this.#reader.seek(this.#position + (this.#end - this.#start), Deno.SeekMode.Start);
      this.#sought = true;
    }
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const reader = this.#reader;
    // A plain file is read synchronously, as `log_file.ts` says why; a decompression is a stream.
    const n = reader instanceof Deno.FsFile
      ? reader.readSync(this.#buffer.subarray(this.#end))
      : await reader.read(this.#buffer.subarray(this.#end));
    if (n === null || n === 0) return false;
    this.#end += n;
    return true;
  }
}

/**
 * Cuts whole lines into runs of at most `maxLines` lines: the `[from, to)` index pairs, in order.
 * With no limit (`Infinity`) the bytes are one run, and their lines are not counted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineRuns } from "./lines.ts";
 * assert.deepEqual([...lineRuns(new TextEncoder().encode("a\nb\nc\n"), 2)], [[0, 4], [4, 6]]);
 * ```
 */
export function* lineRuns(bytes: Uint8Array, maxLines: number): Generator<[number, number]> {
  if (maxLines === Infinity) {
    if (bytes.length > 0) yield [0, bytes.length];
    return;
  }
  let from = 0, lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) {
    if (++lines === maxLines) {
      yield [from, at + 1];
      from = at + 1;
      lines = 0;
    }
  }
  if (from < bytes.length) yield [from, bytes.length];
}
