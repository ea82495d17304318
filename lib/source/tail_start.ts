/**
 * Where the tailer opens the log when it starts at a saved position: the file the position was
 * taken in is known by its text, at the path or among the rotated files (renamed, copied by
 * copytruncate, compressed), where it is read first; when it is gone, an error line says how much
 * was lost, and the files rotated after it are still read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Generations } from "./generations.ts";
 * import { LogPath } from "./log_path.ts";
 * import { openAtStart } from "./tail_start.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/spysocket.log`, "line\n");
 * const adopted: [string, number, number][] = [];
 * await openAtStart({
 *   logPath: new LogPath({ path: `${dir}/spysocket.log`, emit: () => {} }),
 *   generations: new Generations(),
 *   emit: () => {},
 *   adopt: (log, generation, offset) => (adopted.push([log.name, generation, offset]), log.close(), Promise.resolve()),
 *   follow: () => {},
 * }, { generation: 3, offset: 0 });
 * assert.deepEqual(adopted, [[`${dir}/spysocket.log`, 3, 0]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { type FileIdentity, headMatches, readIdentity, sameContent } from "./identity.ts";
import type { Generations } from "./generations.ts";
import type { LogFile } from "./log_file.ts";
import type { LogPath } from "./log_path.ts";
import type { UnreadableRotated } from "./rotated.ts";
import type { TailEvent } from "./tail_events.ts";

/**
 * How far a file's modification time may lag the clock: the kernel stamps files from a coarse
 * clock, a tick behind (up to 10 ms), so a file written just after the cache file was saved can
 * look older than it.
 */
export const MTIME_SLACK_MS = 20;

/** Where to start: a generation, an offset, and the file it was in, when known. */
export interface TailStart {
  /** The generation of the file the offset is in. */
  generation: number;
  /** Where the first line not yet captured starts. */
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
   * The hash of the bytes before `offset` (`beforeHash`): a file with the same first bytes but
   * other text before the offset is not `file`. Absent in cache files of earlier versions.
   */
  before?: string;
  /** When the position was saved (ms): the files rotated after that, when `file` is gone. */
  savedAt?: number;
}

/** What the start search works on: the tailer, as far as starting goes. */
export interface StartTarget {
  /** The log's path and the files around it. */
  readonly logPath: LogPath;
  /** The numbering of the log's files. */
  readonly generations: Generations;
  /** Says what was met. */
  emit(event: TailEvent): void;
  /** Reads `log` from `offset` as `generation` (`known`: its identity, a file seen before). */
  adopt(
    log: LogFile,
    generation: number,
    offset: number,
    rotatedAway: boolean,
    known?: FileIdentity,
  ): Promise<void>;
  /** The files to read after the one adopted, in order. */
  follow(files: LogFile[]): void;
}

/**
 * Opens the log at `start` (`seenSize`: the file's size when the position was saved); see the
 * module doc.
 */
export async function openAtStart(
  target: StartTarget,
  start: TailStart,
  seenSize = start.offset,
): Promise<void> {
  target.logPath.watch();
  target.generations.startAt(start.generation);
  let opened = await target.logPath.open();
  // There but not readable: what it is (the same file, a new one) cannot be told yet.
  if (!opened && target.logPath.blocked) {
    opened = await target.logPath.openWaiting(target.logPath.path, true);
  }
  if (!start.file) {
    if (opened) {
      const offset = start.fromEnd ? await lastLineEnd(opened.file) : start.offset;
      await target.adopt(opened, start.generation, offset, false);
    }
    return;
  }
  await new StartSearch(target, { ...start, file: start.file }, seenSize, opened).run();
}

/** The search for a saved position's file, and what is read when it is gone. */
class StartSearch {
  readonly #target: StartTarget;
  readonly #start: TailStart & { file: FileIdentity };
  readonly #seenSize: number;
  readonly #opened: LogFile | null;
  readonly #sameInode: boolean;

  constructor(
    target: StartTarget,
    start: TailStart & { file: FileIdentity },
    seenSize: number,
    opened: LogFile | null,
  ) {
    this.#target = target;
    this.#start = start;
    this.#seenSize = seenSize;
    this.#opened = opened;
    this.#sameInode = opened?.ino === start.file.ino && opened?.dev === start.file.dev;
  }

