/**
 * capture, all-in-one, as a real process against the real server: every line exactly once through
 * appends, crashes, rotations, truncations, outages and signals.
 */
import assert from "node:assert/strict";
import { loopbackCertificates } from "../tools/certificates.ts";
import {
  append,
  assertFeedOnce,
  assertRecordsOnce,
  assertVerified,
  captureArgs,
  expectedRows,
  feedDocs,
  feedEnd,
  feedRowsOnce,
  FIXTURES,
  freePortForTest,
  freshDb,
  lineOffsets,
  Proxy,
  recordDocs,
  refusingServer,
  run,
  Running,
  serverUrl,
  simulatedLines,
  startWriter,
  tempDir,
  test,
  until,
} from "./helpers.ts";

const lines = simulatedLines(7);

test("a writer appends while capture runs: every line exactly once, in order", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("live");
  await append(log, lines(500));
  await using capture = new Running("capture", captureArgs(db, dir.path, log));
  await capture.waitFor(/capturing/);
  const writer = startWriter(log, lines, true);
  await new Promise((r) => setTimeout(r, 1500));
  await writer.stop();
  const size = (await Deno.stat(log)).size;
  await until(async () => await feedEnd(db) === size, 20_000, "all lines in CouchDB");
  capture.kill("SIGTERM");
  assert.equal((await capture.done).code, 0);
  await assertFeedOnce(db, await Deno.readFile(log));
});

for (const mode of ["feed", "records"]) {
  test(`crash loop (${mode}): 20 SIGKILLs at random moments while a writer appends, nothing lost or doubled`, async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("crash");
    await append(log, lines(2000));
    const writer = startWriter(log, lines, true);
    try {
      for (let i = 0; i < 20; i++) {
        const capture = new Running(
          "capture",
          captureArgs(
            db,
            dir.path,
            "--mode",
            mode,
            "--batch-lines",
            "150",
            "--flush-ms",
            "20",
            log,
          ),
        );
        await capture.waitFor(/capturing/);
        await new Promise((r) => setTimeout(r, Math.random() * 400));
        capture.kill("SIGKILL");
        await capture.done;
      }
    } finally {
      await writer.stop();
    }
    const final = await run("capture", captureArgs(db, dir.path, "--mode", mode, "--once", log));
    assert.equal(final.code, 0, final.stderr);
    const bytes = await Deno.readFile(log);
    if (mode === "feed") await assertFeedOnce(db, bytes);
    else await assertRecordsOnce(db, bytes);
    await assertVerified(db, dir.path, log, "--mode", mode);
  });
}

test("--once on a fixture stores the reference rows and exits 0", async () => {
  await using dir = await tempDir();
  const db = freshDb("once");
  const log = `${dir.path}/hrt.log`;
  await Deno.copyFile(`${FIXTURES}/hrt-simulated.log`, log);
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
  const again = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(again.code, 0);
  assert.equal((await feedDocs(db)).length, 1, "a second --once stores nothing new");
});

