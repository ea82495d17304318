/**
 * Following one log file by path, forever: whole lines by seeking from a known offset, across
 * rotation by rename, copytruncate, deletion and re-creation, and a log that does not exist yet.
 * Each file that lives at the path is a new generation (SPEC §3).
 *
 * The tailer only reads; it never decides what counts as captured. Its caller stores what it reads
 * and moves the cache file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { Tailer } from "./tail.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "before\n");
 * const tailer = new Tailer({ path: `${dir}/spysocket.log`, maxLineBytes: 1 << 20, log: createLogger() });
 * await tailer.start({ generation: 0, offset: 0 });
 * const first = await tailer.read();
 * assert.ok(first?.item.kind === "lines");
 * assert.equal(new TextDecoder().decode(first.item.bytes), "before\n");
 * await Deno.rename(`${dir}/spysocket.log`, `${dir}/spysocket.log.1`); // rotated
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "after\n");
 * let next = await tailer.read();
 * while (!next) next = await tailer.read();
 * assert.equal(next.generation, 1); // a new file, a new generation
 * tailer.close();
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";
import {
  type FileIdentity,
  HEAD_BYTES,
  headMatches,
  matchesIdentity,
  readIdentity,
} from "./identity.ts";
import { LineScanner, type ScanItem } from "./lines.ts";
import type { Logger } from "../base/log.ts";
import { FolderWatch } from "./watch.ts";
import { backoffDelay, sleep } from "../base/backoff.ts";

/** Tailer settings. */
export interface TailerOptions {
  path: string;
  maxLineBytes: number;
  bufferBytes?: number;
  /** How often the file is checked without a filesystem event; default 1000 ms. */
  pollMs?: number;
  /** Where rotated files go (globs in the file name part), to find one left behind while stopped. */
  rotated?: string[];
  log: Logger;
  /**
   * Told why the log, or a rotated file that may hold unread lines, cannot be read (permission
   * denied), and told `null` when it can again: the tailer waits for it, never moves past it.
   */
  blocked?: (reason: string | null) => void;
  /** Ends a wait for a file that cannot be read. */
  signal?: AbortSignal;
}

/** Lines read, with the generation and file they belong to. */
export interface TailRead {
  generation: number;
  file: FileIdentity;
  item: ScanItem;
}

/** Where to start: a generation, an offset, and the file it was in, when known. */
export interface TailStart {
  generation: number;
  offset: number;
  /** The file the offset belongs to; when it is not at the path, rotated files are searched. */
  file?: FileIdentity;
  /** Start a file never seen before at its last whole line instead of its beginning. */
  fromEnd?: boolean;
  /**
   * Asked before the file at the path is started from 0 as a new generation (the file of `file`
   * gone or rewritten while stopped): where an earlier run left that file, when the caller can
   * tell (CouchDB can). A cache file that named the wrong file then costs nothing.
   */
  locate?: (file: FileIdentity) => Promise<{ generation: number; offset: number } | null>;
  /** Who `locate` asks, for messages; "CouchDB" by default. */
  holder?: string;
}

interface Current {
  file: Deno.FsFile;
  identity: FileIdentity;
  generation: number;
  scanner: LineScanner;
  /** The file was found among the rotated ones: when drained, the file at the path follows. */
  rotatedAway: boolean;
}

/** The default rotated-file globs for a log path: `LOG.*` and `LOG-*`. */
export function defaultRotatedGlobs(path: string): string[] {
  return [`${path}.*`, `${path}-*`];
}

/** The files matching a glob whose wildcards (`*`, `?`) are in the file-name part only. */
export async function globFiles(pattern: string): Promise<string[]> {
  const folder = dirname(pattern);
  const escaped = basename(pattern).replace(/[.+^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (entry.isFile && re.test(entry.name)) out.push(join(folder, entry.name));
    }
  } catch {
    // A missing folder has no rotated files.
  }
  return out.sort();
}

