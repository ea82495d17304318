/**
 * The gzip of feed attachments, loaded when a sink first needs it. `node:zlib` is Node's, and the
 * first `node:` module a program loads starts Deno's Node layer (11 MB and 30 ms of CPU at each
 * start of capture; see `lib/base/sha256.ts`), which capture in tail-only mode has no use for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gunzipSync } from "node:zlib";
 * import { gzipAt } from "./gzip.ts";
 * const gzip = (await gzipAt(1))!;
 * const text = new TextEncoder().encode("a,b\n".repeat(100));
 * assert.deepEqual(new Uint8Array(gunzipSync(gzip(text))), text);
 * assert.equal(await gzipAt(0), null);
 * ```
 * @module
 */

/** Compresses `bytes` into one gzip member. */
export type Gzip = (bytes: Uint8Array) => Uint8Array;

/** gzip at `level` (1 fastest to 9 smallest), or `null` for 0: nothing to compress with. */
export async function gzipAt(level: number): Promise<Gzip | null> {
  if (level === 0) return null;
  const { gzipSync } = await import("node:zlib");
  return (bytes) => gzipSync(bytes, { level });
}
