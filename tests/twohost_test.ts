/**
 * The two-host configuration as real processes: capture tail-only → drop directory or HTTP →
 * monitor → CouchDB, every line exactly once, through crashes on either side.
 */
import assert from "node:assert/strict";
import { loopbackCertificates } from "../tools/certificates.ts";
import {
  append,
  assertFeedOnce,
  assertRecordsOnce,
  expectedRows,
  feedDocs,
  feedEnd,
  freePortForTest,
  freshDb,
  lineOffsets,
  receivingMonitor,
  recordDocs,
  run,
  Running,
  simulatedLines,
  startWriter,
  tempDir,
  test,
  until,
} from "./helpers.ts";

const lines = simulatedLines(11);

function tailArgs(dir: string, ...extra: string[]): string[] {
  return [
    "-t",
    "Tail_Only",
    "--cache",
    `${dir}/cache.json`,
    "--source",
    "t",
    "--flush-ms",
    "100",
    "--poll-ms",
    "100",
    ...extra,
  ];
}

function monitorArgs(db: string, drop: string, ...extra: string[]): string[] {
  return ["--couchdb", db, "--year", "2012", "--poll-ms", "100", ...extra, drop];
}

async function setup() {
  const dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  return { dir, drop, log: `${dir.path}/spysocket.log`, db: freshDb("two") };
}

/** A monitor receiving extracts over HTTP (`--listen`) with the token `token`, once it listens. */
test("end to end through a drop directory: monitor started before capture, every line once", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(300));
  const port = freePortForTest();
  await using monitor = new Running(
    "monitor",
    monitorArgs(db, drop, "--status-listen", `127.0.0.1:${port}`),
  );
  await monitor.waitFor(/monitoring/);
  await using _capture = new Running("capture", tailArgs(dir.path, "--extract-dir", drop, log));
  const writer = startWriter(log, lines);
  await new Promise((r) => setTimeout(r, 1000));
  await writer.stop();
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  await assertFeedOnce(db, await Deno.readFile(log));
  const done = [...Deno.readDirSync(`${drop}/done`)].length;
  assert.ok(done > 1, `${done} extracts in done/`);
  assert.equal([...Deno.readDirSync(drop)].filter((e) => e.isFile).length, 0);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const metric = (name: string) =>
    Number(new RegExp(`^logcapture_monitor_${name} (\\S+)$`, "m").exec(metrics)?.[1]);
  assert.equal(metric("extracts_done_total"), done);
  assert.equal(metric("rows_pushed_total"), expectedRows(await Deno.readFile(log)).length);
  assert.equal(metric("extracts_pending"), 0);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  monitor.kill("SIGTERM");
  assert.equal((await monitor.done).code, 0);
});

test("a backlog of extracts at monitor start, monitor started after capture, --done delete", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  for (let i = 0; i < 5; i++) {
    await append(log, lines(200));
    assert.equal(
      (await run("capture", tailArgs(dir.path, "--extract-dir", drop, "--once", log))).code,
      0,
    );
  }
  assert.equal([...Deno.readDirSync(drop)].length, 5);
  const result = await run("monitor", monitorArgs(db, drop, "--once", "--done", "delete"));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
  assert.equal([...Deno.readDirSync(drop)].length, 0);
});

test("extracts longer than the monitor's read buffer, cut into many batches, two in flight across extracts: every line once, in both modes", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  // About 2.6 MB of log in one extract (tail-only's default is up to 4 MiB): it is read in several
  // chunks of the 1 MiB buffer the monitor reuses from one extract to the next.
  await append(log, lines(17_000));
  const made = await run(
    "capture",
    tailArgs(dir.path, "--extract-dir", drop, "--batch-lines", "100000", "--once", log),
  );
  assert.equal(made.code, 0, made.stderr);
  const extracts = [...Deno.readDirSync(drop)].filter((e) => e.name.endsWith(".log"));
  assert.equal(extracts.length, 1, extracts.map((e) => e.name).join(" "));
  assert.equal(Deno.statSync(`${drop}/${extracts[0].name}`).size, Deno.statSync(log).size);
  await append(log, lines(3000));
  const more = await run(
    "capture",
    tailArgs(dir.path, "--extract-dir", drop, "--batch-lines", "700", "--once", log),
  );
  assert.equal(more.code, 0, more.stderr);
  assert.ok([...Deno.readDirSync(drop)].length >= 6);
  const bytes = await Deno.readFile(log);
  const result = await run("monitor", monitorArgs(db, drop, "--once", "--batch-lines", "1500"));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, bytes);
  // The same extracts again, in records mode, into another database.
  for (const entry of Deno.readDirSync(`${drop}/done`)) {
    await Deno.rename(`${drop}/done/${entry.name}`, `${drop}/${entry.name}`);
  }
  const records = freshDb("bigrec");
  const again = await run(
    "monitor",
    monitorArgs(records, drop, "--once", "--mode", "records", "--batch-lines", "900"),
  );
  assert.equal(again.code, 0, again.stderr);
  await assertRecordsOnce(records, bytes);
});

