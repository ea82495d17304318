/**
 * Storing batches in CouchDB (SPEC §3) so that nothing is lost and nothing doubled: the conflict
 * protocol. Every batch has deterministic ids, and a conflict means "already stored": the stored
 * document says how far it reaches, and only what it does not cover is pushed. A stored document
 * of another file means the generation number was reused (a lost cache file): the batch moves to
 * a generation the database does not hold yet, and no data is skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spysocketFormat } from "../format/line_format.ts";
 * import { CouchClient } from "./couchdb.ts";
 * import type { Batch } from "./batch.ts";
 * import { BatchStore, type StoreOptions } from "./store.ts";
 * const server = Deno.env.get("COUCHDB_URL") ?? "http://admin:secret@127.0.0.1:5984";
 * const url = `${server}/lc_example_${Date.now()}`;
 * const db = new CouchClient({ url, retryForMs: 10_000 });
 * await db.ensureDatabase();
 * const line = "07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On\n";
 * const batch: Batch = {
 *   source: { id: "avl1", host: "h", path: "/var/log/spysocket.log", file: { id: "0123456789abcdef" } },
 *   generation: 0,
 *   start: 0,
 *   end: line.length,
 *   data: new TextEncoder().encode(line),
 *   oversized: null,
 *   readAt: new Date(),
 * };
 * const options: StoreOptions = { mode: "feed", format: spysocketFormat({ columns: "classic", year: 2012 }) };
 * assert.equal((await new BatchStore(db, options).store(batch)).end, line.length);
 * // Sent again by a new process (a retry after a crash): what CouchDB holds is read, and the
 * // batch is found stored already; nothing is stored twice.
 * const again = await new BatchStore(new CouchClient({ url }), options).store(batch);
 * assert.deepEqual([again.end, again.skippedBytes], [line.length, line.length]);
 * await db.request("DELETE", "");
 * ```
 * @module
 */
import { type Batch, batchFrom, feedDocId, idPrefix, recordDocId } from "./batch.ts";
import type { DocumentStore } from "./couchdb.ts";
import { CouchUnavailable } from "./couch_http.ts";
import type { FeedWay, FeedWayChoice } from "./multipart_choice.ts";
import { ByteWriter } from "../base/bytes.ts";
import { feedDocument, feedDocumentParts, isRecordId, recordDocuments } from "./documents.ts";
import type { LineFormat } from "../format/line_format.ts";
import type { RejectedLine } from "../format/reports.ts";
import { PermanentError } from "../base/errors.ts";
import { type FileRef, sameFile } from "../source/identity.ts";
import { FileGenerations } from "./stored_generations.ts";
import type { Gzip } from "./gzip.ts";

/** One document per batch (`feed`) or one per line (`records`). */
export type StoreMode = "feed" | "records";

/** Every accepted `--mode` value. */
export const STORE_MODES: readonly StoreMode[] = ["feed", "records"];

/** How batches are stored. */
export interface StoreOptions {
  /** Feed documents or records. */
  mode: StoreMode;
  /** What a line becomes: CSV rows, or a document's members. */
  format: LineFormat;
  /**
   * The batches come from extracts (the monitor): their file id, not the generation number in
   * their name, says which file they are (a capture that lost its cache file numbers again from
   * 0).
   */
  fromExtracts?: boolean;
  /**
   * Feed documents in one `multipart/related` request, their attachments gzip-encoded by us with
   * `gzip` (`null`: plain), for a server that takes it (Apache CouchDB), when `choice` says so
   * (a cluster: while healthy); absent: JSON with base64 attachments, which every CouchDB API
   * server takes.
   */
  feedAttachments?: { gzip: Gzip | null; choice: FeedWayChoice };
}

/** What storing a batch did. */
export interface StoreResult {
  /** The generation the batch was stored under (moves on when the number was taken). */
  generation: number;
  /** Where the next batch starts: the batch's end, or further when an earlier run stored more. */
  end: number;
  /** Rows (feed mode) or documents (records mode) stored. */
  rows: number;
  /** The lines that did not parse, stored as rejected. */
  rejected: RejectedLine[];
  /** Bytes of the batch that an earlier run had stored already. */
  skippedBytes: number;
  /** Conflicts met and resolved by reading what CouchDB holds. */
  conflicts: number;
}