test("CouchDB over https with a private CA (--ca-file): every line stored once, and read back by verify --deep", async () => {
  await using dir = await tempDir();
  const made = await loopbackCertificates(dir.path);
  if (!made) {
    console.log("skipped: openssl could not make test certificates");
    return;
  }
  const tls = { cert: await Deno.readTextFile(made.cert), key: await Deno.readTextFile(made.key) };
  using front = new Proxy(serverUrl(), 0, tls);
  const db = freshDb("https");
  const log = `${dir.path}/hrt.log`;
  await Deno.writeTextFile(log, lines(3000));
  const https = front.urlFor(db);
  assert.match(https, /^https:/);
  const args = (...extra: string[]) => captureArgs(https, dir.path, "--ca-file", made.ca, ...extra);
  const result = await run("capture", args("--once", log));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
  const verified = await run("capture", ["verify", "--deep", ...args(log)]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  // Without the CA, the server's certificate is not trusted, and check says which flag trusts it.
  const untrusted = await run("capture", ["check", ...captureArgs(https, dir.path, log)]);
  assert.equal(untrusted.code, 1, untrusted.stdout + untrusted.stderr);
  assert.match(untrusted.stdout + untrusted.stderr, /TLS error \(.*--ca-file\)/);
});

test("a database name with a slash (%2F in the URL) is one name: created, stored into, read back", async () => {
  await using dir = await tempDir();
  const db = freshDb("a%2Fb");
  const log = `${dir.path}/hrt.log`;
  await Deno.writeTextFile(log, lines(500));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
  const verified = await run("capture", ["verify", "--deep", ...captureArgs(db, dir.path, log)]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
});

test("catching up, the cache file is written about once a second, not once a batch, and names the end", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const cacheDir = `${dir.path}/cache`;
  await Deno.mkdir(cacheDir);
  const db = freshDb("commits");
  await append(log, lines(500));
  // Every write of the cache file renames a new file onto it: the folder's events count them. A
  // last file, written after capture stops, marks the end of its events (they come in order).
  const watcher = Deno.watchFs(cacheDir);
  const writes = (async () => {
    let count = 0;
    for await (const event of watcher) {
      if (event.paths.some((p) => p.endsWith("/end"))) break;
      if (event.kind !== "access" && event.paths.some((p) => p.endsWith("/cache.json"))) count++;
    }
    return count;
  })();
  const args = captureArgs(db, dir.path, "--once", "--batch-lines", "10", log)
    .map((arg) => arg === `${dir.path}/cache.json` ? `${cacheDir}/cache.json` : arg);
  const result = await run("capture", args);
  assert.equal(result.code, 0, result.stderr);
  await Deno.writeTextFile(`${cacheDir}/end`, "");
  const count = await writes;
  watcher.close();
  assert.equal((await feedDocs(db)).length, 50);
  assert.ok(count < 25, `${count} events of the cache file for 50 batches`);
  const cache = JSON.parse(await Deno.readTextFile(`${cacheDir}/cache.json`));
  assert.equal(cache.offset, (await Deno.stat(log)).size);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("rotation by rename while running: the old file is drained, the new one is generation 1", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("rotate");
  await append(log, lines(300));
  await using capture = new Running("capture", captureArgs(db, dir.path, log));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  await append(log, lines(50) + "07:04:42 02/15  V.1.1");
  await Deno.rename(log, `${log}.1`);
  await append(`${log}.1`, lines(20)); // the writer still had the old file open
  await append(log, lines(100));
  const old = await Deno.readFile(`${log}.1`);
  await until(async () => await feedEnd(db, 1) === (await Deno.stat(log)).size);
  await until(async () => await feedEnd(db, 0) === old.length);
  const rows0 = await feedRowsOnce(db, old.length, 0);
  assert.equal(rows0.length, expectedRows(old).length);
  await assertFeedOnce(db, await Deno.readFile(log), 1);
  capture.kill("SIGTERM");
  assert.equal((await capture.done).code, 0);
});

test("two rotations before capture looks again (while running): both rotated files are drained, in order", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("rotate2");
  await append(log, lines(300));
  await using capture = new Running("capture", captureArgs(db, dir.path, log));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  // Frozen, capture sees nothing of the two rotations until both are done.
  capture.kill("SIGSTOP");
  const tick = () => new Promise((r) => setTimeout(r, 20)); // distinct modification times
  await append(log, lines(50));
  await tick();
  await Deno.rename(log, `${log}.1`);
  await append(log, lines(60));
  await tick();
  await Deno.rename(`${log}.1`, `${log}.2`);
  await Deno.rename(log, `${log}.1`);
  await append(log, lines(70));
  capture.kill("SIGCONT");
  const [first, second, third] = await Promise.all(
    [`${log}.2`, `${log}.1`, log].map((path) => Deno.readFile(path)),
  );
  await until(async () => await feedEnd(db, 2) === third.length, 20_000, "the third file");
  await assertFeedOnce(db, first, 0);
  await assertFeedOnce(db, second, 1);
  await assertFeedOnce(db, third, 2);
  capture.kill("SIGTERM");
  assert.equal((await capture.done).code, 0);
});

test("copytruncate while running: a new generation from offset 0", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("copytrunc");
  await append(log, lines(300));
  await using capture = new Running("capture", captureArgs(db, dir.path, log));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  const old = await Deno.readFile(log);
  await Deno.copyFile(log, `${log}.1`);
  await Deno.truncate(log, 0);
  await append(log, lines(100));
  await until(async () => await feedEnd(db, 1) === (await Deno.stat(log)).size);
  await assertFeedOnce(db, old, 0);
  await assertFeedOnce(db, await Deno.readFile(log), 1);
  await capture.waitFor(/truncated or rewritten/);
});