test("crash loop on both sides: 20 SIGKILLs of capture and of the monitor while a writer appends", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(1000));
  const writer = startWriter(log, lines);
  try {
    for (let i = 0; i < 20; i++) {
      const capture = new Running(
        "capture",
        tailArgs(dir.path, "--extract-dir", drop, "--batch-lines", "100", "--flush-ms", "20", log),
      );
      const monitor = new Running("monitor", monitorArgs(db, drop));
      await Promise.all([capture.waitFor(/capturing/), monitor.waitFor(/monitoring/)]);
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      (i % 2 ? capture : monitor).kill("SIGKILL");
      await new Promise((r) => setTimeout(r, Math.random() * 200));
      capture.kill("SIGKILL");
      monitor.kill("SIGKILL");
      await Promise.all([capture.done, monitor.done]);
    }
  } finally {
    await writer.stop();
  }
  assert.equal(
    (await run("capture", tailArgs(dir.path, "--extract-dir", drop, "--once", log))).code,
    0,
  );
  const result = await run("monitor", monitorArgs(db, drop, "--once"));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("overlapping extracts (a range extracted again with other boundaries) are not doubled", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(400));
  assert.equal(
    (await run(
      "capture",
      tailArgs(dir.path, "--extract-dir", drop, "--once", "--batch-lines", "150", log),
    )).code,
    0,
  );
  // A crashed capture that lost its cache file extracts everything again, in other batches.
  await Deno.remove(`${dir.path}/cache.json`);
  assert.equal(
    (await run(
      "capture",
      tailArgs(dir.path, "--extract-dir", drop, "--once", "--batch-lines", "110", log),
    )).code,
    0,
  );
  const result = await run("monitor", monitorArgs(db, drop, "--once"));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("back-pressure: the drop directory stays near --max-pending-bytes until the monitor catches up", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(8000)); // about 1.2 MB
  const limit = 200_000;
  await using capture = new Running(
    "capture",
    tailArgs(
      dir.path,
      "--extract-dir",
      drop,
      "--batch-bytes",
      "40000",
      "--max-pending-bytes",
      String(limit),
      log,
    ),
  );
  await capture.waitFor(/extracting is paused/);
  const held = [...Deno.readDirSync(drop)].reduce(
    (n, e) => n + Deno.statSync(`${drop}/${e.name}`).size,
    0,
  );
  assert.ok(held <= limit + 40_000, `${held} bytes held`);
  await using monitor = new Running("monitor", monitorArgs(db, drop));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size, 30_000);
  await capture.waitFor(/has room again/);
  await assertFeedOnce(db, await Deno.readFile(log));
  monitor.kill("SIGTERM");
  assert.equal((await monitor.done).code, 0);
});

