/**
 * A request body read in place from the caller's bytes, a view of at most 1 MiB at a time.
 *
 * fetch copies a byte-array body into a new buffer as it is called, and only the garbage collector
 * frees those copies. Counted outside its heap, they are freed some 64 MB late, and capture makes
 * little other garbage, so they piled up: 600 KB `_bulk_docs` bodies gave a peak RSS of 119 MB as
 * byte arrays, 61 MB streamed; 780 KB extracts to a receiver 112–140 MB, 71 MB streamed. The bytes
 * must stay as they are until the answer comes. Each view costs a turn of the stream: 64 KiB views
 * cost tail-only capture over HTTP 0.07 CPU-s a million lines more than 1 MiB ones, at the same RSS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bodyStream } from "./body_stream.ts";
 * const body = bodyStream([new Uint8Array(1_100_000), new Uint8Array([1, 2])]);
 * const sizes = [];
 * for await (const chunk of body) sizes.push(chunk.length);
 * assert.deepEqual(sizes, [1_048_576, 51_424, 2]);
 * ```
 * @module
 */

/** The most bytes of one view. */
export const BODY_CHUNK_BYTES = 1 << 20;

/** `chunks`, one after the other, as a stream of views of at most {@linkcode BODY_CHUNK_BYTES}. */
export function bodyStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let part = 0, at = 0;
  return new ReadableStream({
    pull(controller) {
      while (part < chunks.length && at >= chunks[part].length) [part, at] = [part + 1, 0];
      if (part >= chunks.length) return controller.close();
      const bytes = chunks[part];
      const end = Math.min(at + BODY_CHUNK_BYTES, bytes.length);
      controller.enqueue(bytes.subarray(at, end));
      at = end;
    },
  });
}
