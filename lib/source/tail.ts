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
 * import { type TailEvent, Tailer } from "./tail.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "before\n");
 * const events: TailEvent[] = [];
 * const tailer = new Tailer({
 *   path: `${dir}/spysocket.log`,
 *   maxLineBytes: 1 << 20,
 *   events: (event) => events.push(event),
 * });
 * await tailer.start({ generation: 0, offset: 0 });
 * const first = await tailer.read();
 * assert.ok(first?.item.kind === "lines");
 * assert.equal(new TextDecoder().decode(first.item.bytes), "before\n");
 * await Deno.rename(`${dir}/spysocket.log`, `${dir}/spysocket.log.1`); // rotated
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "after\n");
 * let next = await tailer.read();
 * while (!next) next = await tailer.read();
 * assert.equal(next.generation, 1); // a new file, a new generation
 * assert.deepEqual(events, [{ kind: "next", name: `${dir}/spysocket.log`, generation: 1 }]);
 * tailer.close();
 * ```
 * @module
 */
import { basename, dirname } from "node:path";
import {
  type FileIdentity,
  HEAD_BYTES,
  headMatches,
  matchesIdentity,
  readIdentity,
} from "./identity.ts";
import { LineScanner, type ScanItem } from "./lines.ts";
import { FolderWatch } from "./watch.ts";
import { Generations } from "./generations.ts";
import { defaultRotatedGlobs, findRotated, rotatedAfter } from "./rotated.ts";
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
  /** Told of every change of file the tailer meets (see {@linkcode TailEvent}). */
  events: (event: TailEvent) => void;
  /** Ends a wait for a file that cannot be read. */
  signal?: AbortSignal;
  /** The numbering of the log's files, when the caller moves it too; a fresh one by default. */
  generations?: Generations;
}

/**
 * What the tailer met, for its caller to log and count. Files are named by their path; the log's
 * own path is the tailer's.
 */
export type TailEvent =
  /** The log does not exist (yet): it is waited for. */
  | { kind: "missing" }
  /** The log was removed: the next file at its path is waited for. */
  | { kind: "removed" }
  /** `name` (the log, or a rotated file with lines to read) cannot be read: waited for, never skipped. */
  | { kind: "unreadable"; name: string }
  /** `name` can be read again. */
  | { kind: "readable"; name: string }
  /** The file at the path shrank or was rewritten in place: `generation` starts at 0. */
  | { kind: "truncated"; whileStopped: boolean; generation: number; size?: number; offset?: number }
  /** The log was rotated while capture was stopped: the rest of `name` is read first. */
  | { kind: "rotated"; whileStopped: true; name: string; generation: number; offset: number }
  /** `name` was rotated after the file being read: it is read next. */
  | { kind: "rotatedAfter"; name: string }
  /** The next file, `name` (a rotated one, or the new file at the path), is `generation`. */
  | { kind: "next"; name: string; generation: number }
  /** The file of `generation` is gone: `bytes` after `offset`, at least, were never read. */
  | { kind: "lost"; generation: number; offset: number; bytes: number; next: number }
  /** The file at the path is not the one expected, but `holder` says where it was left. */
  | { kind: "located"; holder: string; generation: number; offset: number };

/** Why the tailer waits on `name`, in the words `/healthz` and the log line share. */
export function unreadableReason(name: string): string {
  return `cannot read ${name}: permission denied`;
}

/**
 * A tail event as a log line: its level and its words, which name the fix where there is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeTailEvent } from "./tail.ts";
 * assert.deepEqual(describeTailEvent({ kind: "next", name: "/var/log/a.log", generation: 3 }, "/var/log/a.log"), {
 *   level: "info",
 *   message: "/var/log/a.log is a new file: generation 3",
 * });
 * ```
 */