test("files that cannot be extracts go to rejected/ with a reason, and the monitor goes on", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(50));
  assert.equal(
    (await run("capture", tailArgs(dir.path, "--extract-dir", drop, "--once", log))).code,
    0,
  );
  await Deno.writeTextFile(`${drop}/notes.log`, "hello\n");
  await Deno.writeTextFile(`${drop}/x.0.0000000000000000-0000000000000100.log`, "too short\n");
  await Deno.writeTextFile(`${drop}/y.0.0000000000000000-0000000000000005.log`, "abcde");
  await Deno.writeTextFile(`${drop}/.hidden.log`, "ignored\n");
  await Deno.writeTextFile(`${drop}/README`, "ignored\n");
  const result = await run("monitor", monitorArgs(db, drop, "--once"));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
  const rejected = [...Deno.readDirSync(`${drop}/rejected`)].map((e) => e.name).sort();
  assert.deepEqual(rejected, [
    "notes.log",
    "notes.log.reason",
    "x.0.0000000000000000-0000000000000100.log",
    "x.0.0000000000000000-0000000000000100.log.reason",
    "y.0.0000000000000000-0000000000000005.log",
    "y.0.0000000000000000-0000000000000005.log.reason",
  ]);
  assert.match(
    await Deno.readTextFile(`${drop}/rejected/x.0.0000000000000000-0000000000000100.log.reason`),
    /size/,
  );
  assert.match(
    await Deno.readTextFile(`${drop}/rejected/y.0.0000000000000000-0000000000000005.log.reason`),
    /whole line/,
  );
  assert.ok(Deno.statSync(`${drop}/.hidden.log`).isFile);
  assert.ok(Deno.statSync(`${drop}/README`).isFile);
});

test("shipping over HTTP end to end: capture --ship-to → receiver → monitor → CouchDB", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(500));
  const receiving = await receivingMonitor(dir.path, drop, db, "s3cret-token");
  await using _monitor = receiving.monitor;
  await using capture = new Running(
    "capture",
    tailArgs(dir.path, "--ship-to", receiving.url, "--token-file", receiving.tokenFile, log),
  );
  const writer = startWriter(log, lines);
  await new Promise((r) => setTimeout(r, 800));
  await writer.stop();
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  await assertFeedOnce(db, await Deno.readFile(log));
  assert.ok(!capture.stderr.includes("s3cret-token"));
});

test("the receiver: wrong token, traversal names, too large, same and other bytes, a client gone half-way", async () => {
  const { dir, drop, db } = await setup();
  await using _ = dir;
  await Deno.writeTextFile(`${dir.path}/token`, "tok");
  const port = freePortForTest();
  await using monitor = new Running(
    "monitor",
    monitorArgs(
      db,
      drop,
      "--listen",
      `127.0.0.1:${port}`,
      "--token-file",
      `${dir.path}/token`,
      "--max-extract-bytes",
      "1000",
      "--done",
      "keep",
    ),
  );
  await monitor.waitFor(/receiving extracts/);
  const base = `http://127.0.0.1:${port}/extracts/`;
  const put = async (name: string, body: string, token = "tok") => {
    const response = await fetch(base + name, {
      method: "PUT",
      body,
      headers: { Authorization: `Bearer ${token}` },
    });
    await response.body?.cancel();
    return response.status;
  };
  const name = "r.0.0000000000000000-0000000000000006.log";
  assert.equal(await put(name, "hello\n", "wrong"), 401);
  assert.equal(await put(name, "hello\n", ""), 401);
  assert.ok([400, 404].includes(await put("..", "hello\n")));
  for (
    const bad of [
      "..%2Fx.0.0000000000000000-0000000000000006.log",
      "a%2Fb.0.0000000000000000-0000000000000006.log",
      "%2Ftmp%2Fx.log",
      "%2E%2E%2F..%2Fx.log",
      ".hidden.0.0000000000000000-0000000000000006.log",
      "plain.txt",
    ]
  ) {
    assert.equal(await put(bad, "hello\n"), 400, bad);
  }
  assert.equal(
    await put("r.0.0000000000000000-0000000000002000.log", "x".repeat(1999) + "\n"),
    413,
  );
  assert.equal(await put(name, "hello\n"), 201);
  assert.equal(await put(name, "hello\n"), 200);
  assert.equal(await put(name, "HELLO\n"), 409);
  // A body that is not what its name says is refused before any answer of 201, and not written.
  const refused = {
    "r.0.0000000000000010-0000000000000016.log": "hello!\n", // longer than its range
    "r.0.0000000000000020-0000000000000026.log": "hello!", // no newline at the end
    "r.0.0000000000000030-0000000000000036.log": "", // empty
  };
  for (const [bad, body] of Object.entries(refused)) assert.equal(await put(bad, body), 400, bad);
  for (const bad of Object.keys(refused)) {
    assert.equal(await Deno.stat(`${drop}/${bad}`).then(() => true, () => false), false, bad);
  }
  // A client that sends half its body and goes away leaves nothing behind.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const half = "r.0.0000000000000006-0000000000000106.log";
  await conn.write(
    new TextEncoder().encode(
      `PUT /extracts/${half} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 100\r\n\r\n${
        "y".repeat(40)
      }`,
    ),
  );
  await new Promise((r) => setTimeout(r, 200));
  conn.close();
  await new Promise((r) => setTimeout(r, 300));
  const names = [...Deno.readDirSync(drop)].map((e) => e.name);
  assert.ok(!names.includes(half), names.join(" "));
  assert.ok(!names.some((n) => n.endsWith(".tmp")), names.join(" "));
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), ["drop", "token"]);
});

