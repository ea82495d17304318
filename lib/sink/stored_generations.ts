/**
 * Which file each generation number of a source is, as CouchDB says (CouchDB is the source of
 * truth; a cache file is a hint): the numbers the database holds, the file a number holds, the
 * number a file goes under, and, in {@linkcode FileGenerations}, what one process learnt of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileGenerations } from "./stored_generations.ts";
 * const ids = ["feed:a:0:0000000000000000"];
 * const db = {
 *   url: "memory",
 *   allDocs: ({ startkey = "", endkey = "\ufff0", limit = Infinity }) =>
 *     Promise.resolve(ids.filter((id) => id >= startkey && id <= endkey).sort().slice(0, limit).map((id) => ({ id, doc: { source: { file: { id: "aaaaaaaaaaaaaaaa" } } } as never }))),
 *   getDocument: () => Promise.resolve(null),
 * };
 * const generations = new FileGenerations(db);
 * const batch = { source: { id: "a", host: "h", file: { id: "bbbbbbbbbbbbbbbb" } }, generation: 0 };
 * // Generation 0 holds another file: this one moves past every number the database holds.
 * assert.equal(await generations.moveToFileGeneration(batch, batch), 1);
 * assert.equal(generations.known(batch).generation, 1);
 * ```
 * @module
 */
import { type Batch, generationDocId, idPrefix } from "./batch.ts";
import type { DocumentStore } from "./couchdb.ts";
import { generationDocument } from "./documents.ts";
import { PermanentError } from "../base/errors.ts";
import { type FileRef, sameFile } from "../source/identity.ts";

/** What reading generations needs of a database. */
export type DocumentReader = Pick<DocumentStore, "allDocs" | "getDocument">;

/** The document that says which file a generation is (records mode). */
interface StoredGeneration {
  source?: { file?: FileRef };
}

/** A feed document as stored, without its attachments. */
interface StoredFeed {
  source?: { end?: number; file?: FileRef };
}

/** A batch as far as its generation goes: which source and file, under which number. */
export type GenerationOf = Pick<Batch, "generation"> & {
  source: Pick<Batch["source"], "id" | "file">;
};

/**
 * What this process learnt of the generations of a database, so that the normal path costs no
 * extra request: which generation a file was moved to when its own number was taken by another
 * file, and the generations claimed (records mode: their `gen:` document says they are this file).
 * Batches cut before a move still carry the old number: they are stored under the new one.
 */
export class FileGenerations {
  readonly #db: DocumentReader & Partial<Pick<DocumentStore, "putDocument" | "url">>;
  readonly #moved = new Map<string, number>();
  readonly #claimed = new Map<string, FileRef>();

  /** Nothing learnt yet of `db`. */
  constructor(db: DocumentReader & Partial<Pick<DocumentStore, "putDocument" | "url">>) {
    this.#db = db;
  }

  /** The batch under the generation its file was moved to earlier in this process, if it was. */
  known<T extends GenerationOf>(batch: T): T {
    const generation = this.#moved.get(movedKey(batch));
    return generation === undefined ? batch : { ...batch, generation };
  }