export function describeTailEvent(
  event: TailEvent,
  path: string,
): { level: "info" | "warn"; message: string } {
  switch (event.kind) {
    case "missing":
      return { level: "info", message: `${path} does not exist yet; waiting for it` };
    case "removed":
      return { level: "info", message: `${path} was removed; waiting for it to be created again` };
    case "unreadable":
      return {
        level: "warn",
        message: `${
          unreadableReason(event.name)
        }; capture waits for it and retries (give the capture user read access: the log's group, or a default ACL on its folder)`,
      };
    case "readable":
      return { level: "info", message: `${event.name} can be read again` };
    case "truncated":
      return event.whileStopped
        ? {
          level: "warn",
          message:
            `${path} is shorter (${event.size} bytes) than the captured offset ${event.offset}: it was truncated while capture was stopped; starting generation ${event.generation} at 0`,
        }
        : {
          level: "info",
          message: `${path} was truncated or rewritten; generation ${event.generation} starts at 0`,
        };
    case "rotated":
      return {
        level: "info",
        message:
          `${path} was rotated while capture was stopped; reading the rest of ${event.name} first (generation ${event.generation}, offset ${event.offset})`,
      };
    case "rotatedAfter":
      return {
        level: "info",
        message: `${event.name} was rotated after it: it is read next, before ${path}`,
      };
    case "next":
      return {
        level: "info",
        message: event.name === path
          ? `${path} is a new file: generation ${event.generation}`
          : `reading ${event.name} (rotated after it): generation ${event.generation}`,
      };
    case "lost":
      return {
        level: "warn",
        message:
          `the file of generation ${event.generation} of ${path} is gone (rotated and removed while capture was stopped): at least ${event.bytes} bytes after offset ${event.offset} could not be captured; continuing with generation ${event.next}`,
      };
    case "located":
      return {
        level: "warn",
        message:
          `${path} is not the file the cache file names, but ${event.holder} holds it (generation ${event.generation}): continuing at offset ${event.offset}, skipping what is stored already`,
      };
  }
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
  scanner: LineScanner;
  /** The file was found among the rotated ones: when drained, the file at the path follows. */
  rotatedAway: boolean;
}

/** Follows one log path. See the module example. */
export class Tailer {
  readonly path: string;
  /** The generation numbers: the current file's, and the next file's. */
  readonly generations: Generations;
  readonly #options: TailerOptions;
  #current: Current | null = null;
  /**
   * Files rotated after the one being drained (more than one rotation since capture last looked,
   * while stopped or between two polls): read next, in order.
   */
  #successors: { file: Deno.FsFile; name: string }[] = [];
  #waitingLogged = false;
  #lastHeadCheck = 0;
  #watch: FolderWatch | null = null;
  /** The file that cannot be read now, if any. */
  #blocked: string | null = null;

  /** A tailer of `options.path`; nothing is opened until {@linkcode Tailer.start}. */
  constructor(options: TailerOptions) {
    this.path = options.path;
    this.#options = options;
    this.generations = options.generations ?? new Generations();
  }