test("https shipping with a private CA (--tls-cert/--tls-key, --ca-file)", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  const made = await loopbackCertificates(dir.path);
  if (!made) {
    console.log("skipped: openssl could not make test certificates");
    return;
  }
  await Deno.writeTextFile(`${dir.path}/token`, "tok");
  const port = freePortForTest();
  await append(log, lines(100));
  await using monitor = new Running(
    "monitor",
    monitorArgs(
      db,
      drop,
      "--listen",
      `127.0.0.1:${port}`,
      "--token-file",
      `${dir.path}/token`,
      "--tls-cert",
      made.cert,
      "--tls-key",
      made.key,
    ),
  );
  await monitor.waitFor(/receiving extracts on https/);
  const result = await run(
    "capture",
    tailArgs(
      dir.path,
      "--once",
      "--ship-to",
      `https://127.0.0.1:${port}`,
      "--token-file",
      `${dir.path}/token`,
      "--ca-file",
      made.ca,
      log,
    ),
  );
  assert.equal(result.code, 0, result.stderr);
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("tail-only usage errors exit 2 with the fix", async () => {
  const cases: [string[], RegExp][] = [
    [["-t", "Everything", "x.log"], /-t takes Tail_Only/],
    [["-t", "TAIL_ONLY", "x.log"], /needs --extract-dir DIR or --ship-to URL/],
    [["--tail-only", "--ship-to", "http://127.0.0.1:1", "x.log"], /--ship-to needs --token-file/],
    [["--tail-only", "--extract-dir", "/nonexistent", "x.log"], /is not a directory/],
  ];
  for (const [args, message] of cases) {
    const result = await run("capture", args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  const monitor = await run("monitor", [
    "--couchdb",
    "http://127.0.0.1:1/x",
    "--listen",
    "nope",
    "/tmp",
  ]);
  assert.equal(monitor.code, 2);
});

test("records mode through the monitor: one document per line, batches cut at --batch-lines, a replayed extract trimmed and said", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(700));
  assert.equal(
    (await run("capture", tailArgs(dir.path, "--extract-dir", drop, "--once", log))).code,
    0,
  );
  const first = await run(
    "monitor",
    monitorArgs(db, drop, "--once", "--mode", "records", "--batch-lines", "64"),
  );
  assert.equal(first.code, 0, first.stderr);
  // The same extract again (a replayed hand-over): nothing is doubled.
  for (const entry of Deno.readDirSync(`${drop}/done`)) {
    await Deno.copyFile(`${drop}/done/${entry.name}`, `${drop}/${entry.name}`);
  }
  await Deno.remove(`${drop}/done`, { recursive: true });
  const again = await run(
    "monitor",
    monitorArgs(db, drop, "--once", "--mode", "records", "--batch-lines", "100"),
  );
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /\.log: skipped \d+ bytes that CouchDB already held/);
  const docs = await recordDocs(db);
  assert.deepEqual(
    docs.map((d) => d.line_offset as number).sort((a, b) => a - b),
    lineOffsets(await Deno.readFile(log)),
  );
  assert.ok(
    new Set(docs.map((d) => d.batch_start)).size >= 700 / 64,
    "batches of at most 64 lines",
  );
});