  /**
   * An extract's batch under the generation that holds its file id already, if one does: found
   * once per source, generation and file in this process, then remembered. Every generation the
   * database holds is looked at: one whose file vanished unstored, or an empty rotation, leaves a
   * gap.
   */
  async byFileId<T extends GenerationOf>(batch: T): Promise<T> {
    const key = movedKey(batch);
    const id = batch.source.file.id;
    if (id && !this.#moved.has(key)) {
      let holding = batch.generation;
      for (const generation of await storedGenerations(this.#db, batch.source.id)) {
        const held = await generationFile(this.#db, batch.source.id, generation);
        if (held !== null && held !== "unknown" && held.id === id) {
          holding = generation;
          break;
        }
      }
      this.#moved.set(key, holding);
    }
    return this.known(batch);
  }

  /**
   * The generation `current` (a form of `batch`) goes under now that its own number is another
   * file's: the generation of its file, or a free one, remembered for the batch's file.
   */
  async moveToFileGeneration(batch: GenerationOf, current: GenerationOf): Promise<number> {
    const generation = await generationFor(
      this.#db,
      current.source.id,
      current.source.file,
      current.generation + 1,
    );
    this.#moved.set(movedKey(batch), generation);
    return generation;
  }

  /**
   * The generation a records batch goes under (`batch` as {@linkcode known} or
   * {@linkcode byFileId} placed it): its own, once the `gen:` document says it is this file
   * (writing that document when it is the first batch of the generation), else the generation
   * that holds this file, or the first one CouchDB holds nothing of.
   */
  async claim(batch: Batch, placed: number): Promise<number> {
    const db = this.#db as DocumentReader & Pick<DocumentStore, "putDocument" | "url">;
    for (let generation = placed;;) {
      const key = `${batch.source.id}:${generation}`;
      const file = this.#claimed.get(key);
      if (file && sameFile(file, batch.source.file)) return generation;
      const doc = generationDocument(batch, generation);
      const id = doc._id as string;
      let stored: FileRef | undefined = batch.source.file;
      if (await db.putDocument(doc as { _id: string }) === "conflict") {
        stored = (await db.getDocument<StoredGeneration>(id))?.source?.file;
        if (!stored) {
          throw new PermanentError(
            `${id} in ${db.url} is not a generation of logcapture: remove it or use another --source`,
          );
        }
      }
      if (sameFile(stored, batch.source.file)) {
        this.#claimed.set(key, stored);
        if (generation !== batch.generation) this.#moved.set(movedKey(batch), generation);
        return generation;
      }
      generation = await generationFor(db, batch.source.id, batch.source.file, generation + 1);
    }
  }
}

function movedKey(batch: GenerationOf): string {
  const file = batch.source.file;
  const name = file.id ?? ("dev" in file ? `${file.dev}:${file.ino}` : "");
  return `${batch.source.id}:${batch.generation}:${name}`;
}

/**
 * Which file a generation of `source` holds, as its documents say (the `gen:` document, else the
 * first feed or records document), or `null` when the database holds nothing of it.
 */
export async function generationFile(
  db: DocumentReader,
  source: string,
  generation: number,
): Promise<FileRef | "unknown" | null> {
  const named = await db.getDocument<StoredGeneration>(generationDocId(source, generation));
  if (named) return named.source?.file ?? "unknown";
  for (const kind of ["feed", "rec"] as const) {
    const prefix = idPrefix(kind, source, generation);
    const [row] = await db.allDocs<StoredFeed>({
      startkey: prefix,
      endkey: prefix + "\ufff0",
      limit: 1,
      includeDocs: kind === "feed",
    });
    if (row) return row.doc?.source?.file ?? "unknown";
  }
  return null;
}

/**
 * Every generation number of `source` the database holds a document of, in ascending order. The
 * numbers have gaps (a file gone before any of it was stored, an empty rotation), so they are
 * listed, not counted up to the first unused one: one request per generation, skipping over its
 * documents by id (feed and records documents), and one for the `gen:` documents.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storedGenerations } from "./stored_generations.ts";
 * const ids = ["feed:a:0:0000000000000000", "feed:a:12:0000000000000000", "gen:a:3", "feed:b:1:0000000000000000"];
 * const db = {
 *   allDocs: ({ startkey = "", endkey = "\ufff0", limit = Infinity }) =>
 *     Promise.resolve(ids.filter((id) => id >= startkey && id <= endkey).sort().slice(0, limit).map((id) => ({ id }))),
 * };
 * assert.deepEqual(await storedGenerations(db, "a"), [0, 3, 12]);
 * ```
 */
export async function storedGenerations(
  db: Pick<DocumentStore, "allDocs">,
  source: string,
): Promise<number[]> {
  const found = new Set<number>();
  for (const kind of ["feed", "rec"] as const) {
    const prefix = idPrefix(kind, source);
    for (let from = prefix;;) {
      const [row] = await db.allDocs({ startkey: from, endkey: prefix + "\ufff0", limit: 1 });
      if (!row) break;
      const number = /^(\d+):/.exec(row.id.slice(prefix.length))?.[1];
      // A document of another shape under the prefix is stepped over.
      from = number === undefined ? row.id + "\u0000" : `${prefix}${number}:\ufff0`;
      if (number !== undefined) found.add(Number(number));
    }
  }
  const prefix = idPrefix("gen", source);
  for (const row of await db.allDocs({ startkey: prefix, endkey: prefix + "\ufff0" })) {
    const rest = row.id.slice(prefix.length);
    if (/^\d+$/.test(rest)) found.add(Number(rest));
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * The generation, from `from` on, that holds `file` already, or else a number past every one the
 * database holds (ids keep sorting in log order): one file's lines stay under one generation,
 * however often its own number was found taken.
 */
export async function generationFor(
  db: DocumentReader,
  source: string,
  file: FileRef,
  from: number,
): Promise<number> {
  const stored = await storedGenerations(db, source);
  for (const generation of stored) {
    if (generation < from) continue;
    const held = await generationFile(db, source, generation);
    if (held !== null && held !== "unknown" && sameFile(held, file)) return generation;
  }
  return Math.max(from, (stored.at(-1) ?? -1) + 1);
}