test("deleted and re-created while running: waits, then a new generation", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("recreate");
  await append(log, lines(200));
  await using capture = new Running("capture", captureArgs(db, dir.path, log));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  const old = await Deno.readFile(log);
  await Deno.remove(log);
  await capture.waitFor(/was removed; waiting/);
  await append(log, lines(80));
  await until(async () => await feedEnd(db, 1) === (await Deno.stat(log)).size);
  await assertFeedOnce(db, old, 0);
  await assertFeedOnce(db, await Deno.readFile(log), 1);
});

test("rotation while stopped: the rotated file is found and drained first", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("rotstop");
  await append(log, lines(200));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  await append(log, lines(70));
  await Deno.rename(log, `${log}-20121101`);
  await append(log, lines(90));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /rotated while capture was stopped/);
  await assertFeedOnce(db, await Deno.readFile(`${log}-20121101`), 0);
  await assertFeedOnce(db, await Deno.readFile(log), 1);
});

test("two rotations while stopped: both rotated files are drained in order, compressed ones left alone", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("rot2");
  await append(log, lines(100));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  await append(log, lines(30));
  // logrotate, twice: .1 becomes .2, the log becomes .1, a new log begins.
  await new Promise((r) => setTimeout(r, 20));
  await Deno.rename(log, `${log}.1`);
  await append(log, lines(40));
  await new Promise((r) => setTimeout(r, 20));
  await Deno.rename(`${log}.1`, `${log}.2`);
  await Deno.rename(log, `${log}.1`);
  await append(log, lines(50));
  await Deno.writeFile(`${log}.3.gz`, new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 10]));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(`${log}.2`), 0);
  await assertFeedOnce(db, await Deno.readFile(`${log}.1`), 1);
  await assertFeedOnce(db, await Deno.readFile(log), 2);
  assert.equal((await feedDocs(db)).filter((d) => d.source.generation > 2).length, 0);
});

test("truncated while stopped: a new generation from 0", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("truncstop");
  await append(log, lines(200));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  await Deno.truncate(log, 0);
  await append(log, lines(50));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /truncated while capture was stopped|could not be captured/);
  await assertFeedOnce(db, await Deno.readFile(log), 1);
});

test("deleted and made again while stopped: the new file is a new generation, and the message does not pretend to know what was lost", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("lost");
  await append(log, lines(200));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  await Deno.remove(log);
  await append(log, lines(40));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    // The new file may get the old inode back: either way it is not the text that was read.
    /is gone .*what it held after offset \d+ is lost \(it held \d+ bytes when last seen; how much it grew after that cannot be known\).*continuing with generation 1|not the text capture had read up to offset \d+\); starting generation 1 at 0/,
  );
  await assertFeedOnce(db, await Deno.readFile(log), 1);
});

