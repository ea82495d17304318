/**
 * 6. Correctness: every line stored once, through a replayed backlog and beside syslog-ng.
 * @module
 */
import { join } from "node:path";
import { getJson, measure, num, program } from "../measure.ts";
import type { Bench, Section } from "../bench.ts";
import { haveCommand, runSyslogNg, SYSLOG_NG } from "./peers.ts";

/** Records-mode documents (one per line) in a database. */
async function recordCount(db: string): Promise<number> {
  const range = `startkey=${encodeURIComponent('"rec:"')}&endkey=${
    encodeURIComponent('"rec:\ufff0"')
  }`;
  const body = await getJson(`${db}/_all_docs?${range}`);
  return (body.rows as unknown[] | undefined)?.length ?? 0;
}

async function correctness(bench: Bench): Promise<void> {
  console.error("6. correctness: the same log twice");
  const lines = Math.min(bench.sizes.server, 20_000);
  const path = await bench.simulatedLog(lines);
  const db = bench.freshDb();
  const cache = join(bench.work, "twice.json");
  const first = await measure(
    program("capture", bench.captureArgs(db, cache, "--once", "--mode", "records", path)),
  );
  await Deno.remove(cache);
  const second = await measure(
    program("capture", bench.captureArgs(db, cache, "--once", "--mode", "records", path)),
  );
  const said = /no cache file[^\n]*/.exec(second.stderr)?.[0] ??
    /skipped [^\n]*/.exec(second.stderr)?.[0] ?? "nothing said";
  bench.add(
    "6. Correctness: the same log sent twice (cache file lost)",
    `capture, records mode, ${num(lines)} lines`,
    `${num(await recordCount(db))} line documents (exit ${first.code}, ${second.code}); it said: “${
      said.replace(/^.*?(no cache|skipped)/, "$1").slice(0, 140)
    }”`,
    "each line once",
  );
  // The second host handed the same extracts again (a replayed hand-over).
  const drop = await bench.extractsOf(path, "replay-");
  const rdb = bench.freshDb();
  const monitor = program("monitor", [
    "--couchdb",
    rdb,
    "--year",
    bench.year,
    "--mode",
    "records",
    "--once",
    drop,
  ]);
  const handed = await measure(monitor);
  for (const { name } of Deno.readDirSync(join(drop, "done"))) {
    await Deno.rename(join(drop, "done", name), join(drop, name));
  }
  const replayed = await measure(monitor);
  const skips = [...replayed.stderr.matchAll(/skipped (\d+) bytes that CouchDB already held/g)];
  const skipped = skips.length
    ? `skipped ${
      num(skips.reduce((n, m) => n + Number(m[1]), 0))
    } bytes that CouchDB already held` +
      ` (${skips.length} extract${skips.length === 1 ? "" : "s"})`
    : "nothing said";
  bench.add(
    "6. Correctness: the same log sent twice (an extract replayed)",
    `monitor, records mode, ${num(lines)} lines`,
    `${
      num(await recordCount(rdb))
    } line documents (exit ${handed.code}, ${replayed.code}); it said: “${skipped}”`,
    "each line once",
  );
  await Deno.remove(drop, { recursive: true });
  if (await haveCommand(SYSLOG_NG)) {
    const sdb = bench.freshDb();
    const a = await runSyslogNg(bench, path, lines, sdb, "twice-a");
    const b = await runSyslogNg(bench, path, 2 * lines, sdb, "twice-b");
    bench.add(
      "6. Correctness: the same log sent twice (cache file lost)",
      `syslog-ng (persist file lost), ${num(lines)} lines`,
      `${num(b.docs)} documents after the second run (${
        num(a.docs)
      } after the first), no error reported`,
      "",
    );
  } else {
    bench.add(
      "6. Correctness: the same log sent twice (cache file lost)",
      "syslog-ng",
      "n/a: not installed",
      "",
    );
  }
}

/** The correctness section: the rows it adds. */
export const correctnessSection: Section = {
  name: "correctness",
  run: (bench) => bench.rowsOf(() => correctness(bench)),
};