test("a second monitor on the same drop directory refuses to start, naming it; a SIGKILL leaves no stale lock", async () => {
  const { dir, drop, db } = await setup();
  await using _ = dir;
  await using first = new Running("monitor", monitorArgs(db, drop));
  await first.waitFor(/monitoring/);
  const second = await run("monitor", monitorArgs(db, drop, "--once"));
  assert.equal(second.code, 1);
  assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`drop directory ${drop} is in use by another process: another monitor`),
  );
  first.kill("SIGKILL");
  await first.done;
  assert.equal((await run("monitor", monitorArgs(db, drop, "--once"))).code, 0);
});

test("tail-only, the log rotated and the cache file lost: the new file's lines are stored (SPEC §4 file ids), nothing doubled", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(300));
  const tail = () => run("capture", tailArgs(dir.path, "--extract-dir", drop, "--once", log));
  assert.equal((await tail()).code, 0);
  assert.equal((await run("monitor", monitorArgs(db, drop, "--once"))).code, 0);
  const old = await Deno.readFile(log);
  await Deno.rename(log, `${log}.1`);
  await Deno.remove(`${dir.path}/cache.json`);
  await append(log, lines(150));
  // No cache file: the new file starts as generation 0 again, at 0, where CouchDB holds the old one.
  assert.equal((await tail()).code, 0);
  assert.ok(
    [...Deno.readDirSync(drop)].some((e) => /^t\.0\.0{16}-\d{16}\.[0-9a-f]{16}\.log$/.test(e.name)),
    "extract names carry the file id",
  );
  const stored = await run("monitor", monitorArgs(db, drop, "--once"));
  assert.equal(stored.code, 0, stored.stderr);
  await assertFeedOnce(db, old, 0);
  await assertFeedOnce(db, await Deno.readFile(log), 1);
});

test("extracts that start inside a stored document (two captures on one log, other boundaries) are trimmed to what CouchDB holds", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(600));
  const tail = (cache: string, batchLines: string) =>
    run("capture", [
      ...tailArgs(dir.path, "--extract-dir", drop, "--once", "--batch-lines", batchLines),
      ...["--cache", `${dir.path}/${cache}`, log],
    ]);
  assert.equal((await tail("a.json", "100")).code, 0);
  assert.equal((await run("monitor", monitorArgs(db, drop, "--once"))).code, 0);
  // A second capture with a cache file of its own: extracts whose starts fall inside stored ones.
  assert.equal((await tail("b.json", "70")).code, 0);
  const again = await run("monitor", monitorArgs(db, drop, "--once"));
  assert.equal(again.code, 0, again.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
  assert.match(again.stderr, /skipped \d+ bytes that CouchDB already held/);
});

test("tail-only, a cache file that does not fit the log: refused, naming it and the way out, which stores each line once", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(300));
  const tail = (...extra: string[]) =>
    run("capture", tailArgs(dir.path, "--extract-dir", drop, "--once", ...extra, log));
  assert.equal((await tail()).code, 0);
  assert.equal((await run("monitor", monitorArgs(db, drop, "--once"))).code, 0);
  const cache = `${dir.path}/cache.json`;
  const checkpoint = JSON.parse(await Deno.readTextFile(cache));
  for (const offset of [checkpoint.offset - 40, checkpoint.offset + 100_000]) {
    await Deno.writeTextFile(cache, JSON.stringify({ ...checkpoint, offset }));
    const refused = await tail();
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`cache file ${cache} does not fit .*Move it away`));
  }
  // The way out: moved away, the log is handed over again from its start (in other extracts than
  // the first time), and each line is stored once.
  await Deno.rename(cache, `${cache}.bad`);
  await append(log, lines(50));
  assert.equal((await tail("--batch-lines", "70")).code, 0);
  const stored = await run("monitor", monitorArgs(db, drop, "--once"));
  assert.equal(stored.code, 0, stored.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("a line longer than the limit, shipped over HTTP: its note (first bytes) travels, it is stored as rejected, and the lines after it arrive", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  const before = lines(50);
  await append(log, before + "X".repeat(300_000) + "\n" + lines(50));
  // The receiver takes less than the long line: it must never be sent whole.
  const receiving = await receivingMonitor(
    dir.path,
    drop,
    db,
    "tok",
    "--max-extract-bytes",
    "100000",
  );
  await using _monitor = receiving.monitor;
  const shipped = await run("capture", [
    ...tailArgs(dir.path, "--ship-to", receiving.url, "--once"),
    ...["--token-file", receiving.tokenFile, "--max-line-bytes", "50000", log],
  ]);
  assert.equal(shipped.code, 0, shipped.stderr);
  const bytes = await Deno.readFile(log);
  await until(async () => await feedEnd(db) === bytes.length, 20_000, "every line in CouchDB");
  await assertFeedOnce(db, bytes);
  const docs = await feedDocs(db);
  const noted = docs.find((d) => (d as { rejected?: number }).rejected === 1);
  assert.ok(noted, "a document holds the over-long line as rejected");
  assert.equal(noted.source.start, new TextEncoder().encode(before).length);
  assert.equal(noted.source.end - noted.source.start, 300_001);
});

