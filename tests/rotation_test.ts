/**
 * Exactly once through the rotations a real log lives through (issue 19), through the real
 * programs on the real server, with Debian's `logrotate` and a daemon that keeps its file open
 * across the rename until told to reopen (tests/log_daemon.ts). Every line is numbered (its vehicle
 * id), so each case counts what was written, stored, lost and doubled. A machine without logrotate
 * skips the cases that need it, saying why.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  append,
  assertVerified,
  captureArgs,
  feedDocs,
  freePortForTest,
  freshDb,
  hasCommand,
  logDaemon,
  numbered,
  numberedLine,
  Proxy,
  recordDocs,
  run,
  Running,
  serverUrl,
  tempDir,
  test,
  until,
} from "./helpers.ts";

/** Debian's logrotate, on the PATH or where Debian puts it (/usr/sbin is not on every PATH). */
async function findLogrotate(): Promise<string | null> {
  for (const command of ["logrotate", "/usr/sbin/logrotate"]) {
    if (await hasCommand(command)) return command;
  }
  return null;
}
const LOGROTATE_COMMAND = await findLogrotate();
const LOGROTATE = LOGROTATE_COMMAND !== null;
if (!LOGROTATE) {
  console.log(
    "rotation_test: logrotate is not installed (apt-get install logrotate): its cases skip",
  );
}

/**
 * `capture --once` into `db`, not waiting for rotated files to be quiet (nothing writes to them
 * any more): it must exit 0. Its output, for the messages.
 */
async function captureOnce(db: string, dir: string, ...extra: string[]): Promise<string> {
  const result = await run(
    "capture",
    captureArgs(db, dir, "--once", "--rotate-wait", "0", ...extra),
  );
  assert.equal(result.code, 0, result.stderr);
  return result.stderr;
}

/** How often each line number is stored, over every generation (feed or records documents). */
async function storedCounts(db: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const add = (vehicle: unknown) => {
    const n = Number(/^V\.1\.(\d+)$/.exec(String(vehicle))?.[1] ?? NaN);
    if (Number.isInteger(n)) counts.set(n, (counts.get(n) ?? 0) + 1);
  };
  for (const doc of await feedDocs(db)) for (const row of doc.csv) add(row.split(",")[2]);
  for (const doc of await recordDocs(db)) if (doc.doc_type === "Report") add(doc.vehicle);
  return counts;
}

/** Written, stored, lost and doubled, for lines `0` to `written`. */
async function tally(db: string, written: number) {
  const counts = await storedCounts(db);
  let stored = 0, lost = 0, doubled = 0;
  for (let n = 0; n < written; n++) {
    const c = counts.get(n) ?? 0;
    stored += c;
    if (c === 0) lost++;
    if (c > 1) doubled += c - 1;
  }
  return { written, stored, lost, doubled };
}

async function assertOnce(db: string, written: number, what: string): Promise<void> {
  const counts = await tally(db, written);
  console.log(`${what}: ${JSON.stringify(counts)}`);
  assert.deepEqual(counts, { written, stored: written, lost: 0, doubled: 0 }, what);
}

