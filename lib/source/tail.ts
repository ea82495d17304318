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
 *   rotateWaitMs: 0, // no writer keeps the renamed file open here
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
  BEFORE_BYTES,
  beforeHash,
  beforeHashOf,
  type FileIdentity,
  HEAD_BYTES,
  headMatches,
  readIdentity,
  sameContent,
  sameIdentity,
} from "./identity.ts";
import { LineScanner, type ScanItem } from "./lines.ts";
import { LogFile } from "./log_file.ts";
import { FolderWatch } from "./watch.ts";
import { Generations } from "./generations.ts";
import {
  defaultRotatedGlobs,
  findRotated,
  type ReadText,
  rotatedAfter,
  type UnreadableRotated,
} from "./rotated.ts";
import { retry } from "../base/retry.ts";

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
  /**
   * How long a file renamed or removed from the path must go without growing before it counts as
   * finished (its writer may keep it open until it reopens the log); default 5000 ms.
   */
  rotateWaitMs?: number;
}

/**
 * What the tailer met, for its caller to log and count. Files are named by their path; the log's
 * own path is the tailer's.
 */
export type TailEvent =
  /**
   * The log does not exist (yet): it is waited for. Said again every 5 minutes (`minutes`), and
   * `folderMissing` when not even its folder exists (a mistyped path, most likely).
   */
  | { kind: "missing"; minutes?: number; folderMissing?: boolean }
  /** The log exists now (it did not): `generation` begins. */
  | { kind: "appeared"; generation: number }
  /** The log was removed: the next file at its path is waited for. */
  | { kind: "removed" }
  /** The log was renamed and no file is at its path yet: the next one is waited for. */
  | { kind: "renamed" }
  /** `name` (the log, or a rotated file with lines to read) cannot be read: waited for, never skipped. */
  | { kind: "unreadable"; name: string }
  /** `name` can be read again. */
  | { kind: "readable"; name: string }
  /** The file at the path shrank or was rewritten in place: `generation` starts at 0. */
  | { kind: "truncated"; whileStopped: boolean; generation: number; size?: number; offset?: number }
  /** The log was rotated while capture was stopped: the rest of `name` is read first. */
  | { kind: "rotated"; whileStopped: true; name: string; generation: number; offset: number }
  /** The next file, `name` (a rotated one, or the new file at the path), is `generation`. */
  | { kind: "next"; name: string; generation: number }
  /**
   * The file of `generation` is gone: `bytes` after `offset`, at least, were never read (`size` is
   * its size when last seen). `unreadable` lists compressed files that may hold it and cannot be
   * read; `searched` the globs its rotated copies were looked for in.
   */
  | {
    kind: "lost";
    /** Why: the file is gone, or it was truncated (or rewritten) in place. */
    cause: "gone" | "truncated";
    generation: number;
    offset: number;
    bytes: number;
    size: number;
    next: number;
    whileStopped: boolean;
    unreadable: UnreadableRotated[];
    searched: string[];
  }
  /** `name` was truncated (copytruncate) while its lines were unread, and `copy` holds them. */
  | { kind: "copied"; name: string; copy: string; generation: number; offset: number }
  /** The log was replaced by `name`, a copy of the same text (a restore, `cp` and `mv`, `sed -i`). */
  | { kind: "replaced"; generation: number; offset: number }
  /** A rotated file that capture cannot read (a compressor it does not read, or corrupt data). */
  | { kind: "unreadableRotated"; file: UnreadableRotated; reason: string }
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
): { level: "info" | "warn" | "error"; message: string } {
  switch (event.kind) {
    case "missing":
      if (event.folderMissing) {
        return {
          level: "warn",
          message: `${path} does not exist, nor does its folder${
            event.minutes ? ` (for ${event.minutes} minutes)` : ""
          }: check the path; capture waits for it`,
        };
      }
      return event.minutes
        ? {
          level: "warn",
          message:
            `${path} still does not exist (for ${event.minutes} minutes): check the path, and that the writer runs; capture waits for it`,
        }
        : { level: "info", message: `${path} does not exist yet; waiting for it` };
    case "appeared":
      return {
        level: "info",
        message: `${path} exists now: reading it as generation ${event.generation}`,
      };
    case "removed":
      return { level: "info", message: `${path} was removed; waiting for it to be created again` };
    case "renamed":
      return { level: "info", message: `${path} was rotated away; waiting for the new ${path}` };
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
            `${path} was truncated while capture was stopped (rewritten in place: now ${event.size} bytes, and not the text capture had read up to offset ${event.offset}); starting generation ${event.generation} at 0`,
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
    case "next":
      return {
        level: "info",
        message: event.name === path
          ? `${path} is a new file: generation ${event.generation}`
          : `reading ${event.name} (rotated after it): generation ${event.generation}`,
      };
    case "lost": {
      const where = event.cause === "gone"
        ? "gone (rotated and removed while capture was stopped)"
        : `truncated ${
          event.whileStopped ? "while capture was stopped" : "before capture read it all"
        }, and no rotated copy holds the rest`;
      const held = event.bytes > 0
        ? `${event.bytes} bytes after offset ${event.offset} were lost (it held ${event.size} bytes when last seen, and maybe more since)`
        : `what it held after offset ${event.offset} is lost (it held ${event.size} bytes when last seen; how much it grew after that cannot be known)`;
      const unreadable = event.unreadable.map((u) =>
        `${u.name} (${
          u.compression ?? "not whole"
        }, ${u.bytes} bytes) may hold it and cannot be read`
      );
      const searched = event.unreadable.length > 0
        ? `${
          unreadable.join("; ")
        }: have logrotate compress with gzip (compresscmd), or use delaycompress`
        : `it is not among the rotated files (${
          event.searched.join(", ")
        }): if logrotate moves them to another folder (olddir), name it with --rotated`;
      return {
        // A file gone, or bytes known lost, is an error; a file rewritten in place with nothing
        // unread when capture last looked is a warning.
        level: event.cause === "gone" || event.bytes > 0 || event.unreadable.length > 0
          ? "error"
          : "warn",
        message:
          `the file of generation ${event.generation} of ${path} is ${where}: ${held}, and could not be captured; ${searched}; continuing with generation ${event.next}`,
      };
    }
    case "copied":
      return {
        level: "warn",
        message:
          `${event.name} was truncated (copytruncate) before capture read all of it: reading the rest from its copy ${event.copy} (generation ${event.generation}, offset ${event.offset})`,
      };
    case "replaced":
      return {
        level: "info",
        message:
          `${path} was replaced by a copy of the same text (a restore, cp and mv, sed -i): it is the same file; continuing at offset ${event.offset} of generation ${event.generation}`,
      };
    case "unreadableRotated":
      return {
        level: "error",
        message:
          `${event.file.name} is a rotated file of ${path} that capture cannot read (${event.reason}): its ${event.file.bytes} bytes are not captured; have logrotate compress with gzip`,
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
  /**
   * The hash of the bytes before `offset` ({@linkcode beforeHash}): a file with the same first
   * bytes but other text before the offset is not `file`. Absent in cache files of earlier versions.
   */
  before?: string;
  /** When the position was saved (ms): the files rotated after that, when `file` is gone. */
  savedAt?: number;
}

/** How often a log that is still missing is said again. */
const MISSING_REPEAT_MS = 5 * 60_000;

/**
 * How far a file's modification time may lag the clock: the kernel stamps files from a coarse
 * clock, a tick behind (up to 10 ms), so a file written just after the cache file was saved can
 * look older than it.
 */
const MTIME_SLACK_MS = 20;

interface Current {
  log: LogFile;
  /** The file's identity as first seen: a copy of it, or the same file at another inode, keeps it. */
  identity: FileIdentity;
  scanner: LineScanner;
  /** No longer at the path (renamed, removed, or a rotated file): when finished, the next follows. */
  rotatedAway: boolean;
  /** The first `identity.headLength` bytes, to check the file still holds the same text. */
  head: Uint8Array;
  /** The bytes just before the scanner's position (up to {@linkcode BEFORE_BYTES}). */
  tail: Uint8Array;
  /** Its size when last looked at, and when it last grew (ms). */
  size: number;
  grewAt: number;
  /** A compressed file whose data broke off: nothing more is read from it. */
  broken?: boolean;
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
  #successors: LogFile[] = [];
  #waitingLogged = false;
  /** Since when the log has been missing, and when that was last said. */
  #missingSince: number | null = null;
  #missingSaidAt = 0;
  #watch: FolderWatch | null = null;
  /** The file that cannot be read now, if any. */
  #blocked: string | null = null;
  #settling = false;
  /** Rotated files already said to be unreadable. */
  readonly #reported = new Set<string>();

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

  /**
   * Whether a file that left the path is being waited on: it grew within `rotateWaitMs`, so its
   * writer may not be done with it. The lines after it wait too, so a caller that stops when
   * caught up (`--once`) waits for this first.
   */
  get settling(): boolean {
    return this.#settling;
  }

  /** Bytes in the file beyond what has been returned, as of the last check. */
  async bytesBehind(): Promise<number> {
    const c = this.#current;
    return c ? Math.max(0, await this.fileSize() - c.scanner.position) : 0;
  }

  /** The size of the text of the files rotated after the current one and waiting to be read. */
  async queuedBytes(): Promise<number> {
    let bytes = 0;
    for (const file of this.#successors) bytes += await file.size();
    return bytes;
  }

  /** The size of the text of the file being read now (0 when none is open). */
  async fileSize(): Promise<number> {
    return this.#current ? await this.#current.log.size() : 0;
  }

  /**
   * The hash of the bytes before `offset` in the file `identity` names, when that is the file
   * being read (what the cache file keeps, to know the file again); `undefined` otherwise.
   */
  async beforeHash(identity: FileIdentity, offset: number): Promise<string | undefined> {
    const c = this.#current;
    if (!c || !sameIdentity(c.identity, identity) || c.log.compression !== null) return undefined;
    return await beforeHash(c.log, offset);
  }

  /**
   * Opens the log at `start`. The file the position was taken in is known by its text: at the
   * path, or among the rotated files (renamed, copied by copytruncate, compressed), where it is
   * read first; when it is gone, an error line says how much was lost, and the files rotated after
   * it are still read.
   */
  async start(start: TailStart, seenSize = start.offset): Promise<void> {
    const name = basename(this.path);
    this.#watch ??= new FolderWatch(dirname(this.path), (p) => basename(p).startsWith(name));
    this.generations.startAt(start.generation);
    let opened = await this.#openPath();
    // There but not readable: what it is (the same file, a new one) cannot be told yet.
    if (!opened && this.#blocked === this.path) opened = await this.#openWaiting(this.path, true);
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
    const at = { offset: start.offset, before: start.before };
    // Known by its text, the same inode first: the file itself at the path, or renamed; then a
    // copy of it at the path (replaced by a restore, cp and mv, sed -i); then a copy or a
    // compressed copy among the rotated files (copytruncate, compress). A file that held no whole
    // line when last seen (empty, or a partial first line) has too little text to be known by:
    // only its inode tells, and where it is still at the path, a file rotated (or copied by
    // copytruncate) since then that begins so comes first.
    const weak = !start.file.id;
    const holds = async (file: LogFile | null) =>
      !!file && await sameContent(file, start.file!, at) && await file.size() >= start.offset;
    const sameInode = opened?.ino === start.file.ino && opened?.dev === start.file.dev;
    if (!weak && sameInode && await holds(opened)) {
      await this.#adopt(opened!, start.generation, start.offset, false, start.file);
      return;
    }
    const search = (which: "renamed" | "any") =>
      findRotated(
        this.path,
        this.#rotatedGlobs,
        start.file!,
        at,
        (name, wait) => this.#openWaiting(name, wait),
        which,
      );
    let { found, unreadable } = await search("renamed");
    if (!found && weak && opened && start.savedAt !== undefined) {
      if (await this.#adoptSinceSaved(opened, start, start.savedAt)) return;
    }
    if (!found && weak && sameInode && await holds(opened)) {
      await this.#adopt(opened!, start.generation, start.offset, false, start.file);
      return;
    }
    if (!found && !sameInode && await holds(opened)) {
      this.#emit({ kind: "replaced", generation: start.generation, offset: start.offset });
      await this.#adopt(opened!, start.generation, start.offset, false, start.file);
      return;
    }
    if (!found) ({ found, unreadable } = await search("any"));
    // The file of start.generation is not at the path: whatever is there next is a later file.
    this.generations.startAt(start.generation + 1);
    if (found) {
      this.#emit({
        kind: "rotated",
        whileStopped: true,
        name: found.name,
        generation: start.generation,
        offset: start.offset,
      });
      opened?.close();
      await this.#adopt(found, start.generation, start.offset, true, start.file);
      return;
    }
    if (opened && opened.ino === start.file.ino && opened.dev === start.file.dev) {
      // Truncated or rewritten in place while stopped, and no copy of the rest anywhere.
      const size = await opened.size();
      if (await this.#adoptLocated(opened, start)) return;
      if (seenSize > start.offset || unreadable.length > 0) {
        this.#lost(
          "truncated",
          {
            generation: start.generation,
            offset: start.offset,
            bytes: seenSize - start.offset,
            size: seenSize,
            next: start.generation + 1,
          },
          true,
          unreadable,
        );
      }
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
    if (opened && await this.#adoptLocated(opened, start)) return;
    this.#lost(
      "gone",
      {
        generation: start.generation,
        offset: start.offset,
        bytes: Math.max(0, seenSize - start.offset),
        size: seenSize,
        next: start.generation + 1,
      },
      true,
      unreadable,
    );
    // The files rotated after it (since the position was saved) come before the file at the path.
    const later = await this.#rotatedAfter((start.savedAt ?? Date.now()) - MTIME_SLACK_MS, []);
    const first = later.shift();
    if (first) {
      this.#successors = later;
      opened?.close();
      this.#emit({ kind: "next", name: first.name, generation: start.generation + 1 });
      await this.#adopt(first, start.generation + 1, 0, true);
      return;
    }
    if (opened) await this.#adopt(opened, start.generation + 1, 0, false);
  }

  /**
   * For a file known by too little text (`start.file` has no whole line): the first file rotated
   * since the position was saved that begins so is it (copytruncate's copy, say); the later ones
   * follow, then the file at the path. False when there is none.
   */
  async #adoptSinceSaved(opened: LogFile, start: TailStart, savedAt: number): Promise<boolean> {
    const later = await this.#rotatedAfter(savedAt - MTIME_SLACK_MS, []);
    const begins = async (file: LogFile) =>
      start.file!.headLength === 0 || await headMatches(file, start.file!);
    let at = 0;
    while (at < later.length && !await begins(later[at])) at++;
    if (at === later.length) {
      for (const file of later) file.close();
      return false;
    }
    for (const skipped of later.splice(0, at)) skipped.close();
    const first = later.shift()!;
    this.#successors = later;
    opened.close();
    // CouchDB may know that file by its own text already (a cache file set back to when it was
    // empty): then it goes on where CouchDB has it.
    const held = await start.locate?.(await readIdentity(first));
    if (held) {
      this.generations.startAt(held.generation + 1);
      this.#emit({ kind: "located", holder: start.holder ?? "CouchDB", ...held });
      await this.#adopt(first, held.generation, held.offset, true);
      return true;
    }
    this.generations.startAt(start.generation + 1);
    this.#emit({ kind: "next", name: first.name, generation: start.generation });
    await this.#adopt(first, start.generation, start.offset, true, start.file);
    return true;
  }

  /** Adopts the file at the path where `start.locate` says an earlier run left it; false if not. */
  async #adoptLocated(opened: LogFile, start: TailStart): Promise<boolean> {
    if (!start.locate) return false;
    const found = await start.locate(await readIdentity(opened));
    if (!found || found.offset > await opened.size()) return false;
    this.#emit({
      kind: "located",
      holder: start.holder ?? "CouchDB",
      generation: found.generation,
      offset: found.offset,
    });
    await this.#adopt(opened, found.generation, found.offset, false);
    return true;
  }

  /**
   * Goes on from `offset` of the file being read, dropping what was buffered: CouchDB holds this
   * file up to there (an earlier run stored more than this one has read, or cut it elsewhere).
   * Only the current file moves; false when `identity` is not the file being read.
   */
  async resumeAt(identity: FileIdentity, offset: number): Promise<boolean> {
    const c = this.#current;
    if (!c || !sameIdentity(c.identity, identity)) return false;
    c.scanner.seekTo(offset);
    c.tail = await c.log.readAt(Math.max(0, offset - BEFORE_BYTES), Math.min(offset, BEFORE_BYTES));
    return true;
  }

  /** The next lines available now, or `null` when caught up (or the log does not exist yet). */
  async read(): Promise<TailRead | null> {
    for (;;) {
      const c = this.#current;
      if (!c) {
        const opened = await this.#openPath();
        if (!opened) return null;
        const generation = this.generations.following();
        this.#emit({ kind: "appeared", generation });
        await this.#adopt(opened, generation, 0, false);
        continue;
      }
      // Before every read: does the file still hold the text read so far? (copytruncate, or a
      // rewrite in place, perhaps grown past the old offset since.)
      if (!await this.#holdsWhatWasRead(c)) {
        await this.#rewritten(c);
        continue;
      }
      const item = await this.#next(c);
      if (item) {
        this.#settling = false;
        // After an over-long line, what comes before the position is not at hand: not checked.
        if (item.kind === "lines") this.#noteTail(c, item.bytes);
        else c.tail = new Uint8Array(0);
        // Lines are out, so the first line is whole: the file id (extract names) can be had now.
        if (!c.identity.id) await this.#retake(c, c.identity);
        return { generation: this.generations.current!, file: c.identity, item };
      }
      const where = await this.#whereIsIt(c);
      if (where === "here") return null;
      if (where === "replaced") continue;
      // Rotated away or removed. Its writer may hold it open until told to reopen the log: it is
      // read on until it has not grown for rotateWaitMs, and only then is its unterminated last
      // line taken as a line and the next file begun.
      if (Date.now() - c.grewAt < (this.#options.rotateWaitMs ?? 5000)) {
        this.#settling = true;
        return null;
      }
      this.#settling = false;
      const rest = c.broken ? null : await c.scanner.takeRest();
      if (rest) {
        c.tail = new Uint8Array(0);
        return { generation: this.generations.current!, file: c.identity, item: rest };
      }
      if (this.#successors.length === 0) {
        const since = (await c.log.stat()).mtime?.getTime() ?? 0;
        // Left out: this file, and a copy of exactly its text (its compressed twin).
        const size = c.scanner.position;
        this.#successors = await this.#rotatedAfter(since, [{
          identity: c.identity,
          size,
          before: await this.#tailHash(c),
        }], c.log.name);
      }
      const generation = this.generations.following();
      const successor = this.#successors.shift();
      if (successor) {
        c.log.close();
        this.#emit({ kind: "next", name: successor.name, generation });
        await this.#adopt(successor, generation, 0, true);
        continue;
      }
      const next = await this.#openPath();
      if (!next) return null;
      c.log.close();
      this.#current = null;
      this.#emit({ kind: "next", name: this.path, generation });
      await this.#adopt(next, generation, 0, false);
    }
  }

  /**
   * The scanner's next item. A compressed file whose data is corrupt or ends early yields what it
   * could, then is said to be unreadable from there and counts as finished.
   */
  async #next(c: Current): Promise<ScanItem | null> {
    if (c.broken) return null;
    try {
      return await c.scanner.next();
    } catch (error) {
      if (c.log.compression === null) throw error;
      c.broken = true;
      c.grewAt = 0;
      c.rotatedAway = true;
      this.#emit({
        kind: "unreadableRotated",
        file: {
          name: c.log.name,
          compression: null,
          bytes: Math.max(0, await c.log.size() - c.scanner.position),
        },
        reason:
          `its ${c.log.compression} data is corrupt or cut short after offset ${c.scanner.position}: ${
            (error as Error).message
          }`,
      });
      return null;
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
    for (const file of this.#successors.splice(0)) file.close();
    this.#current?.log.close();
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
   * Opens `name`; while it exists but cannot be read, waits with backoff when `wait` (a rotated
   * file that may hold unread lines is never taken for gone), else gives up. `null` when it does not
   * exist (or on a stop).
   */
  async #openWaiting(name: string, wait: boolean): Promise<LogFile | null> {
    const signal = this.#options.signal;
    try {
      const file = await retry(() => LogFile.open(name), {
        isRetriable: (error) => wait && error instanceof Deno.errors.PermissionDenied,
        minDelayMs: this.#options.pollMs ?? 1000,
        onRetry: (error) => this.#setBlocked(name, error as Error),
        signal,
      });
      this.#setBlocked(name, null);
      return file;
    } catch {
      return null;
    }
  }

  async #openPath(): Promise<LogFile | null> {
    try {
      const file = await Deno.open(this.path, { read: true });
      if (!(await file.stat()).isFile) {
        file.close();
        throw new Error(`${this.path} is not a regular file`);
      }
      this.#waitingLogged = false;
      this.#missingSince = null;
      this.#setBlocked(this.path, null);
      return await LogFile.open(this.path, file);
    } catch (error) {
      if (error instanceof Deno.errors.PermissionDenied) {
        // It is there but cannot be read: waited for (the read loop polls), never skipped.
        this.#setBlocked(this.path, error);
        return null;
      }
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      const now = Date.now();
      if (!this.#waitingLogged || now - this.#missingSaidAt >= MISSING_REPEAT_MS) {
        const folderMissing = !await Deno.stat(dirname(this.path)).then(() => true, () => false);
        this.#missingSince ??= now;
        const minutes = Math.round((now - this.#missingSince) / 60_000);
        this.#emit({
          kind: "missing",
          ...(minutes > 0 ? { minutes } : {}),
          ...(folderMissing ? { folderMissing } : {}),
        });
        this.#missingSaidAt = now;
        this.#waitingLogged = true;
      }
      return null;
    }
  }

  /**
   * Takes the identity of the file being read again, over more of its first bytes (a young file,
   * or its first line now whole), keeping the device and inode it was first seen with (`as`), so
   * that its file id and what its documents name stay the same; and the bytes its text is checked by.
   */
  async #retake(c: Current, as?: FileIdentity): Promise<void> {
    c.identity = await readIdentity(c.log, as && { dev: as.dev, ino: as.ino });
    c.head = await c.log.readAt(0, c.identity.headLength);
  }

  /** The hash of the bytes just before the position, when they are at hand. */
  async #tailHash(c: Current): Promise<string | undefined> {
    return c.tail.length > 0 ? await beforeHashOf(c.tail) : undefined;
  }

  /** Says that the lines of `generation` after `offset` could not be captured. */
  #lost(
    cause: "gone" | "truncated",
    at: { generation: number; offset: number; bytes: number; size: number; next: number },
    whileStopped: boolean,
    unreadable: UnreadableRotated[],
  ): void {
    this.#emit({
      kind: "lost",
      cause,
      ...at,
      whileStopped,
      unreadable,
      searched: this.#rotatedGlobs,
    });
  }

  async #adopt(
    log: LogFile,
    generation: number,
    offset: number,
    rotatedAway: boolean,
    known?: FileIdentity,
  ): Promise<void> {
    const identity = known ?? await readIdentity(log);
    const compressed = log.compression !== null;
    const size = await log.size();
    const mtime = (await log.stat()).mtime?.getTime() ?? Date.now();
    this.#current = {
      log,
      identity,
      rotatedAway,
      scanner: new LineScanner(log.reader(), offset, {
        maxLineBytes: this.#options.maxLineBytes,
        bufferBytes: this.#options.bufferBytes,
      }),
      // A compressed file never changes: its text is not checked again.
      head: compressed ? new Uint8Array(0) : await log.readAt(0, identity.headLength),
      tail: compressed
        ? new Uint8Array(0)
        : await log.readAt(Math.max(0, offset - BEFORE_BYTES), Math.min(offset, BEFORE_BYTES)),
      size,
      grewAt: rotatedAway ? mtime : Date.now(),
    };
    this.generations.assign(generation);
  }

  #noteTail(c: Current, bytes: Uint8Array): void {
    if (bytes.length >= BEFORE_BYTES) c.tail = bytes.slice(bytes.length - BEFORE_BYTES);
    else {
      const joined = new Uint8Array(Math.min(BEFORE_BYTES, c.tail.length + bytes.length));
      const keep = joined.length - bytes.length;
      joined.set(c.tail.subarray(c.tail.length - keep));
      joined.set(bytes, keep);
      c.tail = joined;
    }
  }

  /** Whether the file still begins with its first bytes and holds what was read before the position. */
  async #holdsWhatWasRead(c: Current): Promise<boolean> {
    if (c.log.compression !== null) return true;
    const size = (await c.log.stat()).size;
    const position = c.scanner.position;
    if (size < position) return false;
    const head = await c.log.readAt(0, c.head.length);
    if (!equalBytes(head, c.head)) return false;
    if (position > c.head.length && c.tail.length > 0) {
      const tail = await c.log.readAt(position - c.tail.length, c.tail.length);
      if (!equalBytes(tail, c.tail)) return false;
    }
    // Only the same text's growth counts: what a truncated file held is what could be lost.
    if (size > c.size) {
      c.size = size;
      c.grewAt = Date.now();
    }
    return true;
  }

  /**
   * The file being read no longer holds what was read (copytruncate, or rewritten in place). A
   * rotated copy of it (what copytruncate leaves) holds the lines not yet read: they are read from
   * there first. Then the file at the path is a new generation from its start.
   */
  async #rewritten(c: Current): Promise<void> {
    const offset = c.scanner.position;
    const generation = this.generations.current!;
    const before = await this.#tailHash(c);
    const { found, unreadable } = await findRotated(
      this.path,
      this.#rotatedGlobs,
      c.identity,
      { offset, before },
      (name, wait) => this.#openWaiting(name, wait),
    );
    const copied = found && !(found.ino === c.log.ino && found.dev === c.log.dev) &&
      await found.size() > offset;
    if (found && copied) {
      this.#emit({ kind: "copied", name: c.log.name, copy: found.name, generation, offset });
      const truncated = c.log;
      await this.#adopt(found, generation, offset, true, c.identity);
      // Its writer writes to the truncated file, not to the copy: no wait for it to be quiet.
      this.#current!.grewAt = 0;
      // The truncated file is the next generation: it is opened again from the path when its turn
      // comes (or found among the rotated files, if it was rotated meanwhile).
      truncated.close();
      return;
    }
    found?.close();
    const lost = c.size - offset;
    if (lost > 0) {
      const next = this.generations.following();
      this.#lost(
        "truncated",
        { generation, offset, bytes: lost, size: c.size, next },
        false,
        unreadable,
      );
    }
    // copytruncate, or rewritten in place: a new generation from its start.
    const next = this.generations.assign(this.generations.following());
    this.#emit({ kind: "truncated", whileStopped: false, generation: next });
    await this.#retake(c);
    c.tail = new Uint8Array(0);
    c.size = (await c.log.stat()).size;
    c.scanner.seekTo(0);
  }

  /**
   * At the end of the file: is it still the file at the path ("here"), was the path given a copy of
   * it ("replaced", now read instead), or has it left the path ("away")?
   */
  async #whereIsIt(c: Current): Promise<"here" | "replaced" | "away"> {
    if (c.rotatedAway) return "away";
    const info = await c.log.stat();
    let atPath: Deno.FileInfo | null = null;
    try {
      atPath = await Deno.stat(this.path);
    } catch {
      atPath = null;
    }
    if (atPath && atPath.ino === info.ino && atPath.dev === info.dev) {
      if (c.identity.headLength < HEAD_BYTES && info.size > c.identity.headLength) {
        await this.#retake(c, c.identity);
      }
      return "here";
    }
    // Replaced by a copy of itself: the file read so far was unlinked (mv over it, sed -i).
    if (atPath && info.nlink === 0 && await this.#replacedBy(c)) return "replaced";
    c.rotatedAway = true;
    if (!atPath && !this.#waitingLogged) {
      this.#emit({ kind: info.nlink === 0 ? "removed" : "renamed" });
      this.#waitingLogged = true;
      this.#missingSince = this.#missingSaidAt = Date.now();
    }
    return "away";
  }

  /** Whether the file now at the path is a copy of the text being read (then it is read instead). */
  async #replacedBy(c: Current): Promise<boolean> {
    const next = await this.#openPath();
    if (!next) return false;
    const offset = c.scanner.position;
    const before = await this.#tailHash(c);
    if (!await sameContent(next, c.identity, { offset, before }) || await next.size() < offset) {
      next.close();
      return false;
    }
    this.#emit({ kind: "replaced", generation: this.generations.current!, offset });
    c.log.close();
    await this.#adopt(next, this.generations.current!, offset, false, c.identity);
    return true;
  }

  async #rotatedAfter(
    since: number,
    exclude: ReadText[],
    tiedAfter?: string,
  ): Promise<LogFile[]> {
    const { files, unreadable } = await rotatedAfter(
      this.path,
      this.#rotatedGlobs,
      since,
      exclude,
      (name, wait) => this.#openWaiting(name, wait),
      tiedAfter,
    );
    for (const file of unreadable) {
      if (this.#reported.has(file.name)) continue;
      this.#reported.add(file.name);
      this.#emit({
        kind: "unreadableRotated",
        file,
        reason: file.compression ? `compressed with ${file.compression}` : "not whole",
      });
    }
    return files;
  }

  get #rotatedGlobs(): string[] {
    return this.#options.rotated ?? defaultRotatedGlobs(this.path);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