test("a log that does not exist yet: capture waits for it, says so once, and does not exit", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/later.log`;
  const db = freshDb("missing");
  await using capture = new Running("capture", captureArgs(db, dir.path, log));
  await capture.waitFor(/does not exist yet; waiting/);
  await new Promise((r) => setTimeout(r, 500));
  await append(log, lines(100));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  await assertFeedOnce(db, await Deno.readFile(log));
  assert.equal(capture.stderr.match(/does not exist yet/g)?.length, 1);
});

test("--once on a log that does not exist: exit 1, the last line saying so", async () => {
  await using dir = await tempDir();
  const result = await run(
    "capture",
    captureArgs(freshDb("oncemissing"), dir.path, "--once", `${dir.path}/nowhere.log`),
  );
  assert.equal(result.code, 1);
  assert.match(
    result.stderr.trim().split("\n").at(-1)!,
    /^capture: \S*nowhere\.log does not exist: --once has nothing to capture/,
  );
});

test("a partial last line waits for its newline", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("partial");
  const text = lines(20);
  const whole = text.slice(0, text.length - 50);
  const cut = whole.lastIndexOf("\n") + 1;
  await append(log, text.slice(0, cut + 30));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  assert.equal(await feedEnd(db), cut);
  await append(log, text.slice(cut + 30));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("a 10 MB line is rejected with its offset and first bytes, and capture goes on", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("long");
  await append(log, lines(10));
  const offset = (await Deno.stat(log)).size;
  await append(log, "X".repeat(10 * 1024 * 1024) + "\n");
  await append(log, lines(10));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(`rejected line: line of ${10 * 1024 * 1024 + 1} bytes.*offset=${offset}`),
  );
  const bytes = await Deno.readFile(log);
  await assertFeedOnce(db, bytes);
  const docs = await feedDocs(db);
  const long = docs.find((d) => d.source.start === offset)!;
  assert.equal((long as unknown as { rejected: number }).rejected, 1);
  const head = await (await fetch(`${db}/${encodeURIComponent(long._id)}/rejected`)).text();
  assert.equal(head, "X".repeat(256) + "\n");
});

test("binary garbage is rejected and kept byte for byte with its batch", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("garbage");
  const garbage = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0xc3, 0x28, 0x80, 32, 9, 0]);
  await append(log, lines(5));
  await append(log, garbage);
  await append(log, "\n" + lines(5));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /rejected line/);
  const bytes = await Deno.readFile(log);
  await assertFeedOnce(db, bytes);
  const [doc] = await feedDocs(db);
  const kept = new Uint8Array(
    await (await fetch(`${db}/${encodeURIComponent(doc._id)}/rejected`)).arrayBuffer(),
  );
  assert.deepEqual(kept, new Uint8Array([...garbage, 10]));
});

test("an empty file stores nothing and exits 0; CRLF lines are captured", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("crlf");
  await Deno.writeTextFile(log, "");
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  assert.equal((await feedDocs(db)).length, 0);
  await append(log, lines(30).replaceAll("\n", "\r\n"));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  const bytes = await Deno.readFile(log);
  await assertFeedOnce(db, bytes);
  assert.equal(expectedRows(bytes).length, 30);
});

test("CouchDB unreachable mid-run: nothing lost or doubled, the outage logged once", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  using proxy = new Proxy(serverUrl());
  const db = freshDb("outage");
  await append(log, lines(200));
  await using capture = new Running("capture", captureArgs(proxy.urlFor(db), dir.path, log));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  proxy.down();
  const writer = startWriter(log, lines, true);
  await capture.waitFor(/cannot reach CouchDB.*retrying/);
  await new Promise((r) => setTimeout(r, 1500));
  proxy.up();
  await writer.stop();
  await until(
    async () => await feedEnd(db) === (await Deno.stat(log)).size,
    40_000,
    "catch-up after the outage",
  );
  await capture.waitFor(/answers again/);
  await assertFeedOnce(db, await Deno.readFile(log));
  assert.equal(capture.stderr.match(/retrying/g)?.length, 1, capture.stderr);
  assert.equal(capture.stderr.match(/answers again/g)?.length, 1);
});

test("the database deleted while capture runs: created again, what follows stored there", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("deleted");
  await append(log, lines(100));
  await using capture = new Running("capture", captureArgs(db, dir.path, log));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  const before = (await Deno.stat(log)).size;
  await (await fetch(db, { method: "DELETE" })).body?.cancel();
  await append(log, lines(30));
  const size = (await Deno.stat(log)).size;
  await capture.waitFor(/is gone \(deleted while running\): creating it again/);
  await until(async () => (await feedDocs(db)).some((d) => d.source.end === size));
  const docs = await feedDocs(db);
  assert.ok(docs.every((d) => d.source.start >= before), "only what came after the deletion");
  capture.kill("SIGTERM");
  assert.equal((await capture.done).code, 0);
});

test("SIGTERM during a push: exit 0 within 5 s, and the next run continues where CouchDB acknowledged", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  using proxy = new Proxy(serverUrl());
  const db = freshDb("sigterm");
  await append(log, lines(100));
  await using capture = new Running("capture", captureArgs(proxy.urlFor(db), dir.path, log));
  await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
  proxy.delayMs = 8000;
  await append(log, lines(100));
  await new Promise((r) => setTimeout(r, 600)); // the batch is flushed and its push is held up
  const started = Date.now();
  capture.kill("SIGTERM");
  const status = await capture.done;
  assert.equal(status.code, 0);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  proxy.delayMs = 0;
  await new Promise((r) => setTimeout(r, 8500)); // let the held-up request reach the server, or not
  const next = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(next.code, 0, next.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("a lost cache file: CouchDB says where this file was left, nothing is stored twice", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("lostcache");
  await append(log, lines(300));
  assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
  await Deno.remove(`${dir.path}/cache.json`);
  await append(log, lines(100));
  const result = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /no cache file.*continuing at offset \d+/);
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("records mode, a lost cache file after a crash with two batches in flight (the later one stored, the earlier one partly): every line once", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("lostinflight");
  await append(log, lines(100));
  const args = (...extra: string[]) =>
    captureArgs(db, dir.path, "--once", "--mode", "records", "--batch-lines", "10", ...extra, log);
  assert.equal((await run("capture", args())).code, 0);
  // The ninth batch of ten lines lost its last five lines, as if it was in flight at the crash.
  const docs = (await recordDocs(db)).sort((a, b) => Number(a.line_offset) - Number(b.line_offset));
  const lost = docs.slice(85, 90).map((d) => ({ _id: d._id, _rev: d._rev, _deleted: true }));
  const response = await fetch(`${db}/_bulk_docs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ docs: lost }),
  });
  await response.body?.cancel();
  assert.equal((await recordDocs(db)).length, 95);
  await Deno.remove(`${dir.path}/cache.json`);
  await append(log, lines(20));
  const result = await run("capture", args());
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /no cache file.*continuing at offset \d+/);
  await assertRecordsOnce(db, await Deno.readFile(log));
});