/** A feed document as stored, without its attachments. */
interface StoredFeed {
  source?: { end?: number; file?: FileRef };
}

// A JSON body is sent while the next batch is made, so each batch in flight takes one from the pool
// and gives it back when stored: no batch makes large strings for the garbage collector.
const feedBodies: ByteWriter[] = [];

/**
 * Stores batches in one database, and keeps what this process learnt of it (where the last feed
 * document of each generation ends, which generation each file is), so that the normal path costs
 * no extra request. See the module example.
 */
export class BatchStore {
  readonly #db: DocumentStore;
  readonly #options: StoreOptions;
  readonly #generations: FileGenerations;
  readonly #feedEnds = new Map<string, { end: number; file: FileRef }>();

  /** A store that knows nothing yet of `db` (a new process, or a database created again). */
  constructor(db: DocumentStore, options: StoreOptions) {
    this.#db = db;
    this.#options = options;
    this.#generations = new FileGenerations(db);
  }

  /**
   * Stores one batch and says where capture continues. Conflicts are resolved by reading what
   * CouchDB holds; any other per-document error throws, so nothing unstored is counted as stored.
   * `turn`, when given, settles once the batch before this one (of the same file) is stored: this
   * one is made meanwhile, but sent only then, since a conflict may show that more is stored than
   * the batch before covered (an earlier run cut its batches elsewhere).
   */
  async store(batch: Batch, turn?: Promise<unknown>): Promise<StoreResult> {
    return this.#options.mode === "feed"
      ? await this.#storeFeed(batch, turn)
      : await this.#storeRecords(batch);
  }