/** Runs logrotate with `options` for `log` (state kept in the folder), forced. */
async function logrotate(dir: string, log: string, options: string[]): Promise<void> {
  const conf = `${dir}/logrotate.conf`;
  await Deno.writeTextFile(conf, `${log} {\n  ${options.join("\n  ")}\n}\n`);
  const out = await new Deno.Command(LOGROTATE_COMMAND!, {
    args: ["-f", "-s", `${dir}/logrotate.state`, conf],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

async function feedEnd(db: string): Promise<number> {
  return (await storedCounts(db)).size;
}

test(
  "logrotate create with a daemon that writes on to the renamed file for a second: every line once",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const pid = `${dir.path}/daemon.pid`;
    const db = freshDb("rotwait");
    await Deno.writeTextFile(log, "");
    await using capture = new Running("capture", captureArgs(db, dir.path, log));
    const writer = logDaemon(log, [
      "--pid",
      pid,
      "--from",
      "0",
      "--to",
      "1000",
      "--rate",
      "200",
      "--reopen-after",
      "1000",
      "--pause-at",
      "500",
    ]);
    await until(() => Deno.stat(`${pid}.paused`).then(() => true, () => false));
    await logrotate(dir.path, log, [
      "create",
      "rotate 5",
      `postrotate\n    kill -HUP $(cat ${pid})\n  endscript`,
    ]);
    writer.kill("SIGUSR1");
    assert.equal((await writer.status).code, 0);
    await until(async () => await feedEnd(db) >= 1000, 30_000, "1000 lines stored").catch(() => {});
    await assertOnce(db, 1000, "create, reopen after 1 s");
    capture.kill("SIGTERM");
    await capture.done;
  },
  { ignore: !LOGROTATE },
);

test(
  "logrotate compress while capture is stopped: the rest is read from the .gz file",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("rotgz");
    await append(log, numbered(0, 500));
    await captureOnce(db, dir.path, log);
    await append(log, numbered(500, 1500));
    await logrotate(dir.path, log, ["create", "rotate 5", "compress"]);
    await append(log, numbered(1500, 1600));
    await captureOnce(db, dir.path, log);
    await assertOnce(db, 1600, "compress, stopped across one rotation");
    await assertVerified(db, dir.path, log);
  },
  { ignore: !LOGROTATE },
);

test(
  "logrotate compress with delaycompress, two rotations while capture is stopped: .2.gz and .1 are both read",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("rotdelay");
    await append(log, numbered(0, 500));
    await captureOnce(db, dir.path, log);
    await append(log, numbered(500, 1500));
    const options = ["create", "rotate 5", "compress", "delaycompress"];
    await logrotate(dir.path, log, options);
    await append(log, numbered(1500, 2500));
    await new Promise((r) => setTimeout(r, 20)); // distinct modification times
    await logrotate(dir.path, log, options);
    await append(log, numbered(2500, 2600));
    assert.ok(
      await Deno.stat(`${log}.2.gz`).then(() => true, () => false),
      "logrotate compressed .2",
    );
    await captureOnce(db, dir.path, log);
    await assertOnce(db, 2600, "delaycompress, two rotations while stopped");
    await assertVerified(db, dir.path, log);
  },
  { ignore: !LOGROTATE },
);

test(
  "logrotate copytruncate while capture is stopped: the unread lines are read from the copy",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("rotcopy");
    await append(log, numbered(0, 500));
    await captureOnce(db, dir.path, log);
    await append(log, numbered(500, 1000));
    await logrotate(dir.path, log, ["copytruncate", "rotate 5"]);
    await append(log, numbered(1000, 1100));
    await captureOnce(db, dir.path, log);
    await assertOnce(db, 1100, "copytruncate while stopped");
    await assertVerified(db, dir.path, log);
  },
  { ignore: !LOGROTATE },
);

// More lines than capture's 1 MiB read buffer pile up during the outage, so that most of them are
// still in the file, not in capture's memory, when the file is truncated.
const OUTAGE_LINES = 20_000;
for (const grown of [100, OUTAGE_LINES + 5_000]) {
  test(
    `logrotate copytruncate during a CouchDB outage, then ${grown} new lines${
      grown > OUTAGE_LINES ? " (past the old offset)" : ""
    }: every line once`,
    async () => {
      await using dir = await tempDir();
      const log = `${dir.path}/spysocket.log`;
      const db = freshDb("rotcopyout");
      await using proxy = new Proxy(serverUrl());
      const through = proxy.urlFor(db);
      await append(log, numbered(0, 500));
      await using capture = new Running(
        "capture",
        captureArgs(through, dir.path, "--batch-lines", "100", log),
      );
      await until(async () => await feedEnd(db) >= 500, 20_000, "the first 500 lines");
      proxy.down();
      const written = 500 + OUTAGE_LINES;
      await append(log, numbered(500, written));
      await capture.waitFor(/retrying/);
      await logrotate(dir.path, log, ["copytruncate", "rotate 5"]);
      await append(log, numbered(written, written + grown));
      proxy.up();
      await until(async () => await feedEnd(db) >= written + grown, 60_000, "every line")
        .catch(() => {});
      await assertOnce(db, written + grown, `copytruncate during an outage, ${grown} new lines`);
      capture.kill("SIGTERM");
      await capture.done;
    },
    { ignore: !LOGROTATE },
  );
}

