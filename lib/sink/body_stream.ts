/**
 * A request body sent from the caller's bytes in one piece: a stream of one view of them, which
 * fetch neither copies nor cuts.
 *
 * Not a byte array, since fetch copies a byte-array body as it is called, and only the garbage
 * collector frees those copies. Counted outside its heap, they are freed some 64 MB late, and
 * capture makes little other garbage, so they piled up: 600 KB `_bulk_docs` bodies gave a peak RSS
 * of 119 MB as byte arrays, 61 MB streamed; 780 KB extracts to a receiver 112–140 MB, 71 MB
 * streamed. The bytes must stay as they are until the answer comes.
 *
 * In one piece, since fetch leaves Nagle's algorithm on (Deno 2.9 has no way to set TCP_NODELAY)
 * and each piece is a write that ends in a short segment, which waits until the peer acknowledges
 * the short one before it: up to its delayed acknowledgement, 40 ms. Sent as five parts and 64 KiB
 * views, capture's feed PUTs took a median of 10 ms and a p99 of 50 ms on loopback; the same
 * bodies in one piece 6–8 ms and at most 19 ms, and a million lines caught up in 1.36 s, not 1.93.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteWriter } from "../base/bytes.ts";
 * import { bodyStream, joinParts } from "./body_stream.ts";
 * const parts = [new TextEncoder().encode("--b\r\n"), new Uint8Array(70_000), new Uint8Array(2)];
 * const body = joinParts(parts, new ByteWriter());
 * const pieces = [];
 * for await (const piece of bodyStream(body)) pieces.push(piece);
 * assert.deepEqual(pieces.map((p) => p.length), [70_007]); // one write, not three
 * assert.equal(pieces[0].buffer, body.buffer); // the caller's bytes, not a copy
 * ```
 * @module
 */
import type { ByteWriter } from "../base/bytes.ts";

/** Bodies at least this long are streamed from the caller's bytes; fetch copies shorter ones. */
export const STREAMED_BODY_BYTES = 64 << 10;

/** `bytes` as a request body stream of one view. */
export function bodyStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/**
 * `parts` one after the other in `into` (cleared first), for a body of several parts to go in one
 * piece: a view of `into`, valid until it is written again.
 */
export function joinParts(parts: Uint8Array[], into: ByteWriter): Uint8Array {
  into.clear();
  for (const part of parts) into.constant(part);
  return into.bytes();
}
