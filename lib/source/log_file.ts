/**
 * An open log file read by the offsets of its text, whether it is plain or gzip-compressed (a
 * rotated file that logrotate's `compress` got to before capture did). Compression is told by the
 * magic bytes, never by the name: a `.gz` still being written is empty and not yet gzip, and a
 * plain file may be named anything. A file compressed with a tool capture cannot read (bzip2, xz,
 * zstd) is named as such, so that what it holds is reported lost, never read as text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gzipSync } from "node:zlib";
 * import { LogFile } from "./log_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/app.log.1.gz`, gzipSync(new TextEncoder().encode("one\ntwo\n")));
 * const file = await LogFile.open(`${dir}/app.log.1.gz`);
 * assert.equal(file.compression, "gzip");
 * assert.equal(await file.size(), 8); // the text's size, not the compressed one
 * assert.equal(new TextDecoder().decode(await file.readAt(4, 4)), "two\n");
 * file.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { SeekableReader } from "./lines.ts";

/** What a file's first bytes say it is compressed with; `null`: plain text (or empty). */
export type Compression = "gzip" | "bzip2" | "xz" | "zstd" | null;

const MAGIC: [Exclude<Compression, null>, number[]][] = [
  ["gzip", [0x1f, 0x8b]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
];

/**
 * The compression `head` (a file's first bytes) starts with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compressionOf } from "./log_file.ts";
 * assert.equal(compressionOf(new Uint8Array([0x1f, 0x8b, 8, 0])), "gzip");
 * assert.equal(compressionOf(new TextEncoder().encode("07:04:42 02/15")), null);
 * ```
 */
export function compressionOf(head: Uint8Array): Compression {
  for (const [name, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  }
  return null;
}

/** A file name's compression suffix, as logrotate's `compressext` gives them. */
export const COMPRESSED_SUFFIX = /\.(gz|bz2|xz|zst|lz4|lzma|Z|z)$/;

/**
 * Reads of a log are synchronous. An asynchronous read hands each call to a runtime thread and
 * back: about 0.07 CPU-s per million lines caught up, while a 1 MiB read from the page cache takes
 * a tenth of a millisecond. Only regular files are read (`log_path.ts` checks), never a pipe. And
 * a seek and its read cannot be parted: a decompression stream, which pulls ahead on its own, seeks
 * the same open file before each of its reads.
 */
function readFully(file: Deno.FsFile, at: number, into: Uint8Array): number {
  file.seekSync(at, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < into.length) {
    const n = file.readSync(into.subarray(filled));
    if (!n) break;
    filled += n;
  }
  return filled;
}

/** One open log file: its device and inode, and its text by offset. See the module example. */
export class LogFile {
  /** The name it was opened by. */
  readonly name: string;
  /** The open file. */
  readonly file: Deno.FsFile;
  /** How its bytes are compressed (`null`: plain text). */
  readonly compression: Compression;
  /** The device it is on. */
  readonly dev: number;
  /** Its inode. */
  readonly ino: number;
  #reader: SeekableReader | null = null;

  private constructor(name: string, file: Deno.FsFile, info: Deno.FileInfo, c: Compression) {
    this.name = name;
    this.file = file;
    this.compression = c;
    this.dev = info.dev ?? 0;
    this.ino = info.ino ?? 0;
  }

  /** Opens `name` (or wraps `file`, already open on it) and reads its magic bytes. */
  static async open(name: string, file?: Deno.FsFile): Promise<LogFile> {
    const opened = file ?? await Deno.open(name, { read: true });
    try {
      const info = await opened.stat();
      const head = new Uint8Array(6);
      const n = info.size > 0 ? readFully(opened, 0, head) : 0;
      opened.seekSync(0, Deno.SeekMode.Start);
      return new LogFile(name, opened, info, compressionOf(head.subarray(0, n)));
    } catch (error) {
      if (!file) opened.close();
      throw error;
    }
  }

  /** Whether its text can be read: plain, or gzip. */
  get readable(): boolean {
    return this.compression === null || this.compression === "gzip";
  }

  /** The file's own metadata (for a compressed file, the compressed file's). */
  stat(): Promise<Deno.FileInfo> {
    return this.file.stat();
  }

  /**
   * The size of its text: the file's size, or for gzip the size its trailer records (modulo 4 GiB,
   * as gzip keeps it; a hint for messages and lag, never a read limit).
   */
  size(): Promise<number> {
    const info = this.file.statSync();
    if (this.compression !== "gzip") return Promise.resolve(info.size);
    if (info.size < 18) return Promise.resolve(0);
    const trailer = new Uint8Array(4);
    // The decompression keeps its own position in the file and seeks before each read.
    readFully(this.file, info.size - 4, trailer);
    return Promise.resolve(new DataView(trailer.buffer).getUint32(0, true));
  }

  /**
   * `length` bytes of its text from `offset` (fewer at its end). The file's read position, which the
   * line scanner relies on, is left where it was.
   */
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    if (this.compression === "gzip") {
      const reader = new GzipReader(this.file);
      try {
        await reader.seek(offset, Deno.SeekMode.Start);
        const out = new Uint8Array(length);
        let filled = 0;
        while (filled < length) {
          const n = await reader.read(out.subarray(filled));
          if (!n) break;
          filled += n;
        }
        return out.subarray(0, filled);
      } finally {
        await reader.cancel();
      }
    }
    const position = this.file.seekSync(0, Deno.SeekMode.Current);
    const out = new Uint8Array(length);
    const n = readFully(this.file, offset, out);
    this.file.seekSync(position, Deno.SeekMode.Start);
    return out.subarray(0, n);
  }

  /**
   * Whether its data is whole: a gzip file being written (logrotate compresses into the new name,
   * then removes the plain file) ends early. A plain file is whole by definition; a gzip file
   * modified more than a minute ago is taken as whole, a younger one is decompressed to its end to
   * tell (with a decompression of its own, on this open file).
   */
  async isWhole(): Promise<boolean> {
    if (this.compression !== "gzip") return this.compression === null;
    const mtime = (await this.file.stat()).mtime?.getTime() ?? 0;
    if (Date.now() - mtime > 60_000) return true;
    const reader = new GzipReader(this.file);
    try {
      const buffer = new Uint8Array(256 * 1024);
      while (await reader.read(buffer)) {
        // Read to the end: an incomplete stream throws.
      }
      return true;
    } catch {
      return false;
    } finally {
      await reader.cancel();
    }
  }

  /** What the line scanner reads: the file itself, or its decompressed text. */
  reader(): SeekableReader {
    this.#reader ??= this.compression === "gzip" ? new GzipReader(this.file) : this.file;
    return this.#reader;
  }

  /** Closes the file (and any decompression under way). */
  close(): void {
    if (this.#reader instanceof GzipReader) void this.#reader.cancel();
    try {
      this.file.close();
    } catch {
      // Closed already.
    }
  }
}

/**
 * The decompressed text of a gzip file, read sequentially; a seek backwards starts the
 * decompression over. It seeks the file before every read of its own, so another reader of the
 * same open file (the identity check) does not disturb it.
 */
class GzipReader implements SeekableReader {
  readonly #file: Deno.FsFile;
  #raw = 0;
  #position = 0;
  #stream: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #pending: Uint8Array = new Uint8Array(0);

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  #start(): void {
    void this.cancel();
    this.#raw = 0;
    this.#position = 0;
    this.#pending = new Uint8Array(0);
    const file = this.#file;
    const source = new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: (controller) => {
        const chunk = new Uint8Array(64 * 1024);
        const n = readFully(file, this.#raw, chunk);
        if (!n) controller.close();
        else {
          this.#raw += n;
          controller.enqueue(chunk.subarray(0, n) as Uint8Array<ArrayBuffer>);
        }
      },
    });
    this.#stream = source.pipeThrough(new DecompressionStream("gzip")).getReader();
  }

  async seek(offset: number | bigint, whence: Deno.SeekMode): Promise<number> {
    if (whence !== Deno.SeekMode.Start) throw new Error("a gzip file is only read from a start");
    const target = Number(offset);
    if (!this.#stream || target < this.#position) this.#start();
    const skip = new Uint8Array(64 * 1024);
    while (this.#position < target) {
      const n = await this.read(skip.subarray(0, Math.min(skip.length, target - this.#position)));
      if (!n) break;
    }
    return this.#position;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    if (!this.#stream) this.#start();
    while (this.#pending.length === 0) {
      const { value, done } = await this.#stream!.read();
      if (done) return null;
      this.#pending = value;
    }
    const n = Math.min(buffer.length, this.#pending.length);
    buffer.set(this.#pending.subarray(0, n));
    this.#pending = this.#pending.subarray(n);
    this.#position += n;
    return n;
  }

  async cancel(): Promise<void> {
    const stream = this.#stream;
    this.#stream = null;
    await stream?.cancel().catch(() => {});
  }
}