  /** The generation and file being read, and the offset of the first line not yet returned. */
  get position(): { generation: number; offset: number; file: FileIdentity } | null {
    const c = this.#current;
    const generation = this.generations.current;
    return c && generation !== null
      ? { generation, offset: c.scanner.position, file: c.identity }
      : null;
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
    this.generations.startAt(start.generation);
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
      }
      return;
    }
    if (opened && await matchesIdentity(opened.file, start.file)) {
      const size = (await opened.file.stat()).size;
      if (size >= start.offset) {
        await this.#adopt(opened, start.generation, start.offset, false);
        return;
      }
      if (await this.#adoptLocated(opened, start)) return;
      this.#emit({
        kind: "truncated",
        whileStopped: true,
        size,
        offset: start.offset,
        generation: start.generation + 1,
      });
      await this.#adopt(opened, start.generation + 1, 0, false);
      return;
    }
    const rotated = await this.#findRotated(start.file);
    // The file of start.generation is not at the path: whatever is there next is a later file.
    this.generations.startAt(start.generation + 1);
    if (rotated) {
      this.#emit({
        kind: "rotated",
        whileStopped: true,
        name: rotated.name,
        generation: start.generation,
        offset: start.offset,
      });
      this.#successors = await this.#rotatedAfter(rotated.file, opened?.file ?? null);
      for (const next of this.#successors) {
        this.#emit({ kind: "rotatedAfter", name: next.name });
      }
      opened?.file.close();
      await this.#adopt(rotated, start.generation, start.offset, true);
      return;
    }
    if (opened && await this.#adoptLocated(opened, start)) return;
    this.#emit({
      kind: "lost",
      generation: start.generation,
      offset: start.offset,
      bytes: Math.max(0, seenSize - start.offset),
      next: start.generation + 1,
    });
    if (opened) await this.#adopt(opened, start.generation + 1, 0, false);
  }

  /** Adopts the file at the path where `start.locate` says an earlier run left it; false if not. */
  async #adoptLocated(opened: { file: Deno.FsFile }, start: TailStart): Promise<boolean> {
    if (!start.locate) return false;
    const found = await start.locate(await readIdentity(opened.file));
    if (!found || found.offset > (await opened.file.stat()).size) return false;
    this.#emit({
      kind: "located",
      holder: start.holder ?? "CouchDB",
      generation: found.generation,
      offset: found.offset,
    });
    await this.#adopt(opened, found.generation, found.offset, false);
    return true;
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
        await this.#adopt(opened, this.generations.following(), 0, false);
        continue;
      }
      const item = await c.scanner.next();
      if (item) {
        // Lines are out, so the first line is whole: the file id (extract names) can be had now.
        if (!c.identity.id) c.identity = await readIdentity(c.file);
        return { generation: this.generations.current!, file: c.identity, item };
      }
      const change = await this.#checkFile(c);
      if (change === "same") return null;
      if (change === "truncated") {
        // copytruncate, or rewritten in place: a new generation from its start.
        const generation = this.generations.assign(this.generations.following());
        this.#emit({ kind: "truncated", whileStopped: false, generation });
        c.identity = await readIdentity(c.file);
        c.scanner.seekTo(0);
        continue;
      }
      // Rotated away or removed: whatever is left, even an unterminated last line, then the next file.
      const rest = await c.scanner.takeRest();
      if (rest) return { generation: this.generations.current!, file: c.identity, item: rest };
      if (change === "removed" && !this.#waitingLogged) {
        this.#emit({ kind: "removed" });
        this.#waitingLogged = true;
      }
      const generation = this.generations.following();
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
        this.#emit({ kind: "next", name: successor.name, generation });
        await this.#adopt(successor, generation, 0, true);
        continue;
      }
      if (!next) return null;
      c.file.close();
      this.#current = null;
      this.#emit({ kind: "next", name: this.path, generation });
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

  #emit(event: TailEvent): void {
    this.#options.events(event);
  }

  /** Says once that `name` cannot be read, or that it can again (`null`). */
  #setBlocked(name: string, error: Error | null): void {
    if (error) {
      if (this.#blocked === name) return;
      this.#blocked = name;
      this.#emit({ kind: "unreadable", name });
    } else if (this.#blocked === name) {
      this.#blocked = null;
      this.#emit({ kind: "readable", name });
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
        this.#emit({ kind: "missing" });
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
      rotatedAway,
      scanner: new LineScanner(opened.file, offset, {
        maxLineBytes: this.#options.maxLineBytes,
        bufferBytes: this.#options.bufferBytes,
      }),
    };
    this.generations.assign(generation);
    this.#lastHeadCheck = Date.now();
  }

  async #findRotated(identity: FileIdentity): Promise<{ file: Deno.FsFile; name: string } | null> {
    return await findRotated(this.#rotatedGlobs, identity, (name) => this.#openWaiting(name));
  }

  async #rotatedAfter(
    found: Deno.FsFile,
    atPath: Deno.FsFile | null,
  ): Promise<{ file: Deno.FsFile; name: string }[]> {
    return await rotatedAfter(this.#rotatedGlobs, found, atPath, (name) => this.#openWaiting(name));
  }

  get #rotatedGlobs(): string[] {
    return this.#options.rotated ?? defaultRotatedGlobs(this.path);
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
