/**
 * The file the tailer is reading, and the read position in it: its identity as first seen, the
 * scanner that cuts its lines, and the bytes it is checked by (its first bytes, and those just
 * before the position), so that a file that no longer holds what was read is told before every
 * read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogFile } from "./log_file.ts";
 * import { ReadingFile } from "./reading_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.log`, "one\ntwo\n");
 * const open = await ReadingFile.open(await LogFile.open(`${dir}/a.log`), 0, false, undefined, { maxLineBytes: 1024 });
 * const item = await open.next(() => {});
 * assert.ok(item?.kind === "lines");
 * open.noteTail(item.bytes);
 * assert.equal(await open.holdsWhatWasRead(), true);
 * await Deno.writeTextFile(`${dir}/a.log`, "new\n"); // rewritten in place
 * assert.equal(await open.holdsWhatWasRead(), false);
 * open.log.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import {
  BEFORE_BYTES,
  beforeHash,
  beforeHashOf,
  type FileIdentity,
  HEAD_BYTES,
  readIdentity,
} from "./identity.ts";
import { LineScanner, type ScanItem } from "./lines.ts";
import type { LogFile } from "./log_file.ts";
import type { UnreadableRotated } from "./rotated.ts";

/** How lines are cut. */
export interface ScanLimits {
  /** The longest line returned whole. */
  maxLineBytes: number;
  /** The scanner's buffer. */
  bufferBytes?: number;
}

/** A file being read; see the module example. */
export class ReadingFile {
  /** The file. */
  readonly log: LogFile;
  /** The file's identity as first seen: a copy of it, or the same file at another inode, keeps it. */
  identity: FileIdentity;
  /** Cuts its lines; its position is the offset of the first line not yet returned. */
  readonly scanner: LineScanner;
  /** No longer at the path (renamed, removed, or a rotated file): when finished, the next follows. */
  rotatedAway: boolean;
  /** The first `identity.headLength` bytes, to check the file still holds the same text. */
  head: Uint8Array;
  /** The bytes just before the scanner's position (up to {@linkcode BEFORE_BYTES}). */
  tail: Uint8Array;
  /** Its size when last looked at. */
  size: number;
  /** When it last grew (ms). */
  grewAt: number;
  /** A compressed file whose data broke off: nothing more is read from it. */
  broken = false;

  private constructor(
    log: LogFile,
    identity: FileIdentity,
    scanner: LineScanner,
    rotatedAway: boolean,
    checked: { head: Uint8Array; tail: Uint8Array; size: number; grewAt: number },
  ) {
    this.log = log;
    this.identity = identity;
    this.scanner = scanner;
    this.rotatedAway = rotatedAway;
    this.head = checked.head;
    this.tail = checked.tail;
    this.size = checked.size;
    this.grewAt = checked.grewAt;
  }

  /** Reads `log` from `offset`; `known` is its identity when it is a file seen before. */
  static async open(
    log: LogFile,
    offset: number,
    rotatedAway: boolean,
    known: FileIdentity | undefined,
    limits: ScanLimits,
  ): Promise<ReadingFile> {
    const identity = known ?? await readIdentity(log);
    const compressed = log.compression !== null;
    const mtime = (await log.stat()).mtime?.getTime() ?? Date.now();
    const scanner = new LineScanner(log.reader(), offset, limits);
    return new ReadingFile(log, identity, scanner, rotatedAway, {
      // A compressed file never changes: its text is not checked again.
      head: compressed ? new Uint8Array(0) : await log.readAt(0, identity.headLength),
      tail: compressed ? new Uint8Array(0) : await bytesBefore(log, offset),
      size: await log.size(),
      grewAt: rotatedAway ? mtime : Date.now(),
    });
  }

  /** The offset of the first line not yet returned. */
  get position(): number {
    return this.scanner.position;
  }

  /**
   * The scanner's next item. A compressed file whose data is corrupt or ends early yields what it
   * could, then is said to be unreadable from there (`broke`) and counts as finished.
   */
  async next(broke: (file: UnreadableRotated, reason: string) => void): Promise<ScanItem | null> {
    if (this.broken) return null;
    try {
      return await this.scanner.next();
    } catch (error) {
      if (this.log.compression === null) throw error;
      this.broken = true;
      this.grewAt = 0;
      this.rotatedAway = true;
      const bytes = Math.max(0, await this.log.size() - this.position);
      broke(
        { name: this.log.name, compression: null, bytes },
        `its ${this.log.compression} data is corrupt or cut short after offset ${this.position}: ${
          (error as Error).message
        }`,
      );
      return null;
    }
  }