test("feed mode, a lost cache file after a crash with two batches in flight (the later one stored, the earlier one not): every line once", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("lostfeedinflight");
  await append(log, lines(100));
  const args = (...extra: string[]) =>
    captureArgs(db, dir.path, "--once", "--batch-lines", "10", ...extra, log);
  assert.equal((await run("capture", args())).code, 0);
  // The ninth document is gone, as if it was in flight at the crash while the tenth was stored.
  const ninth = (await feedDocs(db))[8];
  const gone = await fetch(
    `${db}/${encodeURIComponent(ninth._id)}?rev=${(ninth as unknown as { _rev: string })._rev}`,
    { method: "DELETE" },
  );
  await gone.body?.cancel();
  assert.equal((await feedDocs(db)).length, 9);
  await Deno.remove(`${dir.path}/cache.json`);
  await append(log, lines(20));
  const result = await run("capture", args());
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(`no cache file.*continuing at offset ${ninth.source.start}\\b`),
  );
  await assertFeedOnce(db, await Deno.readFile(log));
});

test("a replaced cache file (generation reused by another file): the data moves to a new generation", async () => {
  await using dir = await tempDir();
  const a = `${dir.path}/a.log`, b = `${dir.path}/b.log`;
  const db = freshDb("reuse");
  await append(a, lines(50));
  await append(b, lines(60));
  assert.equal(
    (await run("capture", captureArgs(db, dir.path, "--once", "--cache", `${dir.path}/a.json`, a)))
      .code,
    0,
  );
  // b under the same source name, with no cache: generation 0 is taken by a's file.
  const result = await run("capture", [
    ...captureArgs(db, dir.path, "--once", b),
    "--cache",
    `${dir.path}/b.json`,
    "--from",
    "start",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /held by another file/);
  await assertFeedOnce(db, await Deno.readFile(a), 0);
  await assertFeedOnce(db, await Deno.readFile(b), 1);
});

test("records mode, generation reused by another file: the gen: document tells, the data moves on", async () => {
  await using dir = await tempDir();
  const a = `${dir.path}/a.log`, b = `${dir.path}/b.log`;
  const db = freshDb("reuserec");
  await append(a, lines(50));
  await append(b, lines(60));
  const first = await run("capture", [
    ...captureArgs(db, dir.path, "--once", "--mode", "records", a),
    "--cache",
    `${dir.path}/a.json`,
  ]);
  assert.equal(first.code, 0, first.stderr);
  const second = await run("capture", [
    ...captureArgs(db, dir.path, "--once", "--mode", "records", b),
    "--cache",
    `${dir.path}/b.json`,
  ]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /held by another file/);
  const docs = await recordDocs(db);
  const offsets = (g: number) =>
    docs.filter((d) => d.generation === g).map((d) => d.line_offset as number).sort((x, y) =>
      x - y
    );
  assert.deepEqual(offsets(0), lineOffsets(await Deno.readFile(a)));
  assert.deepEqual(offsets(1), lineOffsets(await Deno.readFile(b)));
});

test("usage errors: one line naming the problem, exit code 2, and nothing written", async () => {
  await using dir = await tempDir();
  const state = `${dir.path}/state`;
  const cases: [string[], RegExp][] = [
    [[], /give exactly one LOGFILE/],
    [
      ["--flush-ms", "fast", "x.log"],
      /--flush-ms must be a duration such as 500ms, 5s or 2m, got "fast"/,
    ],
    [["--batch-lines", "x", "x.log"], /--batch-lines must be a positive integer, got "x"/],
    [["--flsh", "5s", "x.log"], /unknown option --flsh; did you mean --flush\?/],
    [["--mode", "both", "x.log"], /--mode must be one of feed, records, got "both"/],
    [["--bogus", "x.log"], /unknown option --bogus/],
    [["--couchdb"], /option --couchdb needs a value/],
    [["x.log"], /no CouchDB given/],
    [["--couchdb", "http://127.0.0.1:1/Bad Name", "x.log"], /not a valid CouchDB database name/],
    [["--couchdb", "http://127.0.0.1:1/db", "--source", "a:b", "x.log"], /--source must be/],
  ];
  for (const [args, message] of cases) {
    const result = await run("capture", args, { COUCHDB_URL: "", XDG_STATE_HOME: state });
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    // Refused before it takes the cache file: no folder made, no lock file left.
    assert.equal(await Deno.stat(state).then(() => true, () => false), false, args.join(" "));
  }
});

test("runtime errors: an unreadable log, an unwritable cache file, refused credentials: exit 1", async () => {
  await using dir = await tempDir();
  const db = freshDb("errors");
  const notAFile = await run("capture", captureArgs(db, dir.path, "--once", dir.path));
  assert.equal(notAFile.code, 1);
  assert.match(notAFile.stderr, /is not a regular file/);
  const log = `${dir.path}/x.log`;
  await append(log, lines(5));
  await Deno.writeTextFile(`${dir.path}/file`, "");
  const badCache = await run("capture", [
    ...captureArgs(db, dir.path, "--once", log),
    "--cache",
    `${dir.path}/file/cache.json`,
  ]);
  assert.equal(badCache.code, 1);
  assert.match(badCache.stderr, /cache file|file\/cache\.json/);
  await using refusing = refusingServer();
  const refused = await run(
    "capture",
    captureArgs(`${refusing.url}/db`, dir.path, "--once", log),
    {
      COUCHDB_USER: "admin",
      COUCHDB_PASSWORD: "wrong-password",
    },
  );
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /refused the credentials \(401\): check COUCHDB_USER \/ COUCHDB_PASSWORD/,
  );
  assert.ok(!refused.stderr.includes("wrong-password"));
});

