import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { sha256Hex } from "../../lib/base/sha256.ts";

const test = Deno.test;
const text = (s: string) => new TextEncoder().encode(s);

test("sha256: the FIPS 180-4 examples and the empty message", () => {
  assert.equal(
    sha256Hex(text("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

test("sha256: the same digest as node:crypto for any bytes, across every block boundary", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.equal(sha256Hex(bytes), createHash("sha256").update(bytes).digest("hex"));
    }),
    { numRuns: 2000 },
  );
  for (let length = 0; length <= 130; length++) {
    const bytes = new Uint8Array(length).fill(length);
    assert.equal(sha256Hex(bytes), createHash("sha256").update(bytes).digest("hex"), `${length}`);
  }
});
