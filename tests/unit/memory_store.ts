/**
 * An in-memory stand-in of {@linkcode DocumentStore}, the small client interface `store.ts` uses:
 * new documents only (a second write of an id is a conflict, never an overwrite), reads by id and
 * by id range in `_all_docs` order. For unit tests of the store's logic; the real server is tested
 * through `tests/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryStore } from "./memory_store.ts";
 * const db = new MemoryStore();
 * assert.equal(await db.putDocument({ _id: "a" }), "created");
 * assert.equal(await db.putDocument({ _id: "a" }), "conflict");
 * ```
 * @module
 */
import type {
  AllDocsOptions,
  AllDocsRow,
  BulkResult,
  Doc,
  DocumentStore,
} from "../../lib/sink/couchdb.ts";

const utf8 = new TextDecoder();

/** Documents by id, in memory; `fail` makes the next writes throw, as a server that goes away. */
export class MemoryStore implements DocumentStore {
  readonly url = "memory://test/db";
  readonly server = "memory://test";
  readonly docs = new Map<string, Doc>();
  /** Writes that were refused as conflicts. */
  conflicts = 0;
  /** Throws on the next this many writes (a transient fault), after storing when `afterStore`. */
  fail = 0;
  /** Whether a failing write is stored before it throws: a lost acknowledgement. */
  afterStore = false;

  #write(doc: Doc): "created" | "conflict" {
    if (this.docs.has(doc._id)) {
      this.conflicts++;
      if (this.fail > 0) this.#fault();
      return "conflict";
    }
    if (this.fail > 0 && !this.afterStore) this.#fault();
    this.docs.set(doc._id, structuredClone(doc));
    if (this.fail > 0) this.#fault();
    return "created";
  }

  #fault(): never {
    this.fail--;
    throw new Error("memory store: connection reset (injected)");
  }

  getDocument<T = Doc>(id: string): Promise<T | null> {
    const doc = this.docs.get(id);
    return Promise.resolve(doc ? structuredClone(doc) as T : null);
  }

  putDocument(doc: Doc): Promise<"created" | "conflict"> {
    return Promise.resolve().then(() => this.#write(doc));
  }

  putDocumentJson(id: string, json: string | Uint8Array): Promise<"created" | "conflict"> {
    const doc = JSON.parse(typeof json === "string" ? json : utf8.decode(json));
    return this.putDocument({ ...doc, _id: id });
  }

  putDocumentMultipart(
    id: string,
    json: Uint8Array,
    _attachments: Uint8Array[],
  ): Promise<"created" | "conflict"> {
    return this.putDocumentJson(id, json);
  }

  bulkDocs(docs: Doc[] | string | Uint8Array): Promise<BulkResult[]> {
    return Promise.resolve().then(() => {
      const list: Doc[] = Array.isArray(docs)
        ? docs
        : JSON.parse(typeof docs === "string" ? docs : utf8.decode(docs)).docs;
      return list.map((doc): BulkResult =>
        this.#write(doc) === "created"
          ? { id: doc._id, outcome: "created", rev: "1-x" }
          : { id: doc._id, outcome: "conflict" }
      );
    });
  }

  allDocs<T = Doc>(options: AllDocsOptions): Promise<AllDocsRow<T>[]> {
    let ids = [...this.docs.keys()].sort();
    const [low, high] = options.descending
      ? [options.endkey, options.startkey]
      : [options.startkey, options.endkey];
    ids = ids.filter((id) =>
      (low === undefined || id >= low) && (high === undefined || id <= high)
    );
    if (options.descending) ids.reverse();
    if (options.limit !== undefined) ids = ids.slice(0, options.limit);
    return Promise.resolve(ids.map((id) => ({
      id,
      ...(options.includeDocs ? { doc: structuredClone(this.docs.get(id)) as T } : {}),
    })));
  }
}