test("a second capture on the same cache file refuses to start, naming the file and the first one's PID; a SIGKILL leaves no stale lock", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("owner");
  await append(log, lines(50));
  // A temporary file of the cache file, as a SIGKILL mid-write leaves it.
  const stale = `${dir.path}/.cache.json.4242.0badf00d.tmp`;
  await Deno.writeTextFile(stale, "{");
  await using first = new Running("capture", captureArgs(db, dir.path, log));
  await first.waitFor(/removed 1 temporary files of .*cache\.json left by a crash/);
  assert.equal(await Deno.stat(stale).then(() => true, () => false), false, "stale temp removed");
  await first.waitFor(/capturing/);
  const second = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(second.code, 1);
  assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(
      `cache file ${dir.path}/cache\\.json is in use by another process \\(PID ${first.child.pid}\\)`,
    ),
  );
  first.kill("SIGKILL");
  await first.done;
  await append(log, lines(20));
  const after = await run("capture", captureArgs(db, dir.path, "--once", log));
  assert.equal(after.code, 0, after.stderr);
  await assertFeedOnce(db, await Deno.readFile(log));
});

/** Ways a cache file can disagree with the log it names. */
const corruptions: [
  string,
  (checkpoint: Record<string, unknown>, log: Uint8Array) => Record<string, unknown>,
][] = [
  ["an offset inside a line", (c) => ({ ...c, offset: (c.offset as number) - 40 })],
  ["an offset past the end of the log", (c) => ({ ...c, offset: (c.offset as number) + 100_000 })],
  // A line start, so nothing in the log tells: the stored document covering it does.
  [
    "an offset set back to the start of an earlier line",
    (c, log) => ({ ...c, offset: lineOffsets(log)[10] }),
  ],
  [
    "another inode (the log copied or restored)",
    (c) => ({ ...c, file: { ...(c.file as object), ino: (c.file as { ino: number }).ino + 1 } }),
  ],
];

