import assert from "node:assert/strict";
import fc from "fast-check";
import { formatBytes, formatDuration, parseBytes, parseDuration } from "../../lib/base/units.ts";

Deno.test("a duration reads in ms, s, m and h, and a bare number is milliseconds", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("2min"), 120_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("500"), 500);
  for (const bad of ["", "s", "5 parsecs", "-1s", "1e3"]) {
    assert.ok(Number.isNaN(parseDuration(bad)), bad);
  }
});

Deno.test("a size reads binary units (K, KiB, M, MiB, G, GiB) and decimal ones (KB, MB, GB)", () => {
  assert.equal(parseBytes("512"), 512);
  assert.equal(parseBytes("64KiB"), 65536);
  assert.equal(parseBytes("64k"), 65536);
  assert.equal(parseBytes("1MiB"), 1 << 20);
  assert.equal(parseBytes("1G"), 1 << 30);
  assert.equal(parseBytes("2MB"), 2_000_000);
  for (const bad of ["", "MiB", "1 TB", "-1"]) assert.ok(Number.isNaN(parseBytes(bad)), bad);
});

Deno.test("property: what is formatted reads back as the same number", () => {
  fc.assert(fc.property(fc.nat(10 ** 10), (ms) => parseDuration(formatDuration(ms)) === ms));
  fc.assert(fc.property(fc.nat(2 ** 40), (bytes) => parseBytes(formatBytes(bytes)) === bytes));
  fc.assert(
    fc.property(
      fc.nat(1000),
      fc.constantFrom(1, 1024, 1 << 20, 1 << 30),
      (n, unit) => parseBytes(formatBytes(n * unit)) === n * unit,
    ),
  );
  assert.equal(formatDuration(Infinity), "forever");
});