test("--ship-to with the cache file lost: the receiver says where this file stands, and only what follows is shipped", async () => {
  const { dir, drop, log, db } = await setup();
  await using _ = dir;
  await append(log, lines(300));
  const receiving = await receivingMonitor(dir.path, drop, db);
  await using _monitor = receiving.monitor;
  const port = receiving.port;
  const ship = () =>
    run("capture", [
      ...tailArgs(dir.path, "--ship-to", receiving.url, "--once"),
      ...["--token-file", receiving.tokenFile, log],
    ]);
  assert.equal((await ship()).code, 0);
  const first = (await Deno.stat(log)).size;
  await until(async () => await feedEnd(db) === first, 20_000, "the first part stored");
  await Deno.remove(`${dir.path}/cache.json`);
  await append(log, lines(100));
  const again = await ship();
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stderr,
    new RegExp(
      `no cache file .*; the receiver at http://127\\.0\\.0\\.1:${port} holds this file \\(generation 0\\): continuing at offset ${first}`,
    ),
  );
  const bytes = await Deno.readFile(log);
  await until(async () => await feedEnd(db) === bytes.length, 20_000, "the rest stored");
  await assertFeedOnce(db, bytes);
  const starts = [...Deno.readDirSync(`${drop}/done`)].map((e) =>
    e.name.split(".")[2].slice(0, 16)
  );
  assert.equal(starts.filter((s) => Number(s) === 0).length, 1, "the start shipped once");
});

test("the receiver takes 16 uploads at once: more are answered 503 with Retry-After, and taken once they are done", async () => {
  const { dir, drop, db } = await setup();
  await using _ = dir;
  const receiving = await receivingMonitor(dir.path, drop, db);
  await using _monitor = receiving.monitor;
  const port = receiving.port;
  // Sixteen uploads that send their headers and some of their body, then hang.
  const held: Deno.Conn[] = [];
  for (let i = 0; i < 16; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const name = `h.0.${String(i * 1000).padStart(16, "0")}-${
      String(i * 1000 + 1000).padStart(16, "0")
    }.log`;
    await conn.write(new TextEncoder().encode(
      `PUT /extracts/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 1000\r\n\r\n${
        "y".repeat(100)
      }`,
    ));
    held.push(conn);
  }
  const put = async () => {
    const response = await fetch(
      `http://127.0.0.1:${port}/extracts/n.0.0000000000000000-0000000000000006.log`,
      {
        method: "PUT",
        body: "hello\n",
        headers: { Authorization: "Bearer tok" },
      },
    );
    await response.body?.cancel();
    return response;
  };
  // The sixteenth upload is taken once its request is read: wait for the 503 the next one gets.
  await until(async () => (await put()).status === 503, 10_000, "503 while 16 uploads hang");
  assert.equal((await put()).headers.get("retry-after"), "1");
  for (const conn of held) conn.close();
  await until(async () => (await put()).status === 201, 10_000, "201 once they are gone");
});

test("a document the monitor stores names its extract, not a path in the drop directory (SPEC §3)", async () => {
  await using dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  const db = freshDb("extractname");
  const name = "t.0.0000000000000000-0000000000000002.0123456789abcdef.log";
  await Deno.writeTextFile(`${drop}/${name}`, "a\n");
  const result = await run("monitor", ["--couchdb", db, "--year", "2012", "--once", drop]);
  assert.equal(result.code, 0, result.stderr);
  const [doc] = await feedDocs(db);
  const source = doc.source as unknown as Record<string, unknown>;
  assert.equal(source.extract, name);
  assert.equal(source.path, undefined);
});
