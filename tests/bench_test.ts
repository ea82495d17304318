import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir, toolArgs } from "./helpers.ts";

Deno.test("the quick benchmark runs and fills every row of its table", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "BENCHMARKS.md");
  const result = await new Deno.Command(Deno.execPath(), {
    args: toolArgs("bench/run.ts", ["--quick", "--out", out]),
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(240_000),
  }).output();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr).slice(-2000));
  const report = await Deno.readTextFile(out);
  const rows = report.split("\n").filter((l) =>
    l.startsWith("| ") && !l.startsWith("| section") && !l.startsWith("|---")
  );
  assert.ok(rows.length >= 15, `${rows.length} rows`);
  for (const row of rows) {
    const cells = row.split(" | ");
    assert.ok(cells[2]?.trim(), `empty result in ${row}`);
    assert.ok(!/NaN|undefined/.test(row), row);
  }
  for (
    const section of [
      "1. Reading",
      "2. Catch-up",
      "3. Live latency",
      "4. Memory",
      "5. Idle",
      "6. Correctness",
      "7. Scaling",
    ]
  ) {
    assert.ok(rows.some((r) => r.includes(section)), `no ${section} row`);
  }
  assert.match(report, /cores .*GiB, Deno \d/);
});
