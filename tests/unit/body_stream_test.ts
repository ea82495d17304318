import assert from "node:assert/strict";
import { BODY_CHUNK_BYTES, bodyStream } from "../../lib/sink/body_stream.ts";

Deno.test("a body stream gives the chunks' bytes in order, as views of them, never copies", async () => {
  const first = new Uint8Array(BODY_CHUNK_BYTES * 2 + 5).map((_, i) => i % 251);
  const empty = new Uint8Array(0);
  const last = new Uint8Array([7, 8, 9]);
  const views: Uint8Array[] = [];
  for await (const view of bodyStream([first, empty, last])) views.push(view);
  assert.deepEqual(views.map((v) => v.length), [BODY_CHUNK_BYTES, BODY_CHUNK_BYTES, 5, 3]);
  assert.ok(views.slice(0, 3).every((v) => v.buffer === first.buffer));
  assert.equal(views[3].buffer, last.buffer);
  const joined = new Uint8Array(views.reduce((n, v) => n + v.length, 0));
  views.reduce((at, v) => (joined.set(v, at), at + v.length), 0);
  assert.deepEqual(joined, new Uint8Array([...first, ...last]));
});

Deno.test("a body stream of nothing ends at once", async () => {
  const views = [];
  for await (const view of bodyStream([])) views.push(view);
  assert.deepEqual(views, []);
});

Deno.test("a body stream's views are as large as its caller says", async () => {
  const views = [];
  for await (const view of bodyStream([new Uint8Array(10)], 4)) views.push(view.length);
  assert.deepEqual(views, [4, 4, 2]);
});
