/**
 * The log's path and the files around it, as the tailer sees them: what is at the path now (a
 * file, nothing yet, or a file it may not read), the rotated files beside it, and the folder's
 * events. It says once what it meets (a log missing, unreadable, unreadable rotated files), in
 * {@linkcode TailEvent}s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TailEvent } from "./tail_events.ts";
 * import { LogPath } from "./log_path.ts";
 * const dir = await Deno.makeTempDir();
 * const events: TailEvent[] = [];
 * const path = new LogPath({ path: `${dir}/spysocket.log`, emit: (event) => events.push(event) });
 * assert.equal(await path.open(), null);
 * assert.deepEqual(events, [{ kind: "missing" }]);
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "line\n");
 * const file = await path.open();
 * assert.equal(await file?.size(), 5);
 * file?.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { basename, dirname } from "../base/posix_path.ts";
import { retry } from "../base/retry.ts";
import { type FileIdentity, sameContent } from "./identity.ts";
import { LogFile } from "./log_file.ts";
import type { ReadingFile } from "./reading_file.ts";
import {
  defaultRotatedGlobs,
  findRotated,
  type ReadText,
  rotatedAfter,
  type UnreadableRotated,
} from "./rotated.ts";
import type { TailEvent } from "./tail_events.ts";
import { FolderWatch } from "./watch.ts";

/** How often a log that is still missing is said again. */
const MISSING_REPEAT_MS = 5 * 60_000;

/** Where the log is, and who hears of it. */
export interface LogPathOptions {
  /** The log. */
  path: string;
  /** Where rotated files go (globs in the file name part); logrotate's names by default. */
  rotated?: string[];
  /** How often the file is checked without a filesystem event; default 1000 ms. */
  pollMs?: number;
  /** Ends a wait for a file that cannot be read. */
  signal?: AbortSignal;
  /** Told of what is met. */
  emit: (event: TailEvent) => void;
}

/** A log's path; see the module example. */
export class LogPath {
  /** The log. */
  readonly path: string;
  readonly #options: LogPathOptions;
  #watch: FolderWatch | null = null;
  /** The file that cannot be read now, if any. */
  #blocked: string | null = null;
  /** The log was said to be missing (or gone); since when, and when that was last said. */
  #missingSaid = false;
  #missingSince: number | null = null;
  #missingSaidAt = 0;
  /** Rotated files already said to be unreadable. */
  readonly #reported = new Set<string>();

  /** The path of `options.path`; its folder is watched from {@linkcode LogPath.watch}. */
  constructor(options: LogPathOptions) {
    this.path = options.path;
    this.#options = options;
  }

  /** The globs rotated files are looked for by. */
  get rotatedGlobs(): string[] {
    return this.#options.rotated ?? defaultRotatedGlobs(this.path);
  }

  /** Whether a file is at the path that cannot be read. */
  get blocked(): boolean {
    return this.#blocked === this.path;
  }

  /** Starts watching the log's folder for files named like it. */
  watch(): void {
    const name = basename(this.path);
    this.#watch ??= new FolderWatch(dirname(this.path), (p) => basename(p).startsWith(name));
  }

  /** Waits for a filesystem event in the log's folder, the next poll, or `ms`, whichever is first. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    await this.#watch?.wait(Math.min(ms, this.#options.pollMs ?? 1000), signal);
  }

  /** Takes no filesystem events until the next `wait` (the caller sleeps to a deadline of its own). */
  pauseWatch(): void {
    this.#watch?.pause();
  }

  /** Stops watching. */
  close(): void {
    this.#watch?.close();
    this.#watch = null;
  }

  /**
   * The file at the path, or `null` when there is none (said once, and again every 5 minutes) or
   * it cannot be read (said once; the read loop polls it, and it is never skipped).
   */
  async open(): Promise<LogFile | null> {
    try {
      const file = await Deno.open(this.path, { read: true });
      if (!(await file.stat()).isFile) {
        file.close();
        throw new Error(`${this.path} is not a regular file`);
      }
      this.#missingSaid = false;
      this.#missingSince = null;
      this.#setBlocked(this.path, null);
      return await LogFile.open(this.path, file);
    } catch (error) {
      if (error instanceof Deno.errors.PermissionDenied) {
        this.#setBlocked(this.path, error);
        return null;
      }
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      await this.#sayMissing();
      return null;
    }
  }

  /**
   * Opens `name`; while it exists but cannot be read, waits with backoff when `wait` (a rotated
   * file that may hold unread lines is never taken for gone), else gives up. `null` when it does
   * not exist (or on a stop).
   */
  async openWaiting(name: string, wait: boolean): Promise<LogFile | null> {
    try {
      const file = await retry(() => LogFile.open(name), {
        isRetriable: (error) => wait && error instanceof Deno.errors.PermissionDenied,
        minDelayMs: this.#options.pollMs ?? 1000,
        onRetry: (error) => this.#setBlocked(name, error as Error),
        signal: this.#options.signal,
      });
      this.#setBlocked(name, null);
      return file;
    } catch {
      return null;
    }
  }

  /**
   * The file now at the path when it is a copy of the text `reading` has read (a restore, cp and
   * mv, sed -i), else `null`.
   */
  async copyOf(reading: ReadingFile): Promise<LogFile | null> {
    const next = await this.open();
    if (!next) return null;
    const at = { offset: reading.position, before: reading.tailHash() };
    if (await sameContent(next, reading.identity, at) && await next.size() >= at.offset) {
      return next;
    }
    next.close();
    return null;
  }