  /**
   * Known by its text, the same inode first: the file itself at the path, or renamed; then a copy
   * of it at the path (replaced by a restore, cp and mv, sed -i); then a copy or a compressed copy
   * among the rotated files (copytruncate, compress). A file that held no whole line when last
   * seen (empty, or a partial first line) has too little text to be known by: only its inode
   * tells, and where it is still at the path, a file rotated (or copied by copytruncate) since
   * then that begins so comes first.
   */
  async run(): Promise<void> {
    const start = this.#start, opened = this.#opened, target = this.#target;
    const weak = !start.file.id;
    const at = { offset: start.offset, before: start.before };
    const holds = async (file: LogFile | null) =>
      !!file && await sameContent(file, start.file, at) && await file.size() >= start.offset;
    if (!weak && this.#sameInode && await holds(opened)) {
      return await target.adopt(opened!, start.generation, start.offset, false, start.file);
    }
    const search = (which: "renamed" | "any") => target.logPath.findRotated(start.file, at, which);
    let { found, unreadable } = await search("renamed");
    if (!found && weak && opened && start.savedAt !== undefined) {
      if (await this.#adoptSinceSaved(opened, start.savedAt)) return;
    }
    if (!found && weak && this.#sameInode && await holds(opened)) {
      return await target.adopt(opened!, start.generation, start.offset, false, start.file);
    }
    if (!found && !this.#sameInode && await holds(opened)) {
      target.emit({ kind: "replaced", generation: start.generation, offset: start.offset });
      return await target.adopt(opened!, start.generation, start.offset, false, start.file);
    }
    if (!found) ({ found, unreadable } = await search("any"));
    // The file of start.generation is not at the path: whatever is there next is a later file.
    target.generations.startAt(start.generation + 1);
    if (found) {
      target.emit({
        kind: "rotated",
        whileStopped: true,
        name: found.name,
        generation: start.generation,
        offset: start.offset,
      });
      opened?.close();
      return await target.adopt(found, start.generation, start.offset, true, start.file);
    }
    if (opened && this.#sameInode) return await this.#truncated(opened, unreadable);
    await this.#gone(unreadable);
  }

  /** Truncated or rewritten in place while stopped, and no copy of the rest anywhere. */
  async #truncated(opened: LogFile, unreadable: UnreadableRotated[]): Promise<void> {
    const start = this.#start, target = this.#target;
    const size = await opened.size();
    if (await this.#adoptLocated(opened)) return;
    if (this.#seenSize > start.offset || unreadable.length > 0) {
      target.logPath.lost(
        "truncated",
        this.#lostAt(this.#seenSize - start.offset),
        true,
        unreadable,
      );
    }
    target.emit({
      kind: "truncated",
      whileStopped: true,
      size,
      offset: start.offset,
      generation: start.generation + 1,
    });
    await target.adopt(opened, start.generation + 1, 0, false);
  }

  /** Gone: said, and the files rotated after it (since the position was saved) come first. */
  async #gone(unreadable: UnreadableRotated[]): Promise<void> {
    const start = this.#start, target = this.#target, opened = this.#opened;
    if (opened && await this.#adoptLocated(opened)) return;
    const bytes = Math.max(0, this.#seenSize - start.offset);
    target.logPath.lost("gone", this.#lostAt(bytes), true, unreadable);
    const since = (start.savedAt ?? Date.now()) - MTIME_SLACK_MS;
    const later = await target.logPath.rotatedAfter(since, []);
    const first = later.shift();
    if (first) {
      target.follow(later);
      opened?.close();
      target.emit({ kind: "next", name: first.name, generation: start.generation + 1 });
      return await target.adopt(first, start.generation + 1, 0, true);
    }
    if (opened) await target.adopt(opened, start.generation + 1, 0, false);
  }

  #lostAt(bytes: number) {
    const start = this.#start;
    return {
      generation: start.generation,
      offset: start.offset,
      bytes,
      size: this.#seenSize,
      next: start.generation + 1,
    };
  }

  /**
   * For a file known by too little text (`start.file` has no whole line): the first file rotated
   * since the position was saved that begins so is it (copytruncate's copy, say); the later ones
   * follow, then the file at the path. False when there is none.
   */
  async #adoptSinceSaved(opened: LogFile, savedAt: number): Promise<boolean> {
    const start = this.#start, target = this.#target;
    const later = await target.logPath.rotatedAfter(savedAt - MTIME_SLACK_MS, []);
    const begins = async (file: LogFile) =>
      start.file.headLength === 0 || await headMatches(file, start.file);
    let at = 0;
    while (at < later.length && !await begins(later[at])) at++;
    if (at === later.length) {
      for (const file of later) file.close();
      return false;
    }
    for (const skipped of later.splice(0, at)) skipped.close();
    const first = later.shift()!;
    target.follow(later);
    opened.close();
    // CouchDB may know that file by its own text already (a cache file set back to when it was
    // empty): then it goes on where CouchDB has it.
    const held = await start.locate?.(await readIdentity(first));
    if (held) {
      target.generations.startAt(held.generation + 1);
      target.emit({ kind: "located", holder: start.holder ?? "CouchDB", ...held });
      await target.adopt(first, held.generation, held.offset, true);
      return true;
    }
    target.generations.startAt(start.generation + 1);
    target.emit({ kind: "next", name: first.name, generation: start.generation });
    await target.adopt(first, start.generation, start.offset, true, start.file);
    return true;
  }

  /** Adopts the file at the path where `start.locate` says an earlier run left it; false if not. */
  async #adoptLocated(opened: LogFile): Promise<boolean> {
    const start = this.#start;
    if (!start.locate) return false;
    const found = await start.locate(await readIdentity(opened));
    if (!found || found.offset > await opened.size()) return false;
    this.#target.emit({
      kind: "located",
      holder: start.holder ?? "CouchDB",
      generation: found.generation,
      offset: found.offset,
    });
    await this.#target.adopt(opened, found.generation, found.offset, false);
    return true;
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
