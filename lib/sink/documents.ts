/**
 * The CouchDB documents of a batch (SPEC §3), written as bytes: in feed mode one document with the
 * CSV as an attachment (JSON with base64, or the parts of a `multipart/related` request), in
 * records mode one document per line, as the body of one `_bulk_docs` request. What a line becomes
 * is the {@linkcode LineFormat}'s business; the documents around it are this module's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spysocketFormat } from "../format/line_format.ts";
 * import type { Batch } from "./batch.ts";
 * import { feedDocument, recordDocuments } from "./documents.ts";
 * const data = new TextEncoder().encode("07:04:42 02/15 V.1.2233 H.0.0 MT_LOCATION Lat/Lon:370620935/-763413842 [Valid] Adher:-1 [Valid] Odom:2668 [Valid] DGPS:On\n");
 * const batch: Batch = {
 *   source: { id: "avl1", host: "h", path: "/var/log/spysocket.log", file: { id: "0123456789abcdef" } },
 *   generation: 0,
 *   start: 0,
 *   end: data.length,
 *   data,
 *   oversized: null,
 *   readAt: new Date(),
 * };
 * const format = spysocketFormat({ columns: "classic", year: 2012 });
 * const feed = JSON.parse(new TextDecoder().decode(feedDocument(batch, format).json));
 * assert.deepEqual([feed._id, feed.rows, feed.source.end], ["feed:avl1:0:0000000000000000", 1, data.length]);
 * const records = recordDocuments(batch, format);
 * assert.equal(JSON.parse(new TextDecoder().decode(records.body)).docs[0].vehicle, "V.1.2233");
 * ```
 * @module
 */
import {
  type Batch,
  feedDocId,
  generationDocId,
  recordIdPrefix,
  type SourceInfo,
} from "./batch.ts";
import { asciiBytes, ByteWriter } from "../base/bytes.ts";
import type { LineFormat } from "../format/line_format.ts";
import type { RejectedLine } from "../format/reports.ts";
import type { Gzip } from "./gzip.ts";

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

/** The `gen:` document that says which file a generation of a source is (records mode). */
export function generationDocument(batch: Batch, generation: number): Record<string, unknown> {
  return {
    _id: generationDocId(batch.source.id, generation),
    doc_type: "Generation",
    timestamp: timestamp(),
    source: { ...sourceFields(batch.source, generation), file: batch.source.file },
  };
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

// Reused from batch to batch, so that no batch makes large strings for the garbage collector: the
// CSV is written and then encoded at once (gzip or base64, no wait between), so one serves all.
const csvOut = new ByteWriter(1 << 20);

/**
 * The feed document of a batch, as JSON bytes written into `feedOut` (valid until it is written
 * again): the CSV attachment, and the rejected lines when any. The CSV is written as bytes and
 * base64-encoded straight into the document.
 */
export function feedDocument(
  batch: Batch,
  format: LineFormat,
  feedOut: ByteWriter = new ByteWriter(1 << 20),
): { json: Uint8Array; rows: number; rejected: RejectedLine[] } {
  const { doc, rows, rejected } = feedContent(batch, format);
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
  format: LineFormat,
): { doc: Record<string, unknown>; rows: number; rejected: RejectedLine[] } {
  csvOut.clear();
  const formatted = format.csvRows(batch, csvOut);
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
 * attachment stubs, and the attachments, gzip-encoded here by `gzip` (`null`: sent plain, and the
 * server compresses them). Measured on CouchDB 3.5: most of its time went to compressing text/csv
 * attachments itself at level 8, and base64 cost a third more bytes on both sides.
 */
export function feedDocumentParts(
  batch: Batch,
  format: LineFormat,
  gzip: Gzip | null,
): { json: Uint8Array; attachments: Uint8Array[]; rows: number; rejected: RejectedLine[] } {
  const { doc, rows, rejected } = feedContent(batch, format);
  const attachments: Uint8Array[] = [];
  const stubs: Record<string, unknown> = {};
  const attach = (name: string, contentType: string, bytes: Uint8Array) => {
    if (gzip) {
      const encoded = gzip(bytes);
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
  /** The body of the `_bulk_docs` request. */
  body: Uint8Array;
  /** What the ids have before the line offset's 16 digits. */
  idPrefix: string;
  /** The file offset of each document's line. */
  offsets: number[];
  /** Where each document's line ends (the next one begins). */
  ends: number[];
  /** The lines that did not parse, by document index. */
  rejected: Map<number, RejectedLine>;
}

/** The records-mode documents of a batch, as the JSON body of one `_bulk_docs` request. */
export function recordDocuments(batch: Batch, format: LineFormat): RecordDocuments {
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
  format.records(batch, out, begin);
  out.ascii("]}");
  docs.body = out.bytes();
  return docs;
}

const LINE_OFFSET = asciiBytes('","line_offset":');
const LINE_END = asciiBytes(',"line_end":');

/** Whether `id` is `prefix` and then `offset` in 16 digits: checked without making a string. */
export function isRecordId(id: string, prefix: string, offset: number): boolean {
  if (id.length !== prefix.length + 16 || !id.startsWith(prefix)) return false;
  let value = 0;
  for (let i = prefix.length; i < id.length; i++) {
    const d = id.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    value = value * 10 + d;
  }
  return value === offset;
}