for (const mode of ["feed", "records"]) {
  test(
    `${mode}: an empty rotation, then a lost cache file: the generation after the gap is found, nothing doubled`,
    async () => {
      await using dir = await tempDir();
      const log = `${dir.path}/spysocket.log`;
      const db = freshDb("rotempty");
      const args = (...extra: string[]) =>
        captureArgs(db, dir.path, "--mode", mode, "--once", "--rotate-wait", "0", ...extra, log);
      await append(log, numbered(0, 500));
      assert.equal((await run("capture", args())).code, 0);
      await logrotate(dir.path, log, ["create", "rotate 5", "ifempty"]);
      assert.equal((await run("capture", args())).code, 0); // the empty file: a generation, no data
      await logrotate(dir.path, log, ["create", "rotate 5", "ifempty"]);
      await append(log, numbered(500, 1000));
      assert.equal((await run("capture", args())).code, 0);
      await Deno.remove(`${dir.path}/cache.json`);
      await append(log, numbered(1000, 1100));
      const result = await run("capture", args());
      assert.equal(result.code, 0, result.stderr);
      await assertOnce(db, 1100, `${mode}: empty rotation, lost cache file`);
      await assertVerified(db, dir.path, log, "--mode", mode);
    },
    { ignore: !LOGROTATE },
  );
}

test("a cache file restored from a backup, then smaller batches than the run that stored the documents: nothing lost", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("restore");
  await append(log, numbered(0, 100));
  await captureOnce(db, dir.path, log);
  const backup = await Deno.readTextFile(`${dir.path}/cache.json`);
  await append(log, numbered(100, 30_100));
  await captureOnce(db, dir.path, log);
  await Deno.writeTextFile(`${dir.path}/cache.json`, backup);
  await append(log, numbered(30_100, 31_000));
  const result = await run(
    "capture",
    captureArgs(db, dir.path, "--once", "--batch-lines", "7", log),
  );
  assert.equal(result.code, 0, result.stderr);
  await assertOnce(db, 31_000, "restored cache file, smaller batches");
  await assertVerified(db, dir.path, log);
});

for (const route of ["drop", "ship"]) {
  test(`tail-only (${route === "drop" ? "drop directory" : "--ship-to"}): a rotated file that ends in a partial line: the line travels as a .last note, once`, async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const drop = `${dir.path}/drop`;
    await Deno.mkdir(drop);
    const db = freshDb("rotlast");
    const partial = numberedLine(50).slice(0, -1); // no newline: the writer died mid-line
    await append(log, numbered(0, 25));
    const monitorArgs = ["--couchdb", db, "--year", "2012", "--poll", "100ms"];
    let receiver: Running | null = null;
    let handover: string[];
    if (route === "drop") handover = ["--extract-dir", drop];
    else {
      const token = `${dir.path}/token`;
      await Deno.writeTextFile(token, "secret-token-1234567890\n", { mode: 0o600 });
      const port = freePortForTest();
      receiver = new Running("monitor", [
        ...monitorArgs,
        "--listen",
        `127.0.0.1:${port}`,
        "--token-file",
        token,
        drop,
      ]);
      await receiver.waitFor(/receiving extracts/);
      handover = ["--ship-to", `http://127.0.0.1:${port}`, "--token-file", token];
    }
    const tailOnly = [
      "--tail-only",
      ...handover,
      "--cache",
      `${dir.path}/cache.json`,
      "--source",
      "t",
      "--once",
      "--rotate-wait",
      "0",
      log,
    ];
    const first = await run("capture", tailOnly);
    assert.equal(first.code, 0, first.stderr);
    await append(log, numbered(25, 50) + partial);
    await Deno.rename(log, `${log}.1`);
    await append(log, numbered(51, 100));
    const capture = await run("capture", tailOnly);
    assert.equal(capture.code, 0, capture.stderr);
    if (receiver) {
      await until(async () => await feedEnd(db) >= 100, 20_000, "the receiver's monitor").catch(
        () => {},
      );
      receiver.kill("SIGTERM");
      await receiver.done;
    } else {
      const monitor = await run("monitor", [...monitorArgs, "--once", drop]);
      assert.equal(monitor.code, 0, monitor.stderr);
    }
    assert.deepEqual([...Deno.readDirSync(drop)].filter((e) => e.name === "rejected"), []);
    await assertOnce(db, 100, `tail-only ${route}, a partial last line`);
  });
}

test("a log replaced by an identical copy (cp, then mv over it): nothing doubled", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("copyover");
  await append(log, numbered(0, 1000));
  await captureOnce(db, dir.path, log);
  await Deno.copyFile(log, `${dir.path}/edited`);
  await append(`${dir.path}/edited`, numbered(1000, 1100));
  await Deno.rename(`${dir.path}/edited`, log);
  await captureOnce(db, dir.path, log);
  await assertOnce(db, 1100, "replaced by an identical copy while stopped");
  // The same while capture runs.
  await using _capture = new Running(
    "capture",
    captureArgs(db, dir.path, "--rotate-wait", "0", log),
  );
  await Deno.copyFile(log, `${dir.path}/edited`);
  await append(`${dir.path}/edited`, numbered(1100, 1200));
  await Deno.rename(`${dir.path}/edited`, log);
  await until(async () => await feedEnd(db) >= 1200, 20_000, "1200 lines").catch(() => {});
  await assertOnce(db, 1200, "replaced by an identical copy while running");
});