  /**
   * Where the file stands against `path`: still the file there ("here"; a young file's identity is
   * then taken again over its new first bytes), or moved away (renamed, or unlinked), and whether
   * another file is at the path now.
   */
  async placeAt(
    path: string,
  ): Promise<"here" | "renamed" | "unlinked" | "renamed, path taken" | "unlinked, path taken"> {
    // The path first: a file removed between the two looks is then seen unlinked (its link count
    // taken after), never taken for one renamed away (counted before, the path looked at after).
    const atPath = await Deno.stat(path).catch(() => null);
    const info = await this.log.stat();
    if (atPath && atPath.ino === info.ino && atPath.dev === info.dev) {
      if (this.identity.headLength < HEAD_BYTES && info.size > this.identity.headLength) {
        await this.retake(this.identity);
      }
      return "here";
    }
    const moved = info.nlink === 0 ? "unlinked" : "renamed";
    return atPath ? `${moved}, path taken` : moved;
  }

  /** The hash of the bytes before `offset` (none for a compressed file: it is not checked). */
  async beforeHashAt(offset: number): Promise<string | undefined> {
    return this.log.compression === null ? await beforeHash(this.log, offset) : undefined;
  }

  /** Goes on from `offset`, dropping what was buffered. */
  async seekTo(offset: number): Promise<void> {
    this.scanner.seekTo(offset);
    this.tail = await bytesBefore(this.log, offset);
  }

  /**
   * Takes the identity again, over more of its first bytes (a young file, or its first line now
   * whole), keeping the device and inode it was first seen with (`as`), so that its file id and
   * what its documents name stay the same; and the bytes its text is checked by.
   */
  async retake(as?: FileIdentity): Promise<void> {
    this.identity = await readIdentity(this.log, as && { dev: as.dev, ino: as.ino });
    this.head = await this.log.readAt(0, this.identity.headLength);
  }

  /** Reads the file again from its start: it was truncated or rewritten in place. */
  async restart(): Promise<void> {
    await this.retake();
    this.tail = new Uint8Array(0);
    this.size = (await this.log.stat()).size;
    this.scanner.seekTo(0);
  }

  /** The hash of the bytes just before the position, when they are at hand. */
  tailHash(): string | undefined {
    return this.tail.length > 0 ? beforeHashOf(this.tail) : undefined;
  }

  /** Keeps the last bytes of what was just returned, to check the text before the position by. */
  noteTail(bytes: Uint8Array): void {
    if (bytes.length >= BEFORE_BYTES) this.tail = bytes.slice(bytes.length - BEFORE_BYTES);
    else {
      const joined = new Uint8Array(Math.min(BEFORE_BYTES, this.tail.length + bytes.length));
      const keep = joined.length - bytes.length;
      joined.set(this.tail.subarray(this.tail.length - keep));
      joined.set(bytes, keep);
      this.tail = joined;
    }
  }

  /** Whether the file still begins with its first bytes and holds what was read before the position. */
  async holdsWhatWasRead(): Promise<boolean> {
    if (this.log.compression !== null) return true;
    const size = (await this.log.stat()).size;
    const position = this.position;
    if (size < position) return false;
    const head = await this.log.readAt(0, this.head.length);
    if (!equalBytes(head, this.head)) return false;
    if (position > this.head.length && this.tail.length > 0) {
      const tail = await this.log.readAt(position - this.tail.length, this.tail.length);
      if (!equalBytes(tail, this.tail)) return false;
    }
    // Only the same text's growth counts: what a truncated file held is what could be lost.
    if (size > this.size) {
      this.size = size;
      this.grewAt = Date.now();
    }
    return true;
  }
}

/** The bytes just before `offset` (up to {@linkcode BEFORE_BYTES}). */
function bytesBefore(log: LogFile, offset: number): Promise<Uint8Array> {
  return log.readAt(Math.max(0, offset - BEFORE_BYTES), Math.min(offset, BEFORE_BYTES));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