  /** The batch under the generation its file goes under: by file id for extracts, else as moved. */
  async #placed(batch: Batch): Promise<Batch> {
    return this.#options.fromExtracts
      ? await this.#generations.byFileId(batch)
      : this.#generations.known(batch);
  }

  #remember(batch: Batch, end: number, file: FileRef): void {
    this.#feedEnds.set(generationKey(batch), { end, file });
  }

  async #storeFeed(batch: Batch, turn: Promise<unknown> | undefined): Promise<StoreResult> {
    let current = await this.#placed(batch);
    let before = turn;
    let conflicts = 0;
    let skippedBytes = 0;
    const done = (end: number, rows = 0, rejected: RejectedLine[] = []): StoreResult => ({
      generation: current.generation,
      end,
      rows,
      rejected,
      skippedBytes,
      conflicts,
    });
    /** Cuts what is stored up to `end` off the batch: false when nothing of it is left. */
    const storedUpTo = (end: number): boolean => {
      if (end >= current.end) {
        skippedBytes += current.end - current.start;
        return false;
      }
      skippedBytes += end - current.start;
      current = batchFrom(current, end);
      return true;
    };
    for (;;) {
      // The batch may start inside a stored document (an extract replayed or overlapping, or a
      // cache file set back): what that covers is stored, and only the rest is pushed. Off the
      // contiguous path only, so once per generation and process on capture's own batches.
      const covering = before ? null : await this.#coveringFeed(current);
      if (covering && !sameFile(covering.file, current.source.file)) {
        current = {
          ...current,
          generation: await this.#generations.moveToFileGeneration(batch, current),
        };
        continue;
      }
      if (covering) {
        this.#remember(current, covering.end, covering.file);
        if (!storedUpTo(covering.end)) return done(covering.end);
      }
      const id = feedDocId(current.source.id, current.generation, current.start);
      const parts = this.#options.feedAttachments;
      const way: FeedWay = parts ? await parts.choice.next() : { multipart: false };
      const body = way.multipart ? null : feedBodies.pop() ?? new ByteWriter(1 << 20);
      let outcome: "created" | "conflict";
      let doc: { rows: number; rejected: RejectedLine[] };
      try {
        const made = parts && way.multipart
          ? feedDocumentParts(current, this.#options.format, parts.gzip)
          : feedDocument(current, this.#options.format, body!);
        if (before) {
          await before;
          before = undefined;
          // Where the batch before ends now; the usual case is where this one starts.
          const known = this.#feedEnds.get(generationKey(current));
          if (!known || known.end !== current.start) continue; // look again, from the top
        }
        outcome = "attachments" in made
          ? await this.#db.putDocumentMultipart(
            id,
            made.json,
            made.attachments as Uint8Array[],
            way.multipart ? way.boundMs : undefined,
          )
          : await this.#db.putDocumentJson(id, made.json);
        doc = made;
      } catch (error) {
        // A cluster that held a multipart PUT past its bound (a node went down): the document goes
        // again as JSON. Had the first landed after all, the look at what is stored at the top of
        // the loop finds it (or the JSON PUT meets a conflict, resolved below).
        if (!way.multipart || way.boundMs === undefined || !(error instanceof CouchUnavailable)) {
          throw error;
        }
        parts!.choice.unanswered();
        continue;
      } finally {
        if (body) feedBodies.push(body);
      }
      if (outcome === "created") {
        this.#remember(current, current.end, current.source.file);
        return done(current.end, doc.rows, doc.rejected);
      }
      conflicts++;
      const stored = await this.#db.getDocument<StoredFeed>(id);
      const file = stored?.source?.file;
      const end = stored?.source?.end;
      if (!stored || !file || typeof end !== "number") {
        throw new PermanentError(
          `${id} in ${this.#db.url} is not a feed document of logcapture: remove it or use another --source`,
        );
      }
      if (!sameFile(file, current.source.file)) {
        current = {
          ...current,
          generation: await this.#generations.moveToFileGeneration(batch, current),
        };
        continue;
      }
      this.#remember(current, end, file);
      if (!storedUpTo(end)) return done(end);
    }
  }

  /**
   * The stored feed document that covers the batch's first byte (starts at or before it and ends
   * after it), or `null`. Read from CouchDB unless the batch starts right where the last document
   * this process knows of ends: the normal path of a contiguous chain.
   */
  async #coveringFeed(batch: Batch): Promise<{ end: number; file: FileRef } | null> {
    const known = this.#feedEnds.get(generationKey(batch));
    if (known && known.end === batch.start) return null;
    const prefix = idPrefix("feed", batch.source.id, batch.generation);
    const [row] = await this.#db.allDocs<StoredFeed>({
      startkey: feedDocId(batch.source.id, batch.generation, batch.start),
      endkey: prefix,
      descending: true,
      limit: 1,
      includeDocs: true,
    });
    const source = row?.doc?.source;
    if (!source?.file || typeof source.end !== "number" || source.end <= batch.start) return null;
    return { end: source.end, file: source.file };
  }

  async #storeRecords(batch: Batch): Promise<StoreResult> {
    const placed = (await this.#placed(batch)).generation;
    const current = { ...batch, generation: await this.#generations.claim(batch, placed) };
    const docs = recordDocuments(current, this.#options.format);
    const results = await this.#db.bulkDocs(docs.body);
    const stored: StoreResult = {
      generation: current.generation,
      end: current.end,
      rows: 0,
      rejected: [],
      skippedBytes: 0,
      conflicts: 0,
    };
    const count = docs.offsets.length;
    // CouchDB answers in the order of the request; the ids are checked all the same.
    const inOrder = results.length === count &&
      results.every((r, i) => isRecordId(r.id, docs.idPrefix, docs.offsets[i]));
    const byId = inOrder ? null : new Map(results.map((r) => [r.id, r]));
    for (let i = 0; i < count; i++) {
      const result = byId
        ? byId.get(recordDocId(current.source.id, current.generation, docs.offsets[i]))
        : results[i];
      if (!result) {
        const id = recordDocId(current.source.id, current.generation, docs.offsets[i]);
        throw new Error(`CouchDB at ${this.#db.server} said nothing of ${id}`);
      }
      if (result.outcome === "error") {
        throw new Error(
          `CouchDB at ${this.#db.server} did not store ${result.id}: ${result.error} ${result.reason}`,
        );
      }
      // The generation is this file's (its gen: document says so): a conflict is a line already stored.
      if (result.outcome === "conflict") {
        stored.conflicts++;
        stored.skippedBytes += docs.ends[i] - docs.offsets[i];
        continue;
      }
      const rejected = docs.rejected.get(i);
      if (rejected) stored.rejected.push(rejected);
      else stored.rows++;
    }
    return stored;
  }
}

function generationKey(batch: Batch): string {
  return `${batch.source.id}:${batch.generation}`;
}