/** Follows one log path. See the module example. */
export class Tailer {
  readonly path: string;
  readonly #options: TailerOptions;
  readonly #log: Logger;
  #current: Current | null = null;
  /**
   * Files rotated after the one being drained (more than one rotation since capture last looked,
   * while stopped or between two polls): read next, in order.
   */
  #successors: { file: Deno.FsFile; name: string }[] = [];
  /** The generation the next file at the path gets. */
  #nextGeneration = 0;
  #waitingLogged = false;
  #lastHeadCheck = 0;
  #watch: FolderWatch | null = null;
  /** The file that cannot be read now, if any. */
  #blocked: string | null = null;

  constructor(options: TailerOptions) {
    this.path = options.path;
    this.#options = options;
    this.#log = options.log;
  }

  /** The generation and file being read, and the offset of the first line not yet returned. */
  get position(): { generation: number; offset: number; file: FileIdentity } | null {
    const c = this.#current;
    return c ? { generation: c.generation, offset: c.scanner.position, file: c.identity } : null;
  }

  /** Bytes in the file beyond what has been returned, as of the last check. */
  async bytesBehind(): Promise<number> {
    const c = this.#current;
    return c ? Math.max(0, await this.fileSize() - c.scanner.position) : 0;
  }

  /** The size of the file being read now (0 when none is open). */
  async fileSize(): Promise<number> {
    return this.#current ? (await this.#current.file.stat()).size : 0;
  }