async function corruptCache(
  path: string,
  log: string,
  corrupt: (typeof corruptions)[0][1],
): Promise<void> {
  const checkpoint = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify(corrupt(checkpoint, await Deno.readFile(log))));
}

for (const [what, corrupt] of corruptions) {
  test(`a cache file with ${what}: CouchDB says where this file stands, nothing lost or doubled`, async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("badcache");
    await append(log, lines(300));
    assert.equal((await run("capture", captureArgs(db, dir.path, "--once", log))).code, 0);
    await corruptCache(`${dir.path}/cache.json`, log, corrupt);
    await append(log, lines(100));
    const next = await run("capture", captureArgs(db, dir.path, "--once", log));
    assert.equal(next.code, 0, next.stderr);
    assert.match(
      next.stderr,
      /(does not fit|is not the file the cache file names).*CouchDB holds (this file|it) \(generation 0\)|skipped \d+ bytes that CouchDB already held|replaced by a copy of the same text.*continuing at offset \d+ of generation 0/,
    );
    await assertFeedOnce(db, await Deno.readFile(log));
  });
}

/**
 * How a test runs capture so that file permissions bind it: as root, without the capabilities that
 * let root read any file (`setpriv`); as another user, as it is. `null` when it cannot be done.
 */
const withoutReadOverride: string[] | null = Deno.uid() !== 0
  ? []
  : (await new Deno.Command("setpriv", { args: ["--help"], stdout: "null", stderr: "null" })
      .output().then((o) => o.success, () => false))
  ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
  : null;
