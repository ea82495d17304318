/**
 * Moves the cache file to acknowledged positions. A position can be written at once (`commit`),
 * or acknowledged (`acknowledge`), in which case it is written at most once a second while
 * batches follow one another and the rest wait for `flush`. Each write is a file and a folder
 * fsync'd: one per batch came to 200 per million lines, about 0.09 CPU-s. The cache file is a hint
 * (CouchDB is the truth). A capture killed between two writes meets, on its next start, conflicts
 * for the batches after the last write, and resolves them by reading what CouchDB holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CacheFile, readCheckpoint } from "../source/checkpoint.ts";
 * import { CacheWriter } from "./cache_writer.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/avl1.cache.json`;
 * const cache = new CacheFile(path, { path: "/var/log/spysocket.log", source: "avl1" }, null);
 * const file = { dev: 1, ino: 2, head: "ab", headLength: 1024 };
 * const log = { beforeHash: () => Promise.resolve("h"), fileSize: () => Promise.resolve(9000) };
 * const writer = new CacheWriter(cache, log, 60_000); // at most once a minute, for the example
 * assert.equal(await writer.acknowledge({ generation: 0, offset: 100, file }), true); // the first
 * assert.equal(await writer.acknowledge({ generation: 0, offset: 200, file }), false); // kept
 * assert.equal((await readCheckpoint(path))?.offset, 100);
 * await writer.flush();
 * assert.equal((await readCheckpoint(path))?.offset, 200);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { CacheFile } from "../source/checkpoint.ts";
import type { FileIdentity } from "../source/identity.ts";

/** How often, at most, acknowledged positions are written while batches follow one another. */
export const WRITE_EVERY_MS = 1000;

/** A position of the log, and the hash of the bytes before it when the caller has them. */
export interface AcknowledgedPosition {
  /** The generation of the file. */
  generation: number;
  /** The first byte not yet captured. */
  offset: number;
  /** The file. */
  file: FileIdentity;
  /** The hash of the bytes before `offset`; read from the file when absent. */
  before?: string;
}

/** What the writer asks of the log: the hash of the bytes before a position, and its size. */
export interface LogForCache {
  /** The hash of the bytes before `offset` in `file`. */
  beforeHash(file: FileIdentity, offset: number): Promise<string | undefined>;
  /** The size of the file being read. */
  fileSize(): Promise<number>;
}

/** The writer of one cache file; see the module doc. */
export class CacheWriter {
  /** The cache file written. */
  readonly cache: CacheFile;
  readonly #log: LogForCache;
  readonly #everyMs: number;
  #pending: AcknowledgedPosition | null = null;
  #writtenAt = -Infinity;

  /** A writer of `cache`, for the log `log`, writing acknowledged positions at most every `everyMs`. */
  constructor(cache: CacheFile, log: LogForCache, everyMs: number = WRITE_EVERY_MS) {
    this.cache = cache;
    this.#log = log;
    this.#everyMs = everyMs;
  }

  /** Writes `position` now. */
  async commit(position: AcknowledgedPosition): Promise<void> {
    this.#pending = null;
    const { generation, offset, file } = position;
    const before = position.before ?? await this.#log.beforeHash(file, offset);
    await this.cache.commit({ generation, offset, file, before }, await this.#log.fileSize());
    this.#writtenAt = Date.now();
  }

  /**
   * Takes an acknowledged position: written now (true) when the last write is `everyMs` old (a
   * second, by default) or the generation is another, else kept for the next write or `flush`.
   */
  async acknowledge(position: AcknowledgedPosition): Promise<boolean> {
    this.#pending = position;
    const due = Date.now() - this.#writtenAt >= this.#everyMs ||
      this.cache.current?.generation !== position.generation;
    if (due) await this.commit(position);
    return due;
  }

  /** Writes the position acknowledged last, if it is not written yet. */
  async flush(): Promise<void> {
    if (this.#pending) await this.commit(this.#pending);
  }
}