  /**
   * Opens the log at `start`. When `start.file` is not the file at the path, the rotated files are
   * searched for it and it is read first; when it is gone, a warning says how much was lost.
   */
  async start(start: TailStart, seenSize = start.offset): Promise<void> {
    const name = basename(this.path);
    this.#watch ??= new FolderWatch(dirname(this.path), (p) => basename(p).startsWith(name));
    this.#nextGeneration = start.generation;
    let opened = await this.#openPath();
    // There but not readable: what it is (the same file, a new one) cannot be told yet.
    if (!opened && this.#blocked === this.path) {
      const file = await this.#openWaiting(this.path);
      opened = file ? { file, name: this.path } : null;
    }
    if (!start.file) {
      if (opened) {
        await this.#adopt(
          opened,
          start.generation,
          start.fromEnd ? await lastLineEnd(opened.file) : start.offset,
          false,
        );
      } else this.#nextGeneration = start.generation;
      return;
    }
    if (opened && await matchesIdentity(opened.file, start.file)) {
      const size = (await opened.file.stat()).size;
      if (size >= start.offset) {
        await this.#adopt(opened, start.generation, start.offset, false);
        return;
      }
      if (await this.#adoptLocated(opened, start)) return;
      this.#log.warn(
        `${this.path} is shorter (${size} bytes) than the captured offset ${start.offset}: it was truncated while capture was stopped; starting generation ${
          start.generation + 1
        } at 0`,
      );
      this.#nextGeneration = start.generation + 1;
      await this.#adopt(opened, this.#nextGeneration, 0, false);
      return;
    }
    const rotated = await this.#findRotated(start.file);
    this.#nextGeneration = start.generation + 1;
    if (rotated) {
      this.#log.info(
        `${this.path} was rotated while capture was stopped; reading the rest of ${rotated.name} first`,
        {
          generation: start.generation,
          offset: start.offset,
        },
      );
      this.#successors = await this.#rotatedAfter(rotated.file, opened?.file ?? null);
      for (const next of this.#successors) {
        this.#log.info(`${next.name} was rotated after it: it is read next, before ${this.path}`);
      }
      opened?.file.close();
      await this.#adopt(rotated, start.generation, start.offset, true);
      return;
    }
    if (opened && await this.#adoptLocated(opened, start)) return;
    this.#log.warn(
      `the file of generation ${start.generation} of ${this.path} is gone (rotated and removed while capture was stopped): at least ${
        Math.max(0, seenSize - start.offset)
      } bytes after offset ${start.offset} could not be captured; continuing with generation ${this.#nextGeneration}`,
    );
    if (opened) await this.#adopt(opened, this.#nextGeneration, 0, false);
  }

  /** Adopts the file at the path where `start.locate` says an earlier run left it; false if not. */
  async #adoptLocated(opened: { file: Deno.FsFile }, start: TailStart): Promise<boolean> {
    if (!start.locate) return false;
    const found = await start.locate(await readIdentity(opened.file));
    if (!found || found.offset > (await opened.file.stat()).size) return false;
    this.#log.warn(
      `${this.path} is not the file the cache file names, but ${
        start.holder ?? "CouchDB"
      } holds it (generation ${found.generation}): continuing at offset ${found.offset}, skipping what is stored already`,
    );
    await this.#adopt(opened, found.generation, found.offset, false);
    return true;
  }

  /** Gives the current file another generation number (it was taken in CouchDB by another file). */
  renumber(generation: number): void {
    if (!this.#current) return;
    this.#current.generation = generation;
    this.#nextGeneration = Math.max(this.#nextGeneration, generation + 1);
  }

  /** Skips ahead to `offset` of the current file (an earlier run stored up to there). */
  skipTo(offset: number): void {
    const c = this.#current;
    if (c && offset > c.scanner.position) c.scanner.seekTo(offset);
  }

  /** The next lines available now, or `null` when caught up (or the log does not exist yet). */
  async read(): Promise<TailRead | null> {
    for (;;) {
      const c = this.#current;
      if (!c) {
        const opened = await this.#openPath();
        if (!opened) return null;
        await this.#adopt(opened, this.#nextGeneration, 0, false);
        continue;
      }
      const item = await c.scanner.next();
      if (item) {
        // Lines are out, so the first line is whole: the file id (extract names) can be had now.
        if (!c.identity.id) c.identity = await readIdentity(c.file);
        return { generation: c.generation, file: c.identity, item };
      }
      const change = await this.#checkFile(c);
      if (change === "same") return null;
      if (change === "truncated") {
        // copytruncate, or rewritten in place: a new generation from its start.
        const generation = Math.max(this.#nextGeneration, c.generation + 1);
        this.#log.info(
          `${this.path} was truncated or rewritten; generation ${generation} starts at 0`,
        );
        c.identity = await readIdentity(c.file);
        c.generation = generation;
        this.#nextGeneration = generation + 1;
        c.scanner.seekTo(0);
        continue;
      }
      // Rotated away or removed: whatever is left, even an unterminated last line, then the next file.
      const rest = await c.scanner.takeRest();
      if (rest) return { generation: c.generation, file: c.identity, item: rest };
      if (change === "removed" && !this.#waitingLogged) {
        this.#log.info(`${this.path} was removed; waiting for it to be created again`);
        this.#waitingLogged = true;
      }
      const generation = Math.max(this.#nextGeneration, c.generation + 1);
      const next = await this.#openPath();
      if (!c.rotatedAway) {
        // It may have been rotated more than once since the last look (a poll, or a stop): the
        // files rotated after it are read before the one now at the path.
        this.#successors = await this.#rotatedAfter(c.file, next?.file ?? null);
        c.rotatedAway = true;
      }
      const successor = this.#successors.shift();
      if (successor) {
        next?.file.close();
        c.file.close();
        this.#log.info(`reading ${successor.name} (rotated after it): generation ${generation}`);
        await this.#adopt(successor, generation, 0, true);
        continue;
      }
      if (!next) return null;
      c.file.close();
      this.#current = null;
      this.#log.info(`${this.path} is a new file: generation ${generation}`);
      await this.#adopt(next, generation, 0, false);
    }
  }

  /** Waits for a filesystem event in the log's folder, the next poll, or `ms`, whichever is first. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    await this.#watch?.wait(Math.min(ms, this.#options.pollMs ?? 1000), signal);
  }

  /** Takes no filesystem events until the next `wait` (the caller sleeps to a deadline of its own). */
  pauseWatch(): void {
    this.#watch?.pause();
  }

  /** Stops watching and closes the file. */
  close(): void {
    this.#watch?.close();
    this.#watch = null;
    for (const { file } of this.#successors.splice(0)) file.close();
    this.#current?.file.close();
    this.#current = null;
  }

  /** Says once that `name` cannot be read, and why, or that it can again (`null`). */
  #setBlocked(name: string, error: Error | null): void {
    if (error) {
      if (this.#blocked === name) return;
      this.#blocked = name;
      const reason = `cannot read ${name}: permission denied`;
      this.#log.warn(
        `${reason}; capture waits for it and retries (give the capture user read access: the log's group, or a default ACL on its folder)`,
      );
      this.#options.blocked?.(reason);
    } else if (this.#blocked === name) {
      this.#blocked = null;
      this.#log.info(`${name} can be read again`);
      this.#options.blocked?.(null);
    }
  }

  /**
   * Opens `name`, waiting with backoff while it exists but cannot be read: a rotated file that may
   * hold unread lines is never taken for gone. `null` when it does not exist (or on a stop).
   */
  async #openWaiting(name: string): Promise<Deno.FsFile | null> {
    for (let attempt = 0;; attempt++) {
      try {
        const file = await Deno.open(name, { read: true });
        this.#setBlocked(name, null);
        return file;
      } catch (error) {
        if (!(error instanceof Deno.errors.PermissionDenied)) return null;
        this.#setBlocked(name, error);
        if (this.#options.signal?.aborted) return null;
        await sleep(
          backoffDelay(attempt, this.#options.pollMs ?? 1000, 30_000),
          this.#options.signal,
        );
      }
    }
  }

  async #openPath(): Promise<{ file: Deno.FsFile; name: string } | null> {
    try {
      const file = await Deno.open(this.path, { read: true });
      if (!(await file.stat()).isFile) {
        file.close();
        throw new Error(`${this.path} is not a regular file`);
      }
      this.#waitingLogged = false;
      this.#setBlocked(this.path, null);
      return { file, name: this.path };
    } catch (error) {
      if (error instanceof Deno.errors.PermissionDenied) {
        // It is there but cannot be read: waited for (the read loop polls), never skipped.
        this.#setBlocked(this.path, error);
        return null;
      }
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      if (!this.#waitingLogged) {
        this.#log.info(`${this.path} does not exist yet; waiting for it`);
        this.#waitingLogged = true;
      }
      return null;
    }
  }

  async #adopt(
    opened: { file: Deno.FsFile },
    generation: number,
    offset: number,
    rotatedAway: boolean,
  ): Promise<void> {
    const identity = await readIdentity(opened.file);
    this.#current = {
      file: opened.file,
      identity,
      generation,
      rotatedAway,
      scanner: new LineScanner(opened.file, offset, {
        maxLineBytes: this.#options.maxLineBytes,
        bufferBytes: this.#options.bufferBytes,
      }),
    };
    this.#nextGeneration = Math.max(this.#nextGeneration, generation + 1);
    this.#lastHeadCheck = Date.now();
  }

  async #findRotated(identity: FileIdentity): Promise<{ file: Deno.FsFile; name: string } | null> {
    const patterns = this.#options.rotated ?? defaultRotatedGlobs(this.path);
    for (const pattern of patterns) {
      for (const name of await globFiles(pattern)) {
        // Only a file with the inode sought is waited for when it cannot be read (a stat needs
        // no read access): an unreadable unrelated file must not hold capture up.
        const info = await Deno.stat(name).catch(() => null);
        if (!info || info.ino !== identity.ino || info.dev !== identity.dev) continue;
        const file = await this.#openWaiting(name);
        if (!file) continue;
        if (await matchesIdentity(file, identity)) return { file, name };
        file.close();
      }
    }
    return null;
  }

  /**
   * The rotated files written after `found` (a later modification time), other than the file now at
   * the path: files rotated more than once while capture was stopped, oldest first. Compressed
   * files are left out: their lines were in a file that was read before it was compressed.
   */
  async #rotatedAfter(
    found: Deno.FsFile,
    atPath: Deno.FsFile | null,
  ): Promise<{ file: Deno.FsFile; name: string }[]> {
    const foundInfo = await found.stat();
    const skip = new Set([foundInfo.ino, atPath ? (await atPath.stat()).ino : -1]);
    const since = foundInfo.mtime?.getTime() ?? 0;
    const names = new Set<string>();
    for (const pattern of this.#options.rotated ?? defaultRotatedGlobs(this.path)) {
      for (const name of await globFiles(pattern)) names.add(name);
    }
    const later: { file: Deno.FsFile; name: string; mtime: number }[] = [];
    for (const name of names) {
      // Older rotations are not read, so only a newer one is waited for when it cannot be read.
      const seen = await Deno.stat(name).catch(() => null);
      if (!seen || skip.has(seen.ino) || (seen.mtime?.getTime() ?? 0) <= since) continue;
      const file = await this.#openWaiting(name);
      if (!file) continue;
      const info = await file.stat();
      const mtime = info.mtime?.getTime() ?? 0;
      if (skip.has(info.ino) || mtime <= since || await isCompressed(file)) {
        file.close();
        continue;
      }
      skip.add(info.ino);
      later.push({ file, name, mtime });
    }
    // Oldest first; logrotate's numbering (.2 before .1) breaks ties.
    return later.sort((a, b) => a.mtime - b.mtime || b.name.localeCompare(a.name));
  }

  /** At the end of the file: is it still the file at the path, and still the same file? */
  async #checkFile(c: Current): Promise<"same" | "truncated" | "rotated" | "removed"> {
    const info = await c.file.stat();
    if (info.size < c.scanner.position) return "truncated";
    if (c.rotatedAway) return "rotated";
    let atPath: Deno.FileInfo | null = null;
    try {
      atPath = await Deno.stat(this.path);
    } catch {
      atPath = null;
    }
    if (!atPath) return "removed";
    if (atPath.ino !== info.ino || atPath.dev !== info.dev) return "rotated";
    const now = Date.now();
    if (now - this.#lastHeadCheck >= (this.#options.pollMs ?? 1000)) {
      this.#lastHeadCheck = now;
      if (!await headMatches(c.file, c.identity)) return "truncated";
      if (c.identity.headLength < HEAD_BYTES && info.size > c.identity.headLength) {
        c.identity = await readIdentity(c.file);
      }
    }
    return "same";
  }
}

/** Whether a file starts like gzip, bzip2, xz or zstd data. */
async function isCompressed(file: Deno.FsFile): Promise<boolean> {
  const head = new Uint8Array(4);
  await file.seek(0, Deno.SeekMode.Start);
  const n = (await file.read(head)) ?? 0;
  await file.seek(0, Deno.SeekMode.Start);
  const magic = Array.from(head.subarray(0, n));
  const starts = (bytes: number[]) => bytes.every((b, i) => magic[i] === b);
  return starts([0x1f, 0x8b]) || starts([0x42, 0x5a, 0x68]) || starts([0xfd, 0x37, 0x7a, 0x58]) ||
    starts([0x28, 0xb5, 0x2f, 0xfd]);
}

/** The offset after the last `\n` of a file: where "from the end" starts. */
async function lastLineEnd(file: Deno.FsFile): Promise<number> {
  const size = (await file.stat()).size;
  const buffer = new Uint8Array(64 * 1024);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - buffer.length);
    await file.seek(start, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < end - start) {
      const n = await file.read(buffer.subarray(filled, end - start));
      if (!n) break;
      filled += n;
    }
    const at = buffer.subarray(0, filled).lastIndexOf(10);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}
