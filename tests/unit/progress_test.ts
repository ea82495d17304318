import assert from "node:assert/strict";
import { CatchUpProgress } from "../../lib/run/progress.ts";

Deno.test("a catch-up report comes at most once a period, and only while far behind", () => {
  const progress = new CatchUpProgress(10_000, 1 << 20, 0);
  assert.equal(progress.due(9_999), false);
  assert.equal(progress.due(10_000), true);
  assert.match(
    progress.report(50_000_000, 8 << 20, 10_000)!,
    /^catching up: 8388608 bytes behind, 5000000 bytes\/s/,
  );
  assert.equal(progress.due(15_000), false, "the period starts again at each report");
  assert.equal(
    progress.report(60_000_000, 100, 20_000),
    null,
    "less than a batch behind: keeping up",
  );
});

Deno.test("the time left comes from the rate between reports", () => {
  const progress = new CatchUpProgress(1000, 0, 0);
  assert.equal(
    progress.report(200_000, 2_000_000, 1000),
    "catching up: 2000000 bytes behind, 200000 bytes/s, about 10 s left",
  );
  assert.equal(
    progress.report(200_000, 2_000_000, 2000),
    "catching up: 2000000 bytes behind, 0 bytes/s, not moving",
  );
});
