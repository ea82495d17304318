/**
 * A growable byte buffer that output is written into directly: CSV rows and JSON documents are
 * made as bytes from the positions of the input, with no string per field and no encoding pass.
 * One writer is reused from batch to batch, so formatting allocates almost nothing per line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteWriter } from "./bytes.ts";
 * const out = new ByteWriter();
 * out.ascii("rows: ");
 * out.int(-42);
 * assert.equal(new TextDecoder().decode(out.bytes()), "rows: -42");
 * ```
 * @module
 */

const utf8 = new TextEncoder();
const BASE64 = asciiBytes("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/** Bytes written one piece at a time into one buffer, grown by doubling. */
export class ByteWriter {
  #buffer: Uint8Array;
  /** How many bytes are written. */
  length = 0;

  /** A writer whose buffer starts at `capacity` bytes and grows as it is written. */
  constructor(capacity = 64 << 10) {
    this.#buffer = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.length + n));
    grown.set(this.#buffer.subarray(0, this.length));
    this.#buffer = grown;
  }

  /** Empties the writer, keeping its buffer. */
  clear(): void {
    this.length = 0;
  }

  /** The bytes written, as a view: valid until the next write or `clear`. */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.length);
  }

  /** One byte. */
  byte(c: number): void {
    this.reserve(1);
    this.#buffer[this.length++] = c;
  }

  /** A string of ASCII characters (each UTF-16 unit below 128). */
  ascii(text: string): void {
    this.reserve(text.length);
    const buffer = this.#buffer;
    let at = this.length;
    for (let i = 0; i < text.length; i++) buffer[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Any string, as UTF-8. */
  utf8(text: string): void {
    this.reserve(text.length * 3);
    this.length += utf8.encodeInto(text, this.#buffer.subarray(this.length)).written;
  }

  /** All of `bytes` (made once with {@linkcode asciiBytes}), copied. */
  constant(bytes: Uint8Array): void {
    if (bytes.length < 24) this.copy(bytes, 0, bytes.length);
    else {
      this.reserve(bytes.length);
      this.#buffer.set(bytes, this.length);
      this.length += bytes.length;
    }
  }

  /** `bytes` in base64 (RFC 4648, padded), as CouchDB takes inline attachments. */
  base64(bytes: Uint8Array): void {
    const n = bytes.length;
    this.reserve(Math.ceil(n / 3) * 4);
    const buffer = this.#buffer;
    let at = this.length;
    let i = 0;
    for (; i + 2 < n; i += 3) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      buffer[at++] = BASE64[v >> 18];
      buffer[at++] = BASE64[(v >> 12) & 63];
      buffer[at++] = BASE64[(v >> 6) & 63];
      buffer[at++] = BASE64[v & 63];
    }
    if (i < n) {
      const v = (bytes[i] << 16) | (i + 1 < n ? bytes[i + 1] << 8 : 0);
      buffer[at++] = BASE64[v >> 18];
      buffer[at++] = BASE64[(v >> 12) & 63];
      buffer[at++] = i + 1 < n ? BASE64[(v >> 6) & 63] : 61;
      buffer[at++] = 61;
    }
    this.length = at;
  }

  /** `bytes[from, to)`, copied. */
  copy(bytes: Uint8Array, from: number, to: number): void {
    this.reserve(to - from);
    const buffer = this.#buffer;
    let at = this.length;
    // Fields are short: a loop beats making a subarray for `set`.
    if (to - from < 64) { for (let i = from; i < to; i++) buffer[at++] = bytes[i]; }
    else {
      buffer.set(bytes.subarray(from, to), at);
      at += to - from;
    }
    this.length = at;
  }

  /** A safe integer in decimal, as `String(n)` gives it. */
  int(n: number): void {
    this.reserve(17);
    this.length = putInt(this.#buffer, this.length, n);
  }

  /** A non-negative safe integer in at least `width` digits, zeros in front. */
  padded(n: number, width: number): void {
    this.reserve(width + 16);
    for (let digits = decimalDigits(n); digits < width; digits++) this.#buffer[this.length++] = 48;
    this.int(n);
  }

  /** `n` (0–99) as two digits. */
  twoDigits(n: number): void {
    this.reserve(2);
    this.length = putTwoDigits(this.#buffer, this.length, n);
  }

  /**
   * Room for `n` more bytes, for a writer of many small pieces that keeps its own position: the
   * buffer, to be written from `length` on (with {@linkcode putInt}, {@linkcode putBytes}, …),
   * then `length` set past what was written. Valid until the next call that writes.
   */
  room(n: number): Uint8Array {
    this.reserve(n);
    return this.#buffer;
  }
}

/**
 * A safe integer in decimal, as `String(n)` gives it, into `buffer` at `at`: where it ends. The
 * buffer must have room for 17 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { putInt } from "./bytes.ts";
 * const buffer = new Uint8Array(20);
 * const end = putInt(buffer, 1, -1234);
 * assert.equal(new TextDecoder().decode(buffer.subarray(1, end)), "-1234");
 * ```
 */
export function putInt(buffer: Uint8Array, at: number, n: number): number {
  if (n < 0) {
    buffer[at++] = 45;
    n = -n;
  }
  at += decimalDigits(n);
  const end = at;
  // Small integers, the usual case, divide in 32-bit integer arithmetic.
  if (n < 0x80000000) {
    do {
      const next = (n / 10) | 0;
      buffer[--at] = 48 + (n - next * 10);
      n = next;
    } while (n > 0);
    return end;
  }
  do {
    const next = Math.floor(n / 10);
    buffer[--at] = 48 + (n - next * 10);
    n = next;
  } while (n > 0);
  return end;
}

/**
 * `n` (0–99) as two digits into `buffer` at `at`: where they end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { putTwoDigits } from "./bytes.ts";
 * const buffer = new Uint8Array(2);
 * assert.equal(putTwoDigits(buffer, 0, 7), 2);
 * assert.deepEqual([...buffer], [48, 55]);
 * ```
 */
export function putTwoDigits(buffer: Uint8Array, at: number, n: number): number {
  const tens = (n / 10) | 0;
  buffer[at] = 48 + tens;
  buffer[at + 1] = 48 + (n - tens * 10);
  return at + 2;
}

/**
 * `bytes[from, to)` copied into `buffer` at `at`: where the copy ends. For short fields, where a
 * loop beats making a subarray for `set`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { putBytes } from "./bytes.ts";
 * const buffer = new Uint8Array(4);
 * assert.equal(putBytes(buffer, 1, new Uint8Array([7, 8, 9]), 1, 3), 3);
 * assert.deepEqual([...buffer], [0, 8, 9, 0]);
 * ```
 */
export function putBytes(
  buffer: Uint8Array,
  at: number,
  bytes: Uint8Array,
  from: number,
  to: number,
): number {
  for (let i = from; i < to; i++) buffer[at++] = bytes[i];
  return at;
}

/** How many digits a non-negative integer has. */
function decimalDigits(n: number): number {
  let digits = 1;
  for (let limit = 10; n >= limit && digits < 16; limit *= 10) digits++;
  return digits;
}

/** An ASCII string as bytes, for {@linkcode ByteWriter.constant}: copying bytes beats reading chars. */
export function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
