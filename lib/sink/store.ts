/**
 * Storing batches in CouchDB (SPEC §3) so that nothing is lost and nothing doubled: every batch has
 * deterministic ids, and a conflict means "already stored": the stored document says how far it
 * reaches, and only what it does not cover is pushed. A stored document of another file means the
 * generation number was reused (a lost cache file): the batch moves to a generation the database
 * does not hold yet, and no data is skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CouchClient } from "./couchdb.ts";
 * import type { Batch } from "./batch.ts";
 * import { storeBatch } from "./store.ts";
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
 * const options = { mode: "feed" as const, columns: "classic" as const, year: 2012 };
 * assert.equal((await storeBatch(db, batch, options)).end, line.length);
 * // Sent again by a new process (a retry after a crash): what CouchDB holds is read, and the
 * // batch is found stored already; nothing is stored twice.
 * const again = await storeBatch(new CouchClient({ url }), batch, options);
 * assert.deepEqual([again.end, again.skippedBytes], [line.length, line.length]);
 * await db.request("DELETE", "");
 * ```
 * @module
 */
import {
  type Batch,
  batchFrom,
  feedDocId,
  generationDocId,
  recordDocId,
  recordIdPrefix,
  type SourceInfo,
} from "./batch.ts";
import type { DocumentStore } from "./couchdb.ts";
import { type ColumnSet, csvHeader } from "../format/csv.ts";
import { asciiBytes, ByteWriter } from "../base/bytes.ts";
import {
  formatCsv,
  oversizedRejection,
  type RejectedLine,
  writeRecords,
  writeRejectedMembers,
} from "../format/reports.ts";
import { gzipSync } from "node:zlib";
import { PermanentError } from "../base/errors.ts";
import { type FileRef, sameFile } from "../source/identity.ts";
import { type YearResolver, yearResolver } from "../parse/spysocket.ts";

/** One document per batch (`feed`) or one per line (`records`). */
export type StoreMode = "feed" | "records";

/** Every accepted `--mode` value. */
export const STORE_MODES: readonly StoreMode[] = ["feed", "records"];

/**
 * Batches stored at once, in either mode: a later batch stored before an earlier one leaves a gap
 * only within the last this many batches, which {@linkcode findStoredPosition} looks back over,
 * and the cache file moves only over the contiguous acknowledged prefix.
 */
export const BATCHES_IN_FLIGHT = 2;

/** How batches are stored. */
export interface StoreOptions {
  mode: StoreMode;
  columns: ColumnSet;
  /** A fixed year for every report; otherwise inferred from the batch's read time. */
  year?: number;
  /**
   * The batches come from extracts (the monitor): their file id, not the generation number in
   * their name, says which file they are (a capture that lost its cache file numbers again from
   * 0).
   */
  fromExtracts?: boolean;
  /**
   * Feed documents in one `multipart/related` request, their attachments gzip-encoded by us at
   * this level (0: plain), for a server that takes it (Apache CouchDB); absent: JSON with base64
   * attachments, which every CouchDB API server takes.
   */
  feedAttachments?: { gzipLevel: number };
}

