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
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { type FileIdentity, sameIdentity } from "./identity.ts";
import type { ScanItem } from "./lines.ts";
import type { LogFile } from "./log_file.ts";
import { Generations } from "./generations.ts";
import { LogPath, NextFiles } from "./log_path.ts";
import { ReadingFile } from "./reading_file.ts";
import type { TailEvent } from "./tail_events.ts";
import { openAtStart, type TailStart } from "./tail_start.ts";

export type { TailEvent } from "./tail_events.ts";
export type { TailStart } from "./tail_start.ts";

/** Tailer settings. */
export interface TailerOptions {
  /** The log. */
  path: string;
  /** The longest line returned whole. */
  maxLineBytes: number;
  /** The read buffer. */
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

/** Lines read, with the generation and file they belong to. */
export interface TailRead {
  /** The generation of the file they are from. */
  generation: number;
  /** That file. */
  file: FileIdentity;
  /** The lines, or an over-long line. */
  item: ScanItem;
}

/**
 * Follows one log path: the file being read (a {@linkcode ReadingFile}), the files to read after
 * it, and the generation numbers. See the module example.
 */
export class Tailer {
  /** The log. */
  readonly path: string;
  /** The generation numbers: the current file's, and the next file's. */
  readonly generations: Generations;
  readonly #options: TailerOptions;
  readonly #emit: (event: TailEvent) => void;
  readonly #logPath: LogPath;
  #current: ReadingFile | null = null;
  readonly #nextFiles: NextFiles;
  #settling = false;

  /** A tailer of `options.path`; nothing is opened until {@linkcode Tailer.start}. */
  constructor(options: TailerOptions) {
    this.path = options.path;
    this.#options = options;
    this.#emit = options.events;
    this.generations = options.generations ?? new Generations();
    this.#logPath = new LogPath({ ...options, emit: options.events });
    this.#nextFiles = new NextFiles(this.#logPath);
  }

  /** The generation and file being read, and the offset of the first line not yet returned. */
  get position(): { generation: number; offset: number; file: FileIdentity } | null {
    const c = this.#current;
    const generation = this.generations.current;
    return c && generation !== null ? { generation, offset: c.position, file: c.identity } : null;
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
    return c ? Math.max(0, await this.fileSize() - c.position) : 0;
  }

  /** The size of the text of the files rotated after the current one and waiting to be read. */
  queuedBytes(): Promise<number> {
    return this.#nextFiles.queuedBytes();
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
    return c && sameIdentity(c.identity, identity) ? await c.beforeHashAt(offset) : undefined;
  }

