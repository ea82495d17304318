/**
 * Storing batches in CouchDB (SPEC §3) so that nothing is lost and nothing doubled: every batch has
 * deterministic ids, and a conflict means "already stored": the stored document says how far it
 * reaches, and only what it does not cover is pushed. A stored document of another file means the
 * generation number was reused (a lost cache file): the batch moves to a generation the database
 * does not hold yet, and no data is skipped.
 *
 * @example
 * ```ts
 * import { storeBatch } from "./store.ts";
 * const result = await storeBatch(db, batch, { mode: "feed", columns: "classic" });
 * // result.end: where capture continues (batch.end, or further when an earlier run stored more)
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
import type { CouchClient } from "./couchdb.ts";
import { type ColumnSet, csvHeader } from "./csv.ts";
import { asciiBytes, ByteWriter } from "./bytes.ts";
import {
  formatCsv,
  oversizedRejection,
  type RejectedLine,
  writeRecords,
  writeRejectedMembers,
} from "./format.ts";
import { type FileIdentity, sameIdentity } from "./identity.ts";
import { type YearResolver, yearResolver } from "./spysocket.ts";

/** One document per batch (`feed`) or one per line (`records`). */
export type StoreMode = "feed" | "records";

/** Every accepted `--mode` value. */
export const STORE_MODES: readonly StoreMode[] = ["feed", "records"];

/**
 * Batches stored at once in records mode. Each line has an id of its own, so batches may overlap
 * in time: a later batch stored before an earlier one leaves a gap only within the last this many
 * batches, which {@linkcode findStoredPosition} looks back over. A feed document covers a range,
 * so feed batches go one at a time.
 */
export const RECORDS_IN_FLIGHT = 2;

/** How many batches may be stored at once in a mode. */
export function batchesInFlight(mode: StoreMode): number {
  return mode === "records" ? RECORDS_IN_FLIGHT : 1;
}

/** How batches are stored. */
export interface StoreOptions {
  mode: StoreMode;
  columns: ColumnSet;
  /** A fixed year for every report; otherwise inferred from the batch's read time. */
  year?: number;
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
  source?: { end?: number; file?: FileIdentity };
}

/** A records-mode document as stored. */
interface StoredRecord {
  batch_start?: number;
}

/** The document that says which file a generation is (records mode). */
interface StoredGeneration {
  source?: { file?: FileIdentity };
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
  return { id: source.id, host: source.host, path: source.path, generation };
}

// Feed documents are made and stored one at a time (one batch in flight in feed mode): two
// buffers, reused, serve them all, so no batch makes large strings for the garbage collector.
const csvOut = new ByteWriter(1 << 20);
const feedOut = new ByteWriter(1 << 20);

/**
 * The feed document of a batch, as JSON bytes (valid until the next call): the CSV attachment,
 * and the rejected lines when any. The CSV is written as bytes and base64-encoded straight into
 * the document.
 */
export function feedDocument(
  batch: Batch,
  columns: ColumnSet,
  resolver: YearResolver,
): { json: Uint8Array; rows: number; rejected: RejectedLine[] } {
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
  feedOut.clear();
  feedOut.utf8(JSON.stringify(doc).slice(0, -1));
  feedOut.ascii(',"_attachments":{"feed":{"content_type":"text/csv","data":"');
  feedOut.base64(csvOut.bytes());
  feedOut.ascii('"}');
  if (formatted.rejected.length > 0) {
    feedOut.ascii(',"rejected":{"content_type":"text/plain","data":"');
    feedOut.base64(joinLines(formatted.rejected));
    feedOut.ascii('"}');
  }
  feedOut.ascii("}}");
  return { json: feedOut.bytes(), rows: formatted.rows, rejected: formatted.rejected };
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
  db: CouchClient,
  batch: Batch,
  options: StoreOptions,
): Promise<StoreResult> {
  return options.mode === "feed"
    ? await storeFeed(db, batch, options)
    : await storeRecords(db, batch, options);
}

async function storeFeed(
  db: CouchClient,
  batch: Batch,
  options: StoreOptions,
): Promise<StoreResult> {
  const resolver = years(batch, options);
  let current = batch;
  let conflicts = 0;
  let skippedBytes = 0;
  for (;;) {
    const doc = feedDocument(current, options.columns, resolver);
    const id = feedDocId(current.source.id, current.generation, current.start);
    if (await db.putDocumentJson(id, doc.json) === "created") {
      return {
        generation: current.generation,
        end: current.end,
        rows: doc.rows,
        rejected: doc.rejected,
        skippedBytes,
        conflicts,
      };
    }
    conflicts++;
    const stored = await db.getDocument<StoredFeed>(id);
    const file = stored?.source?.file;
    const end = stored?.source?.end;
    if (!stored || !file || typeof end !== "number") {
      throw new Error(
        `${id} in ${db.url} is not a feed document of logcapture: remove it or use another --source`,
      );
    }
    if (!sameIdentity(file, current.source.file)) {
      const generation = await freeGeneration(db, current.source.id, current.generation + 1);
      current = { ...current, generation };
      continue;
    }
    if (end >= current.end) {
      skippedBytes += current.end - current.start;
      return {
        generation: current.generation,
        end,
        rows: 0,
        rejected: [],
        skippedBytes,
        conflicts,
      };
    }
    skippedBytes += end - current.start;
    current = batchFrom(current, end);
  }
}

