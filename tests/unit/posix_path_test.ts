import assert from "node:assert/strict";
import { posix } from "node:path";
import fc from "fast-check";
import { basename, dirname, isAbsolute, join, resolve } from "../../lib/base/posix_path.ts";

const test = Deno.test;

/** Paths made of the pieces that matter: slashes, dots, names, and nothing. */
const path = fc.array(fc.constantFrom("/", "//", ".", "..", "a", "b.log", "", "..."), {
  maxLength: 8,
}).map((pieces) => pieces.join(""));

test("posix_path: the same answers as node:path's POSIX functions on any path", () => {
  fc.assert(
    fc.property(path, fc.array(path, { maxLength: 4 }), (one, many) => {
      assert.equal(basename(one), posix.basename(one), `basename(${JSON.stringify(one)})`);
      assert.equal(dirname(one), posix.dirname(one), `dirname(${JSON.stringify(one)})`);
      assert.equal(isAbsolute(one), posix.isAbsolute(one), `isAbsolute(${JSON.stringify(one)})`);
      assert.equal(join(...many), posix.join(...many), `join(${JSON.stringify(many)})`);
      assert.equal(resolve(...many), posix.resolve(...many), `resolve(${JSON.stringify(many)})`);
    }),
    { numRuns: 5000 },
  );
});