if (!withoutReadOverride) {
  console.error(
    "skipping the unreadable-log test: running as root, and no setpriv to drop the read override",
  );
}

test(
  "an unreadable log: capture says why, serves 503, waits (running and at start), and drains every line once it can read",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("unreadable");
    const port = freePortForTest();
    const args = [...captureArgs(db, dir.path, "--status-listen", `127.0.0.1:${port}`), log];
    await append(log, lines(100));
    const capture = new Running("capture", args, {}, withoutReadOverride!);
    try {
      await until(async () => await feedEnd(db) === (await Deno.stat(log)).size);
      // Made unreadable, then rotated: the open file is drained; the new one is waited for.
      await Deno.chmod(log, 0o000);
      await append(log, lines(50));
      await Deno.rename(log, `${log}.1`);
      await Deno.writeFile(log, new TextEncoder().encode(lines(30)), { mode: 0o000 });
      await capture.waitFor(/cannot read \S*spysocket\.log: permission denied; capture waits/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 503);
      assert.match(await health.text(), /permission denied/);
      const first = await Deno.readFile(`${log}.1`);
      await until(
        async () => await feedEnd(db, 0) === first.length,
        20_000,
        "the old file drained",
      );
      await Deno.chmod(log, 0o644);
      await capture.waitFor(/spysocket\.log can be read again/);
      await until(async () => await feedEnd(db, 1) === (await Deno.stat(log)).size);
      capture.kill("SIGTERM");
      assert.equal((await capture.done).code, 0);
    } finally {
      capture.kill();
      await capture.done;
    }
    // Stopped with lines unread, the file rotated and unreadable: the next start waits for it.
    await append(log, lines(40));
    await Deno.rename(log, `${log}.2`);
    await Deno.chmod(`${log}.2`, 0o000);
    await Deno.writeTextFile(log, lines(20));
    await using again = new Running("capture", args, {}, withoutReadOverride!);
    await again.waitFor(/cannot read \S*spysocket\.log\.2: permission denied/);
    await Deno.chmod(`${log}.2`, 0o644);
    const second = await Deno.readFile(`${log}.2`);
    const third = await Deno.readFile(log);
    await until(
      async () => await feedEnd(db, 1) === second.length && await feedEnd(db, 2) === third.length,
      20_000,
      "the rotated file drained once readable, then the new one",
    );
    await assertFeedOnce(db, await Deno.readFile(`${log}.1`), 0);
    await assertFeedOnce(db, second, 1);
    await assertFeedOnce(db, third, 2);
  },
  { ignore: !withoutReadOverride },
);

test("killed before its first batch is stored, then the log rotated: the first file is found again from the cache file written at start", async () => {
  // Found by capture verify on a 1M-line run with kill -9 loops: the first run wrote no cache
  // file, so the next one started at the new file and the rotated one was never read.
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  using proxy = new Proxy(serverUrl());
  const db = freshDb("firstkill");
  await append(log, lines(200));
  // The lines wait for --flush: CouchDB is gone before the first batch is sent.
  const capture = new Running(
    "capture",
    captureArgs(proxy.urlFor(db), dir.path, "--flush", "10s", log),
  );
  await capture.waitFor(/capturing/);
  proxy.down();
  const cache = `${dir.path}/cache.json`;
  await until(() => Deno.stat(cache).then(() => true, () => false), 10_000, "the cache file");
  capture.kill("SIGKILL");
  await capture.done;
  await Deno.rename(log, `${log}.1`);
  await append(log, lines(100));
  const result = await run(
    "capture",
    captureArgs(db, dir.path, "--once", "--rotate-wait", "0", log),
  );
  assert.equal(result.code, 0, result.stderr);
  await assertFeedOnce(db, await Deno.readFile(`${log}.1`), 0);
  await assertFeedOnce(db, await Deno.readFile(log), 1);
  await assertVerified(db, dir.path, log);
});