/** What storing a batch did. */
export interface StoreResult {
  /** The generation the batch was stored under (moves on when the number was taken). */
  generation: number;
  /** Where the next batch starts: the batch's end, or further when an earlier run stored more. */
  end: number;
  rows: number;
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

/** A records-mode document as stored. */
interface StoredRecord {
  batch_start?: number;
}

/** The document that says which file a generation is (records mode). */
interface StoredGeneration {
  source?: { file?: FileRef };
}

function years(batch: Batch, options: StoreOptions): YearResolver {
  return yearResolver(options.year ? { year: options.year } : { reference: batch.readAt });
}

/** The current time as in SPEC §3: UTC, ISO 8601, to the second. */
export function timestamp(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function joinLines(lines: RejectedLine[]): Uint8Array {
  const out = new Uint8Array(lines.reduce((n, l) => n + l.raw.length + 1, 0));
  let at = 0;
  for (const line of lines) {
    out.set(line.raw, at);
    at += line.raw.length;
    out[at++] = 10;
  }
  return out;
}

function sourceFields(source: SourceInfo, generation: number): Record<string, unknown> {
  return {
    id: source.id,
    host: source.host,
    ...(source.path !== undefined ? { path: source.path } : {}),
    ...(source.extract !== undefined ? { extract: source.extract } : {}),
    generation,
  };
}

// Buffers reused from batch to batch, so that no batch makes large strings for the garbage
// collector: the CSV is written and then encoded at once (gzip or base64, no wait between), so
// one serves all; a JSON body is sent while the next batch is made, so each batch in flight takes
// one from the pool and gives it back when stored.
const csvOut = new ByteWriter(1 << 20);
const feedBodies: ByteWriter[] = [];

/**
 * The feed document of a batch, as JSON bytes written into `feedOut` (valid until it is written
 * again): the CSV attachment, and the rejected lines when any. The CSV is written as bytes and
 * base64-encoded straight into the document.
 */
export function feedDocument(
  batch: Batch,
  columns: ColumnSet,
  resolver: YearResolver,
  feedOut: ByteWriter = new ByteWriter(1 << 20),
): { json: Uint8Array; rows: number; rejected: RejectedLine[] } {
  const { doc, rows, rejected } = feedContent(batch, columns, resolver);
  feedOut.clear();
  feedOut.utf8(JSON.stringify(doc).slice(0, -1));
  feedOut.ascii(',"_attachments":{"feed":{"content_type":"text/csv","data":"');
  feedOut.base64(csvOut.bytes());
  feedOut.ascii('"}');
  if (rejected.length > 0) {
    feedOut.ascii(',"rejected":{"content_type":"text/plain","data":"');
    feedOut.base64(joinLines(rejected));
    feedOut.ascii('"}');
  }
  feedOut.ascii("}}");
  return { json: feedOut.bytes(), rows, rejected };
}

/** A feed document's fields, its CSV written into `csvOut` (valid until the next call). */
function feedContent(
  batch: Batch,
  columns: ColumnSet,
  resolver: YearResolver,
): { doc: Record<string, unknown>; rows: number; rejected: RejectedLine[] } {
  csvOut.clear();
  csvOut.ascii(csvHeader(columns));
  const formatted = batch.oversized
    ? { rows: 0, rejected: [oversizedRejection(batch.oversized)] }
    : formatCsv(batch.data, batch.start, { columns, years: resolver }, csvOut);
  const doc = {
    _id: feedDocId(batch.source.id, batch.generation, batch.start),
    doc_type: "Feed",
    status: "new",
    timestamp: timestamp(),
    source: {
      ...sourceFields(batch.source, batch.generation),
      start: batch.start,
      end: batch.end,
      file: batch.source.file,
    },
    rows: formatted.rows,
    rejected: formatted.rejected.length,
    rejected_lines: formatted.rejected.map(({ offset, reason }) => ({ offset, reason })),
  };
  return { doc, rows: formatted.rows, rejected: formatted.rejected };
}

/**
 * The feed document of a batch for a `multipart/related` request: the document with its
 * attachment stubs, and the attachments, gzip-encoded here at `gzipLevel` (0: sent plain, and the
 * server compresses them). Measured on CouchDB 3.5: most of its time went to compressing text/csv
 * attachments itself at level 8, and base64 cost a third more bytes on both sides.
 */
export function feedDocumentParts(
  batch: Batch,
  columns: ColumnSet,
  resolver: YearResolver,
  gzipLevel: number,
): { json: Uint8Array; attachments: Uint8Array[]; rows: number; rejected: RejectedLine[] } {
  const { doc, rows, rejected } = feedContent(batch, columns, resolver);
  const attachments: Uint8Array[] = [];
  const stubs: Record<string, unknown> = {};
  const attach = (name: string, contentType: string, bytes: Uint8Array) => {
    if (gzipLevel > 0) {
      const encoded = gzipSync(bytes, { level: gzipLevel });
      stubs[name] = {
        follows: true,
        content_type: contentType,
        encoding: "gzip",
        length: bytes.length,
        encoded_length: encoded.length,
      };
      attachments.push(encoded);
    } else {
      stubs[name] = { follows: true, content_type: contentType, length: bytes.length };
      attachments.push(bytes.slice());
    }
  };
  attach("feed", "text/csv", csvOut.bytes());
  if (rejected.length > 0) attach("rejected", "text/plain", joinLines(rejected));
  const json = new TextEncoder().encode(JSON.stringify({ ...doc, _attachments: stubs }));
  return { json, attachments, rows, rejected };
}

/**
 * The records-mode documents of a batch: the JSON body of one `_bulk_docs` request, and for the
 * i-th document its line's offset and end, and the line itself when it did not parse.
 */
export interface RecordDocuments {
  body: Uint8Array;
  /** What the ids have before the line offset's 16 digits. */
  idPrefix: string;
  offsets: number[];
  ends: number[];
  rejected: Map<number, RejectedLine>;
}

/** The records-mode documents of a batch, as the JSON body of one `_bulk_docs` request. */
export function recordDocuments(batch: Batch, resolver: YearResolver): RecordDocuments {
  const idPrefix = recordIdPrefix(batch.source.id, batch.generation);
  const docs: RecordDocuments = {
    body: new Uint8Array(0),
    idPrefix,
    offsets: [],
    ends: [],
    rejected: new Map(),
  };
  // A buffer of its own, since batches may be in flight together; documents are about 3.5 times
  // the size of their lines.
  const out = new ByteWriter(batch.data.length * 4 + 4096);
  // Kept short, since it is in every document: which file a generation is, says its `gen:` document.
  const common = asciiBytes(
    `,"source":"${batch.source.id}","generation":${batch.generation},"batch_start":${batch.start},`,
  );
  const id = asciiBytes(`{"_id":"${idPrefix}`);
  out.ascii('{"docs":[');
  const begin = (offset: number, end: number, rejected: RejectedLine | null) => {
    if (rejected) docs.rejected.set(docs.offsets.length, rejected);
    if (docs.offsets.length > 0) out.byte(44);
    docs.offsets.push(offset);
    docs.ends.push(end);
    out.constant(id);
    out.padded(offset, 16);
    out.constant(LINE_OFFSET);
    out.int(offset);
    out.constant(LINE_END);
    out.int(end);
    out.constant(common);
  };
  if (batch.oversized) {
    const line = oversizedRejection(batch.oversized);
    begin(line.offset, batch.end, line);
    writeRejectedMembers(out, line);
    out.byte(125);
  } else writeRecords(batch.data, batch.start, resolver, out, begin);
  out.ascii("]}");
  docs.body = out.bytes();
  return docs;
}

const LINE_OFFSET = asciiBytes('","line_offset":');
const LINE_END = asciiBytes(',"line_end":');

/** Whether `id` is `prefix` and then `offset` in 16 digits: checked without making a string. */
function isRecordId(id: string, prefix: string, offset: number): boolean {
  if (id.length !== prefix.length + 16 || !id.startsWith(prefix)) return false;
  let value = 0;
  for (let i = prefix.length; i < id.length; i++) {
    const d = id.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    value = value * 10 + d;
  }
  return value === offset;
}

/**
 * Stores one batch and says where capture continues. Conflicts are resolved by reading what CouchDB
 * holds; any other per-document error throws, so nothing unstored is counted as stored.
 */
export async function storeBatch(
  db: DocumentStore,
  batch: Batch,
  options: StoreOptions,
): Promise<StoreResult> {
  return options.mode === "feed"
    ? await storeFeed(db, batch, options)
    : await storeRecords(db, batch, options);
}

async function storeFeed(
  db: DocumentStore,
  batch: Batch,
  options: StoreOptions,
): Promise<StoreResult> {
  const memory = memoryOf(db);
  // Batches of a generation go out in order, two in flight: each is made while the one before is
  // being stored, but sent only once that one's outcome is known, since a conflict may show that
  // more is stored than the batch before covered (an earlier run cut its batches elsewhere).
  const chain = generationKey(batch.source.id, batch.generation);
  const before = memory.sending.get(chain);
  let settled!: () => void;
  const mine = new Promise<void>((resolve) => (settled = resolve));
  memory.sending.set(chain, mine);
  try {
    return await storeFeedInTurn(db, memory, batch, options, before);
  } finally {
    settled();
    if (memory.sending.get(chain) === mine) memory.sending.delete(chain);
  }
}

async function storeFeedInTurn(
  db: DocumentStore,
  memory: StoreMemory,
  batch: Batch,
  options: StoreOptions,
  before: Promise<void> | undefined,
): Promise<StoreResult> {
  const resolver = years(batch, options);
  let current = await withGeneration(db, memory, batch, options);
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
    const covering = before ? null : await coveringFeed(db, memory, current);
    if (covering && !sameFile(covering.file, current.source.file)) {
      current = await moveToFileGeneration(db, memory, batch, current);
      continue;
    }
    if (covering) {
      remember(memory, current, covering.end, covering.file);
      if (!storedUpTo(covering.end)) return done(covering.end);
    }
    const id = feedDocId(current.source.id, current.generation, current.start);
    const parts = options.feedAttachments;
    const body = parts ? null : feedBodies.pop() ?? new ByteWriter(1 << 20);
    let outcome: "created" | "conflict";
    let doc: { rows: number; rejected: RejectedLine[] };
    try {
      const made = parts
        ? feedDocumentParts(current, options.columns, resolver, parts.gzipLevel)
        : feedDocument(current, options.columns, resolver, body!);
      if (before) {
        await before;
        before = undefined;
        // Where the batch before ends now; the usual case is where this one starts.
        const known = memory.feedEnds.get(generationKey(current.source.id, current.generation));
        if (!known || known.end !== current.start) continue; // look again, from the top
      }
      outcome = "attachments" in made
        ? await db.putDocumentMultipart(id, made.json, made.attachments as Uint8Array[])
        : await db.putDocumentJson(id, made.json);
      doc = made;
    } finally {
      if (body) feedBodies.push(body);
    }
    if (outcome === "created") {
      remember(memory, current, current.end, current.source.file);
      return done(current.end, doc.rows, doc.rejected);
    }
    conflicts++;
    const stored = await db.getDocument<StoredFeed>(id);
    const file = stored?.source?.file;
    const end = stored?.source?.end;
    if (!stored || !file || typeof end !== "number") {
      throw new PermanentError(
        `${id} in ${db.url} is not a feed document of logcapture: remove it or use another --source`,
      );
    }
    if (!sameFile(file, current.source.file)) {
      current = await moveToFileGeneration(db, memory, batch, current);
      continue;
    }
    remember(memory, current, end, file);
    if (!storedUpTo(end)) return done(end);
  }
}

/**
 * What this process knows of a database, so that the normal path costs no extra request: the
 * generations claimed (records mode: their `gen:` document says they are this file), where the
 * last feed document of each generation ends, and which generation a file was moved to when its
 * own number was taken by another file.
 */
interface StoreMemory {
  claimed: Map<string, FileRef>;
  feedEnds: Map<string, { end: number; file: FileRef }>;
  moved: Map<string, number>;
  /** Per source and generation, the feed batch being stored now: the next one waits for it. */
  sending: Map<string, Promise<void>>;
}

const memories = new WeakMap<DocumentStore, StoreMemory>();

function memoryOf(db: DocumentStore): StoreMemory {
  let memory = memories.get(db);
  if (!memory) {
    memory = { claimed: new Map(), feedEnds: new Map(), moved: new Map(), sending: new Map() };
    memories.set(db, memory);
  }
  return memory;
}

/** Forgets what this process knew of `db`: its database was created again, empty. */
export function forgetClaimedGenerations(db: DocumentStore): void {
  memories.delete(db);
}

function generationKey(source: string, generation: number): string {
  return `${source}:${generation}`;
}

function movedKey(batch: Batch): string {
  const file = batch.source.file;
  const name = file.id ?? ("dev" in file ? `${file.dev}:${file.ino}` : "");
  return `${batch.source.id}:${batch.generation}:${name}`;
}

/**
 * An extract's batch under the generation that holds its file id already, if one does: found once
 * per source, generation and file in this process, then remembered. Every generation the database
 * holds is looked at: one whose file vanished unstored, or an empty rotation, leaves a gap.
 */
async function withFileGeneration(
  db: DocumentStore,
  memory: StoreMemory,
  batch: Batch,
): Promise<Batch> {
  const key = movedKey(batch);
  const id = batch.source.file.id;
  if (id && !memory.moved.has(key)) {
    let holding = batch.generation;
    for (const generation of await storedGenerations(db, batch.source.id)) {
      const held = await generationFile(db, batch.source.id, generation);
      if (held !== null && held !== "unknown" && held.id === id) {
        holding = generation;
        break;
      }
    }
    memory.moved.set(key, holding);
  }
  return withKnownGeneration(memory, batch);
}

/** The batch under the generation its file goes under: by file id for extracts, else as moved. */
async function withGeneration(
  db: DocumentStore,
  memory: StoreMemory,
  batch: Batch,
  options: StoreOptions,
): Promise<Batch> {
  return options.fromExtracts
    ? await withFileGeneration(db, memory, batch)
    : withKnownGeneration(memory, batch);
}

/** The batch under the generation its file was moved to earlier in this process, if it was. */
function withKnownGeneration(memory: StoreMemory, batch: Batch): Batch {
  const generation = memory.moved.get(movedKey(batch));
  return generation === undefined ? batch : { ...batch, generation };
}

/** The batch under the generation of its file (or a free one), remembered for its next batches. */
async function moveToFileGeneration(
  db: DocumentStore,
  memory: StoreMemory,
  batch: Batch,
  current: Batch,
): Promise<Batch> {
  const generation = await generationFor(
    db,
    current.source.id,
    current.source.file,
    current.generation + 1,
  );
  memory.moved.set(movedKey(batch), generation);
  return { ...current, generation };
}

function remember(memory: StoreMemory, batch: Batch, end: number, file: FileRef): void {
  memory.feedEnds.set(generationKey(batch.source.id, batch.generation), { end, file });
}

/**
 * The stored feed document that covers the batch's first byte (starts at or before it and ends
 * after it), or `null`. Read from CouchDB unless the batch starts right where the last document
 * this process knows of ends: the normal path of a contiguous chain.
 */
async function coveringFeed(
  db: DocumentStore,
  memory: StoreMemory,
  batch: Batch,
): Promise<{ end: number; file: FileRef } | null> {
  const known = memory.feedEnds.get(generationKey(batch.source.id, batch.generation));
  if (known && known.end === batch.start) return null;
  const prefix = `feed:${batch.source.id}:${batch.generation}:`;
  const [row] = await db.allDocs<StoredFeed>({
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

/**
 * The generation a records batch goes under: its own, once the `gen:` document says it is this
 * file (writing that document when it is the first batch of the generation), else the generation
 * that holds this file, or the first one CouchDB holds nothing of.
 */
async function claimGeneration(
  db: DocumentStore,
  batch: Batch,
  options: StoreOptions,
): Promise<number> {
  const memory = memoryOf(db);
  let generation =
    (options.fromExtracts
      ? await withFileGeneration(db, memory, batch)
      : withKnownGeneration(memory, batch)).generation;
  for (;;) {
    const key = generationKey(batch.source.id, generation);
    const file = memory.claimed.get(key);
    if (file && sameFile(file, batch.source.file)) return generation;
    const id = generationDocId(batch.source.id, generation);
    const doc = {
      _id: id,
      doc_type: "Generation",
      timestamp: timestamp(),
      source: { ...sourceFields(batch.source, generation), file: batch.source.file },
    };
    let stored: FileRef | undefined = batch.source.file;
    if (await db.putDocument(doc) === "conflict") {
      stored = (await db.getDocument<StoredGeneration>(id))?.source?.file;
      if (!stored) {
        throw new PermanentError(
          `${id} in ${db.url} is not a generation of logcapture: remove it or use another --source`,
        );
      }
    }
    if (sameFile(stored, batch.source.file)) {
      memory.claimed.set(key, stored);
      if (generation !== batch.generation) memory.moved.set(movedKey(batch), generation);
      return generation;
    }
    generation = await generationFor(db, batch.source.id, batch.source.file, generation + 1);
  }
}

async function storeRecords(
  db: DocumentStore,
  batch: Batch,
  options: StoreOptions,
): Promise<StoreResult> {
  const resolver = years(batch, options);
  const current = { ...batch, generation: await claimGeneration(db, batch, options) };
  const docs = recordDocuments(current, resolver);
  const results = await db.bulkDocs(docs.body);
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
      throw new Error(`CouchDB at ${db.server} said nothing of ${id}`);
    }
    if (result.outcome === "error") {
      throw new Error(
        `CouchDB at ${db.server} did not store ${result.id}: ${result.error} ${result.reason}`,
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

/**
 * Which file a generation of `source` holds, as its documents say (the `gen:` document, else the
 * first feed or records document), or `null` when the database holds nothing of it.
 */
export async function generationFile(
  db: DocumentStore,
  source: string,
  generation: number,
): Promise<FileRef | "unknown" | null> {
  const named = await db.getDocument<StoredGeneration>(generationDocId(source, generation));
  if (named) return named.source?.file ?? "unknown";
  for (const kind of ["feed", "rec"]) {
    const prefix = `${kind}:${source}:${generation}:`;
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
 * import { storedGenerations } from "./store.ts";
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
  for (const kind of ["feed", "rec"]) {
    const prefix = `${kind}:${source}:`;
    for (let from = prefix;;) {
      const [row] = await db.allDocs({ startkey: from, endkey: prefix + "\ufff0", limit: 1 });
      if (!row) break;
      const number = /^(\d+):/.exec(row.id.slice(prefix.length))?.[1];
      // A document of another shape under the prefix is stepped over.
      from = number === undefined ? row.id + "\u0000" : `${prefix}${number}:\ufff0`;
      if (number !== undefined) found.add(Number(number));
    }
  }
  const prefix = `gen:${source}:`;
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
  db: DocumentStore,
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

/**
 * Where an earlier run left this file, read from CouchDB, for a capture whose cache file is gone:
 * the newest generation stored from the same file, and the offset from which to go on. In feed
 * mode that is the end of the last document. In records mode the last batches may be partly
 * stored (up to {@linkcode BATCHES_IN_FLIGHT} were in flight), so it is the start of the batch
 * that many batches back; lines stored already meet a conflict and are skipped. `null` when
 * CouchDB holds nothing of this file.
 */
export async function findStoredPosition(
  db: DocumentStore,
  source: string,
  file: FileRef,
): Promise<{ generation: number; offset: number } | null> {
  for (const generation of (await storedGenerations(db, source)).reverse()) {
    const feedEnd = await feedResumePoint(db, source, generation, file);
    const stored = (await db.getDocument<StoredGeneration>(generationDocId(source, generation)))
      ?.source?.file;
    const recordsStart = stored && sameFile(stored, file)
      ? await recordsResumePoint(db, source, generation)
      : undefined;
    const offset = Math.max(feedEnd ?? -1, recordsStart ?? -1);
    if (offset >= 0) return { generation, offset };
  }
  return null;
}

/**
 * Where feed documents of a generation of this file leave off: the end of the last one, unless a
 * gap lies among the last {@linkcode BATCHES_IN_FLIGHT} (a later batch stored before an earlier
 * one), then the start of the gap. `undefined` when the generation holds no feed document of it.
 */
async function feedResumePoint(
  db: DocumentStore,
  source: string,
  generation: number,
  file: FileRef,
): Promise<number | undefined> {
  const prefix = `feed:${source}:${generation}:`;
  const rows = await db.allDocs<StoredFeed & { source?: { start?: number } }>({
    startkey: prefix + "\ufff0",
    endkey: prefix,
    descending: true,
    limit: BATCHES_IN_FLIGHT,
    includeDocs: true,
  });
  const docs = rows.map((r) => r.doc?.source).filter((s) =>
    s?.file && sameFile(s.file, file) && typeof s.end === "number" && typeof s.start === "number"
  ) as { start: number; end: number }[];
  if (docs.length === 0) return undefined;
  // Newest first: a document that does not start where the one before it ends follows a gap.
  for (let i = docs.length - 1; i > 0; i--) {
    if (docs[i - 1].start !== docs[i].end) return docs[i].end;
  }
  // Fewer documents than batches in flight: what came before the oldest may be missing too.
  return docs.length < BATCHES_IN_FLIGHT && docs[docs.length - 1].start !== 0 ? 0 : docs[0].end;
}

/** The start of the records batch {@linkcode BATCHES_IN_FLIGHT} batches back from the last. */
async function recordsResumePoint(
  db: DocumentStore,
  source: string,
  generation: number,
): Promise<number | undefined> {
  const prefix = recordIdPrefix(source, generation);
  let below = prefix + "\ufff0";
  let start: number | undefined;
  for (let back = 0; back < BATCHES_IN_FLIGHT; back++) {
    const [row] = await db.allDocs<StoredRecord>({
      startkey: below,
      endkey: prefix,
      descending: true,
      limit: 1,
      includeDocs: true,
    });
    const batchStart = row?.doc?.batch_start;
    // Nothing stored below: what came before may be unstored too, so from the file's start.
    if (typeof batchStart !== "number") return start === undefined ? undefined : 0;
    start = batchStart;
    if (start === 0) break;
    below = recordDocId(source, generation, start - 1);
  }
  return start;
}
