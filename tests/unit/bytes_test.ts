import assert from "node:assert/strict";
import fc from "fast-check";
import { asciiBytes, ByteWriter } from "../../lib/base/bytes.ts";

const text = (out: ByteWriter) => new TextDecoder().decode(out.bytes());

Deno.test("property: integers are written as String() writes them, zero-padded on request", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer(),
        fc.maxSafeInteger(),
        fc.constantFrom(0, -0, 9, 10, 2 ** 31, 2 ** 53 - 1),
      ),
      fc.nat(20),
      (n, width) => {
        const out = new ByteWriter(1);
        out.int(n);
        assert.equal(text(out), String(n));
        if (n >= 0) {
          out.clear();
          out.padded(n, width);
          assert.equal(text(out), String(n).padStart(width, "0"));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("property: base64 equals the platform's, padding included", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const out = new ByteWriter(1);
      out.ascii("x");
      out.base64(bytes);
      assert.equal(text(out), "x" + btoa(String.fromCharCode(...bytes)));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("a writer grows as it is written, and clear keeps nothing", () => {
  const out = new ByteWriter(2);
  out.constant(asciiBytes("a constant longer than the buffer, copied whole;"));
  out.copy(new TextEncoder().encode("0123456789"), 2, 5);
  out.utf8(" é ");
  out.twoDigits(7);
  out.byte(33);
  assert.equal(text(out), "a constant longer than the buffer, copied whole;234 é 07!");
  out.clear();
  assert.equal(out.bytes().length, 0);
});
