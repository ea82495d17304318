import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir, toolArgs } from "./helpers.ts";

/** Runs the bench with `args`; the rows of the table it wrote, each checked to be filled. */
async function benchRows(args: string[]): Promise<{ report: string; rows: string[] }> {
  await using dir = await tempDir();
  const out = join(dir.path, "BENCHMARKS.md");
  const result = await new Deno.Command(Deno.execPath(), {
    args: toolArgs("bench/run.ts", [...args, "--out", out]),
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(240_000),
  }).output();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr).slice(-2000));
  const report = await Deno.readTextFile(out);
  const rows = report.split("\n").filter((l) =>
    l.startsWith("| ") && !l.startsWith("| section") && !l.startsWith("|---")
  );
  for (const row of rows) {
    const cells = row.split(" | ");
    assert.ok(cells[2]?.trim(), `empty result in ${row}`);
    assert.ok(!/NaN|undefined|Infinity/.test(row), row);
  }
  assert.match(report, /cores .*GiB, Deno \d/);
  // Which server the figures are of, with the version it gave.
  assert.match(report, /server: (Apache CouchDB|pouchdb-server) \d+\.\d+\.\d+ \(/);
  return { report, rows };
}

Deno.test("the quick benchmark runs and fills every row of its table", async () => {
  const { rows } = await benchRows(["--quick"]);
  assert.ok(rows.length >= 15, `${rows.length} rows`);
  for (
    const section of [
      "1. Reading",
      "2. Catch-up",
      "3. Live latency",
      "4. Memory",
      "5. Idle",
      "6. Correctness",
      "7. Scaling",
      "8. The receiver",
    ]
  ) {
    assert.ok(rows.some((r) => r.includes(section)), `no ${section} row`);
  }
});

Deno.test("the long live run (--live, here 6 s) samples RSS and fills its rows", async () => {
  const { report, rows } = await benchRows(["--live", "0.1"]);
  assert.match(report, /deno task bench -- --live 0\.1/);
  assert.equal(rows.length, 3);
  const memory = rows.find((r) => r.includes("4. Memory"));
  // Four samples, a quarter of the run apart (each minute in a run of minutes).
  assert.match(memory ?? "", /(\d+\.\d, ){3}\d+\.\d MB every 1\.5 s; [+-]\d/);
  assert.ok(rows.some((r) => r.includes("3. Live latency") && /p99 \d/.test(r)));
  assert.ok(rows.some((r) => r.includes("5. Idle")));
});