// Generations this process has claimed, by client: their `gen:` document need not be read again.
const claimed = new WeakMap<CouchClient, Map<string, FileIdentity>>();

/** Forgets the generations claimed in `db`: its database was created again, empty. */
export function forgetClaimedGenerations(db: CouchClient): void {
  claimed.delete(db);
}

/**
 * The generation a records batch goes under: its own, once the `gen:` document says it is this
 * file (writing that document when it is the first batch of the generation), else the first
 * generation CouchDB holds nothing of.
 */
async function claimGeneration(db: CouchClient, batch: Batch): Promise<number> {
  const known = claimed.get(db) ?? new Map<string, FileIdentity>();
  claimed.set(db, known);
  let generation = batch.generation;
  for (;;) {
    const key = `${batch.source.id}:${generation}`;
    const file = known.get(key);
    if (file && sameIdentity(file, batch.source.file)) return generation;
    const id = generationDocId(batch.source.id, generation);
    const doc = {
      _id: id,
      doc_type: "Generation",
      timestamp: timestamp(),
      source: { ...sourceFields(batch.source, generation), file: batch.source.file },
    };
    let stored: FileIdentity | undefined = batch.source.file;
    if (await db.putDocument(doc) === "conflict") {
      stored = (await db.getDocument<StoredGeneration>(id))?.source?.file;
      if (!stored) {
        throw new Error(
          `${id} in ${db.url} is not a generation of logcapture: remove it or use another --source`,
        );
      }
    }
    if (sameIdentity(stored, batch.source.file)) {
      known.set(key, stored);
      return generation;
    }
    generation = await freeGeneration(db, batch.source.id, generation + 1);
  }
}

async function storeRecords(
  db: CouchClient,
  batch: Batch,
  options: StoreOptions,
): Promise<StoreResult> {
  const resolver = years(batch, options);
  const current = { ...batch, generation: await claimGeneration(db, batch) };
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

/** Whether the database holds any document of `generation` of `source`. */
export async function generationInUse(
  db: CouchClient,
  source: string,
  generation: number,
): Promise<boolean> {
  if (await db.getDocument(generationDocId(source, generation))) return true;
  for (const kind of ["feed", "rec"]) {
    const prefix = `${kind}:${source}:${generation}:`;
    const rows = await db.allDocs({ startkey: prefix, endkey: prefix + "\ufff0", limit: 1 });
    if (rows.length > 0) return true;
  }
  return false;
}

/** The first generation, from `from` on, that the database holds nothing of. */
export async function freeGeneration(
  db: CouchClient,
  source: string,
  from: number,
): Promise<number> {
  let generation = from;
  while (await generationInUse(db, source, generation)) generation++;
  return generation;
}

/**
 * Where an earlier run left this file, read from CouchDB, for a capture whose cache file is gone:
 * the newest generation stored from the same file, and the offset from which to go on. In feed
 * mode that is the end of the last document. In records mode the last batches may be partly
 * stored (up to {@linkcode RECORDS_IN_FLIGHT} were in flight), so it is the start of the batch
 * that many batches back; lines stored already meet a conflict and are skipped. `null` when
 * CouchDB holds nothing of this file.
 */
export async function findStoredPosition(
  db: CouchClient,
  source: string,
  file: FileIdentity,
): Promise<{ generation: number; offset: number } | null> {
  let last = -1;
  while (await generationInUse(db, source, last + 1)) last++;
  for (let generation = last; generation >= 0; generation--) {
    const feedPrefix = `feed:${source}:${generation}:`;
    const [feed] = await db.allDocs<StoredFeed>({
      startkey: feedPrefix + "\ufff0",
      endkey: feedPrefix,
      descending: true,
      limit: 1,
      includeDocs: true,
    });
    const feedEnd = feed?.doc?.source?.file && sameIdentity(feed.doc.source.file, file)
      ? feed.doc.source.end
      : undefined;
    const stored = (await db.getDocument<StoredGeneration>(generationDocId(source, generation)))
      ?.source?.file;
    const recordsStart = stored && sameIdentity(stored, file)
      ? await recordsResumePoint(db, source, generation)
      : undefined;
    const offset = Math.max(feedEnd ?? -1, recordsStart ?? -1);
    if (offset >= 0) return { generation, offset };
  }
  return null;
}

/** The start of the records batch {@linkcode RECORDS_IN_FLIGHT} batches back from the last. */
async function recordsResumePoint(
  db: CouchClient,
  source: string,
  generation: number,
): Promise<number | undefined> {
  const prefix = recordIdPrefix(source, generation);
  let below = prefix + "\ufff0";
  let start: number | undefined;
  for (let back = 0; back < RECORDS_IN_FLIGHT; back++) {
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