  /**
   * Opens the log at `start` (see `tail_start.ts`): the file the position was taken in is found by
   * its text, at the path or among the rotated files, or said to be lost.
   */
  async start(start: TailStart, seenSize = start.offset): Promise<void> {
    const adopt = this.#adopt.bind(this);
    const follow = (files: LogFile[]) => this.#nextFiles.follow(files);
    const { generations } = this;
    await openAtStart(
      { logPath: this.#logPath, generations, emit: this.#emit, adopt, follow },
      start,
      seenSize,
    );
  }

  /**
   * Goes on from `offset` of the file being read, dropping what was buffered: CouchDB holds this
   * file up to there (an earlier run stored more than this one has read, or cut it elsewhere).
   * Only the current file moves; false when `identity` is not the file being read.
   */
  async resumeAt(identity: FileIdentity, offset: number): Promise<boolean> {
    const c = this.#current;
    if (!c || !sameIdentity(c.identity, identity)) return false;
    await c.seekTo(offset);
    return true;
  }

  /** The next lines available now, or `null` when caught up (or the log does not exist yet). */
  async read(): Promise<TailRead | null> {
    for (;;) {
      const c = this.#current;
      if (!c) {
        const opened = await this.#logPath.open();
        if (!opened) return null;
        const generation = this.generations.following();
        this.#emit({ kind: "appeared", generation });
        await this.#adopt(opened, generation, 0, false);
        continue;
      }
      // Before every read: does the file still hold the text read so far? (copytruncate, or a
      // rewrite in place, perhaps grown past the old offset since.)
      if (!await c.holdsWhatWasRead()) {
        await this.#rewritten(c);
        continue;
      }
      const item = await c.next((file, reason) =>
        this.#emit({ kind: "unreadableRotated", file, reason })
      );
      if (item) {
        this.#settling = false;
        // After an over-long line, what comes before the position is not at hand: not checked.
        if (item.kind === "lines") c.noteTail(item.bytes);
        else c.tail = new Uint8Array(0);
        // Lines are out, so the first line is whole: the file id (extract names) can be had now.
        if (!c.identity.id) await c.retake(c.identity);
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
      if (!await this.#goToNext(c)) return null;
    }
  }

  /** Waits for a filesystem event in the log's folder, the next poll, or `ms`, whichever is first. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    await this.#logPath.wait(ms, signal);
  }

  /** Takes no filesystem events until the next `wait` (the caller sleeps to a deadline of its own). */
  pauseWatch(): void {
    this.#logPath.pauseWatch();
  }

  /** Stops watching and closes the file. */
  close(): void {
    this.#logPath.close();
    this.#nextFiles.close();
    this.#current?.log.close();
    this.#current = null;
  }

  async #adopt(
    log: LogFile,
    generation: number,
    offset: number,
    rotatedAway: boolean,
    known?: FileIdentity,
  ): Promise<void> {
    this.#current = await ReadingFile.open(log, offset, rotatedAway, known, this.#options);
    this.generations.assign(generation);
  }

  /** A finished file that left the path: the next one is read. False while there is none. */
  async #goToNext(c: ReadingFile): Promise<boolean> {
    const generation = this.generations.following();
    const next = await this.#nextFiles.after(c);
    if (!next) return false;
    c.log.close();
    if (!next.rotatedAway) this.#current = null;
    this.#emit({ kind: "next", name: next.log.name, generation });
    await this.#adopt(next.log, generation, 0, next.rotatedAway);
    return true;
  }

  /**
   * The file being read no longer holds what was read (copytruncate, or rewritten in place). A
   * rotated copy of it (what copytruncate leaves) holds the lines not yet read: they are read from
   * there first. Then the file at the path is a new generation from its start.
   */
  async #rewritten(c: ReadingFile): Promise<void> {
    const { position: offset, log } = c, generation = this.generations.current!;
    const { copy, unreadable } = await this.#logPath.copyLeftBy(c);
    if (copy) {
      this.#emit({ kind: "copied", name: log.name, copy: copy.name, generation, offset });
      await this.#adopt(copy, generation, offset, true, c.identity);
      // Its writer writes to the truncated file, not to the copy: no wait for it to be quiet.
      this.#current!.grewAt = 0;
      // The truncated file is the next generation: it is opened again from the path when its turn
      // comes (or found among the rotated files, if it was rotated meanwhile).
      log.close();
      return;
    }
    const bytes = c.size - offset, next = this.generations.following();
    if (bytes > 0) {
      const at = { generation, offset, bytes, size: c.size, next };
      this.#logPath.lost("truncated", at, false, unreadable);
    }
    // copytruncate, or rewritten in place: a new generation from its start.
    this.#emit({
      kind: "truncated",
      whileStopped: false,
      generation: this.generations.assign(next),
    });
    await c.restart();
  }

  /**
   * At the end of the file: is it still the file at the path ("here"), was the path given a copy of
   * it ("replaced", now read instead), or has it left the path ("away")?
   */
  async #whereIsIt(c: ReadingFile): Promise<"here" | "replaced" | "away"> {
    if (c.rotatedAway) return "away";
    const place = await c.placeAt(this.path);
    if (place === "here") return "here";
    // Replaced by a copy of itself: the file read so far was unlinked (mv over it, sed -i).
    if (place === "unlinked, path taken" && await this.#replacedBy(c)) return "replaced";
    c.rotatedAway = true;
    if (!place.endsWith("path taken")) this.#logPath.left(place === "unlinked");
    return "away";
  }

  /** Whether the file now at the path is a copy of the text being read (then it is read instead). */
  async #replacedBy(c: ReadingFile): Promise<boolean> {
    const copy = await this.#logPath.copyOf(c);
    if (!copy) return false;
    this.#emit({
      kind: "replaced",
      generation: this.generations.current!,
      offset: c.position,
    });
    c.log.close();
    await this.#adopt(copy, this.generations.current!, c.position, false, c.identity);
    return true;
  }
}