test("a writer's progress file (LOG.written) is not a rotated file: no junk document", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("written");
  await append(log, numbered(0, 100));
  await captureOnce(db, dir.path, log);
  await Deno.rename(log, `${log}.1`);
  await append(log, numbered(100, 200));
  await new Promise((r) => setTimeout(r, 20));
  await Deno.writeTextFile(`${log}.written`, "written: 200 lines\n");
  await captureOnce(db, dir.path, log);
  const docs = await feedDocs(db);
  assert.equal(docs.filter((d) => d.rows === 0).length, 0, "no document of junk");
  assert.deepEqual(docs.map((d) => d.source.generation).sort(), [0, 1]);
  await assertOnce(db, 200, "a .written file beside the log");
});

test(
  "logrotate olddir: without --rotated the loss is said with its bytes and the setting that fixes it; with it, every line once",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const old = `${dir.path}/old`;
    await Deno.mkdir(old);
    const db = freshDb("olddir");
    const options = ["create", "rotate 5", `olddir ${old}`];
    await append(log, numbered(0, 500));
    await captureOnce(db, dir.path, log);
    await append(log, numbered(500, 1000));
    await logrotate(dir.path, log, options);
    await append(log, numbered(1000, 1100));
    // capture check reads the logrotate configuration and says so beforehand, with the fix.
    const conf = ["--logrotate-conf", `${dir.path}/logrotate.conf`];
    const check = await run("capture", ["check", ...captureArgs(db, dir.path, ...conf, log)]);
    assert.match(
      check.stdout,
      new RegExp(
        `! logrotate: logrotate moves rotated files to ${old}.*Fix: add --rotated '${old}/spysocket\\.log\\*'`,
      ),
    );
    const fixed = await run("capture", [
      "check",
      ...captureArgs(db, dir.path, ...conf, "--rotated", `${old}/spysocket.log*`, log),
    ]);
    assert.match(fixed.stdout, /✓ logrotate: .*covers .*nothing in it loses data/);
    // Without --rotated, capture cannot find the file: it says so, naming --rotated.
    const copyDir = `${dir.path}/without`;
    await Deno.mkdir(copyDir);
    await Deno.copyFile(`${dir.path}/cache.json`, `${copyDir}/cache.json`);
    const dbWithout = freshDb("olddir_without");
    const without = await run("capture", captureArgs(dbWithout, copyDir, "--once", log));
    assert.equal(without.code, 0, without.stderr);
    assert.match(without.stderr, /ERROR .*is gone.*name it with --rotated/);
    // With it, nothing is lost.
    const result = await run(
      "capture",
      captureArgs(
        db,
        dir.path,
        "--once",
        "--rotate-wait",
        "0",
        "--rotated",
        `${old}/spysocket.log.*`,
        log,
      ),
    );
    assert.equal(result.code, 0, result.stderr);
    await assertOnce(db, 1100, "olddir with --rotated");
  },
  { ignore: !LOGROTATE },
);

test("a compressed rotation capture cannot read (bzip2) is an ERROR line with its bytes, and counted", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("rotbz2");
  await append(log, numbered(0, 100));
  await captureOnce(db, dir.path, log);
  await append(log, numbered(100, 200));
  // As logrotate does it: renamed, a new log made, the rotated file compressed and removed.
  await Deno.rename(log, `${log}.1`);
  await append(log, numbered(200, 250));
  const text = await Deno.readFile(`${log}.1`);
  // bzip2's magic and then anything: capture must not read it as text.
  await Deno.writeFile(`${log}.1.bz2`, new Uint8Array([0x42, 0x5a, 0x68, 0x39, ...gzipSync(text)]));
  await Deno.remove(`${log}.1`);
  assert.match(
    await captureOnce(db, dir.path, log),
    /ERROR .*spysocket\.log\.1\.bz2 \(bzip2, \d+ bytes\) may hold it and cannot be read/,
  );
  const counts = await tally(db, 250);
  assert.equal(counts.doubled, 0);
  assert.equal(counts.lost, 100, "the lines only the bzip2 file holds");
});
