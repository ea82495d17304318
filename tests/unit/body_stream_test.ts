import assert from "node:assert/strict";
import { ByteWriter } from "../../lib/base/bytes.ts";
import { bodyStream, joinParts } from "../../lib/sink/body_stream.ts";

const piecesOf = async (stream: ReadableStream<Uint8Array>) => {
  const pieces: Uint8Array[] = [];
  for await (const piece of stream) pieces.push(piece);
  return pieces;
};

Deno.test("a body stream gives the caller's bytes in one piece, as a view of them, never a copy", async () => {
  const bytes = new Uint8Array(3 << 20).map((_, i) => i % 251);
  const pieces = await piecesOf(bodyStream(bytes.subarray(5)));
  assert.equal(pieces.length, 1, "one write: a piece more is a short segment that may wait 40 ms");
  assert.equal(pieces[0].buffer, bytes.buffer);
  assert.deepEqual(pieces[0], bytes.subarray(5));
});

Deno.test("a body stream of nothing ends at once", async () => {
  assert.deepEqual(await piecesOf(bodyStream(new Uint8Array(0))), []);
});

Deno.test("parts are joined in order into the buffer given, which is reused from body to body", () => {
  const into = new ByteWriter(4);
  const text = (parts: string[]) =>
    new TextDecoder().decode(joinParts(parts.map((p) => new TextEncoder().encode(p)), into));
  assert.equal(text(["--b\r\n", "{}", "\r\n--b--"]), "--b\r\n{}\r\n--b--");
  assert.equal(text(["x", "", "yz"]), "xyz", "written anew: nothing of the body before is left");
});
