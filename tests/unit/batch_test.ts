/**
 * Names and ids (`lib/sink/batch.ts`, SPEC §3 and §4): extract names read back to what they were
 * made of, names that are not extracts are refused, and ids sort in log order.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  extractName,
  feedDocId,
  generationDocId,
  idPrefix,
  parseExtractName,
  recordDocId,
} from "../../lib/sink/batch.ts";

const source = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/);
const offset = fc.integer({ min: 0, max: 2 ** 50 });

Deno.test("property: an extract name reads back to its source, generation, range, file id and kind", () => {
  fc.assert(
    fc.property(
      source,
      fc.nat(999_999_999),
      offset,
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.option(fc.stringMatching(/^[0-9a-f]{16}$/), { nil: undefined }),
      fc.constantFrom("log" as const, "long" as const, "last" as const),
      (src, generation, start, length, fileId, kind) => {
        const name = extractName(src, generation, start, start + length, fileId, kind);
        assert.deepEqual(parseExtractName(name), {
          source: src,
          generation,
          start,
          end: start + length,
          ...(fileId ? { fileId } : {}),
          ...(kind === "long" ? { long: true } : {}),
          ...(kind === "last" ? { last: true } : {}),
        });
      },
    ),
  );
});

Deno.test("names that are not extracts are refused: paths, dot-files, empty or reversed ranges, other kinds", () => {
  const good = "avl1.0.0000000000000000-0000000000000009.0123456789abcdef.log";
  assert.ok(parseExtractName(good));
  for (
    const name of [
      `../${good}`,
      `sub/${good}`,
      `.${good}`,
      "avl1.0.0000000000000009-0000000000000009.log",
      "avl1.0.0000000000000009-0000000000000001.log",
      "avl1.0.0000000000000000-0000000000000009.gz",
      "avl1.0.0000000000000000-0000000000000009.0123456789ABCDEF.log",
      `${good}.tmp`,
    ]
  ) {
    assert.equal(parseExtractName(name), null, name);
  }
});

Deno.test("property: ids sort in log order within a generation, and generations apart", () => {
  fc.assert(
    fc.property(source, fc.nat(1000), offset, offset, (src, generation, a, b) => {
      assert.equal(feedDocId(src, generation, a) < feedDocId(src, generation, b), a < b);
      assert.equal(recordDocId(src, generation, a) < recordDocId(src, generation, b), a < b);
      assert.ok(feedDocId(src, generation, a).startsWith(idPrefix("feed", src, generation)));
      assert.ok(recordDocId(src, generation, a).startsWith(idPrefix("rec", src)));
      assert.equal(generationDocId(src, generation), `${idPrefix("gen", src)}${generation}`);
    }),
  );
});