  /**
   * The copy of the file `reading` holds the text of, rotated aside with the lines not yet read
   * (what copytruncate leaves), when the file itself no longer holds them.
   */
  async copyLeftBy(
    reading: ReadingFile,
  ): Promise<{ copy: LogFile | null; unreadable: UnreadableRotated[] }> {
    const at = { offset: reading.position, before: reading.tailHash() };
    const { found, unreadable } = await this.findRotated(reading.identity, at);
    const self = found && found.ino === reading.log.ino && found.dev === reading.log.dev;
    if (found && !self && await found.size() > at.offset) return { copy: found, unreadable };
    found?.close();
    return { copy: null, unreadable };
  }

  /** The file being read left the path (`removed`: unlinked), and nothing is there yet. */
  left(removed: boolean): void {
    if (this.#missingSaid) return;
    this.#options.emit({ kind: removed ? "removed" : "renamed" });
    this.#missingSaid = true;
    this.#missingSince = this.#missingSaidAt = Date.now();
  }

  /** The rotated file holding the text of `identity` up to `at` (see `rotated.ts`). */
  findRotated(
    identity: FileIdentity,
    at: { offset: number; before?: string },
    which?: "renamed" | "any",
  ): Promise<{ found: LogFile | null; unreadable: UnreadableRotated[] }> {
    const open = (name: string, wait: boolean) => this.openWaiting(name, wait);
    return findRotated(this.path, this.rotatedGlobs, identity, at, open, which);
  }

  /**
   * The files rotated after `since` (ms), oldest first, leaving out `exclude` (see `rotated.ts`);
   * those that cannot be read are said once each.
   */
  async rotatedAfter(since: number, exclude: ReadText[], tiedAfter?: string): Promise<LogFile[]> {
    const { files, unreadable } = await rotatedAfter(
      this.path,
      this.rotatedGlobs,
      since,
      exclude,
      (name, wait) => this.openWaiting(name, wait),
      tiedAfter,
    );
    for (const file of unreadable) {
      if (this.#reported.has(file.name)) continue;
      this.#reported.add(file.name);
      this.#options.emit({
        kind: "unreadableRotated",
        file,
        reason: file.compression ? `compressed with ${file.compression}` : "not whole",
      });
    }
    return files;
  }

  /** Says that the lines of `at.generation` after `at.offset` could not be captured. */
  lost(
    cause: "gone" | "truncated",
    at: { generation: number; offset: number; bytes: number; size: number; next: number },
    whileStopped: boolean,
    unreadable: UnreadableRotated[],
  ): void {
    const searched = this.rotatedGlobs;
    this.#options.emit({ kind: "lost", cause, ...at, whileStopped, unreadable, searched });
  }

  async #sayMissing(): Promise<void> {
    const now = Date.now();
    if (this.#missingSaid && now - this.#missingSaidAt < MISSING_REPEAT_MS) return;
    const folderMissing = !await Deno.stat(dirname(this.path)).then(() => true, () => false);
    this.#missingSince ??= now;
    const minutes = Math.round((now - this.#missingSince) / 60_000);
    this.#options.emit({
      kind: "missing",
      ...(minutes > 0 ? { minutes } : {}),
      ...(folderMissing ? { folderMissing } : {}),
    });
    this.#missingSaidAt = now;
    this.#missingSaid = true;
  }

  /** Says once that `name` cannot be read, or that it can again (`null`). */
  #setBlocked(name: string, error: Error | null): void {
    if (error) {
      if (this.#blocked === name) return;
      this.#blocked = name;
      this.#options.emit({ kind: "unreadable", name });
    } else if (this.#blocked === name) {
      this.#blocked = null;
      this.#options.emit({ kind: "readable", name });
    }
  }
}

/**
 * The files to read after the one being drained, in order: those rotated after it (more than one
 * rotation since capture last looked, while stopped or between two polls), then the file at the
 * path.
 */
export class NextFiles {
  readonly #logPath: LogPath;
  #files: LogFile[] = [];

  /** None yet. */
  constructor(logPath: LogPath) {
    this.#logPath = logPath;
  }

  /** Reads `files` next, in order (they were found rotated after the file adopted). */
  follow(files: LogFile[]): void {
    this.#files = files;
  }

  /** The size of their text. */
  async queuedBytes(): Promise<number> {
    let bytes = 0;
    for (const file of this.#files) bytes += await file.size();
    return bytes;
  }

  /**
   * The file after `drained` (finished, and gone from the path): the first rotated after it, else
   * the file at the path; `null` while there is none.
   */
  async after(drained: ReadingFile): Promise<{ log: LogFile; rotatedAway: boolean } | null> {
    if (this.#files.length === 0) {
      const since = (await drained.log.stat()).mtime?.getTime() ?? 0;
      // Left out: this file, and a copy of exactly its text (its compressed twin).
      const text = {
        identity: drained.identity,
        size: drained.position,
        before: drained.tailHash(),
      };
      this.#files = await this.#logPath.rotatedAfter(since, [text], drained.log.name);
    }
    const successor = this.#files.shift();
    if (successor) return { log: successor, rotatedAway: true };
    const atPath = await this.#logPath.open();
    return atPath ? { log: atPath, rotatedAway: false } : null;
  }

  /** Closes them. */
  close(): void {
    for (const file of this.#files.splice(0)) file.close();
  }
}
