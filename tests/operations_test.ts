/**
 * Operating logcapture: configuration files and their errors, precedence, redaction, the 2012
 * properties, health and metrics, `--status`, JSON logs, the build, and the demo.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CAPTURE_OPTIONS, MONITOR_OPTIONS } from "../lib/cli/options.ts";
import type { OptionSpec } from "../lib/cli/config.ts";
import { PERMISSIONS, RUNTIME_FLAGS } from "../tools/deno_run.ts";
import {
  append,
  FIXTURES,
  freePortForTest,
  freshDb,
  Proxy,
  refusingServer,
  ROOT,
  run,
  Running,
  serverCredentials,
  serverUrl,
  simulatedLines,
  tempDir,
  test,
  toolArgs,
  until,
} from "./helpers.ts";

const lines = simulatedLines(5);

async function configError(json: string, program: "capture" | "monitor" = "capture") {
  await using dir = await tempDir();
  const path = `${dir.path}/${program}.json`;
  await Deno.writeTextFile(path, json);
  return await run(program, ["--config", path, "--print-config", "x.log"]);
}

test("configuration errors name the key and the file, exit 2", async () => {
  const cases: [string, RegExp][] = [
    [
      '{"flushMs": "fast"}',
      /^capture: capture\.json: "flushMs" must be a duration such as 500ms, 5s or 2m, got "fast"$/m,
    ],
    [
      '{"flushMS": 100}',
      /capture\.json: unknown key "flushMS"; did you mean "flush"\? \(known keys: .*flush/,
    ],
    ['{"batch_lines": 100}', /unknown key "batch_lines"; did you mean "batchLines"\?/],
    ['{"batchLines": "100"}', /"batchLines" must be a positive integer, got "100"/],
    ['{"mode": "both"}', /capture\.json: "mode" must be one of feed, records, got "both"/],
    ['{"batchLines": 0}', /"batchLines" must be a positive integer, got 0/],
    ['{"once": "yes"}', /"once" must be true or false, got "yes"/],
    [
      '{"password": "hunter2"}',
      /"password" cannot be set in a configuration file: use COUCHDB_PASSWORD or passwordFile/,
    ],
    ["{not json", /capture\.json is not valid JSON/],
    ["[1, 2]", /must hold a JSON object/],
  ];
  for (const [json, message] of cases) {
    const result = await configError(json);
    assert.equal(result.code, 2, `${json}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.ok(!result.stderr.includes("hunter2"));
    assert.equal(result.stderr.trim().split("\n").length, 1);
  }
  const missing = await run("capture", ["--config", "/nonexistent/capture.json", "x.log"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read configuration file \/nonexistent\/capture\.json/);
  const monitor = await configError('{"done": "archive"}', "monitor");
  assert.equal(monitor.code, 2);
  assert.match(monitor.stderr, /monitor\.json: "done" must be one of keep, delete, got "archive"/);
});

test("precedence: the file, then the environment, then flags", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/capture.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ couchdb: "http://file:5984/a", flushMs: 200, mode: "records" }),
  );
  const show = async (args: string[], env: Record<string, string> = {}) => {
    const result = await run("capture", ["--config", path, "--print-config", ...args, "x.log"], {
      COUCHDB_URL: "",
      ...env,
    });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  // The earlier key (flushMs) still reads; the key is named like its flag now.
  assert.deepEqual(await show([]).then((c) => [c.couchdb, c.flush, c.mode]), [
    "http://file:5984/a",
    200,
    "records",
  ]);
  assert.equal((await show([], { COUCHDB_URL: "http://env:5984/b" })).couchdb, "http://env:5984/b");
  const flagged = await show(["--couchdb", "http://flag:5984/c", "--flush-ms", "300"], {
    COUCHDB_URL: "http://env:5984/b",
  });
  assert.deepEqual([flagged.couchdb, flagged.flush, flagged.mode], [
    "http://flag:5984/c",
    300,
    "records",
  ]);
});

test("--print-config redacts secrets: the password and the URL's password", async () => {
  const result = await run("capture", [
    "--print-config",
    "--couchdb",
    "http://admin:urlsecret@couch:5984/db",
    "x.log",
  ], {
    COUCHDB_PASSWORD: "envsecret",
    COUCHDB_USER: "admin",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(
    !result.stdout.includes("urlsecret") && !result.stdout.includes("envsecret"),
    result.stdout,
  );
  const config = JSON.parse(result.stdout);
  assert.equal(config.password, "***");
  assert.equal(config.couchdb, "http://admin:***@couch:5984/db");
  assert.equal(config.user, "admin");
});

test("the 2012 hrtail.properties is read as --config, with a note of what was taken", async () => {
  const result = await run("capture", [
    "--config",
    `${FIXTURES}/legacy-hrtail.properties`,
    "--print-config",
    "x.log",
  ], { COUCHDB_URL: "" });
  assert.equal(result.code, 0, result.stderr);
  const config = JSON.parse(result.stdout);
  assert.equal(config.couchdb, "http://localhost:5984/couchdbkit_test");
  assert.equal(config.importHistory, `${FIXTURES}/logtail.history`);
  assert.match(
    result.stderr,
    /took couchpush\.db_url → couchdb, logtail\.tail_status_filename → importHistory/,
  );
  assert.match(
    result.stderr,
    /no equivalent for logtail\.file_size_limit, capture\.extract_filename, capture\.csv_filename/,
  );
});

test("--import-history starts from the 2012 logtail.history size", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/simulated.log`;
  const old = lines(600);
  const size = 75946;
  await append(log, old.slice(0, old.indexOf("\n", size - 1) + 1)); // at least 75,946 bytes of whole lines
  await Deno.truncate(log, size); // the 2012 tool stopped at a line boundary
  await append(log, "\n" + lines(10));
  const db = freshDb("history");
  const result = await run("capture", [
    "--couchdb",
    db,
    "--cache",
    `${dir.path}/c.json`,
    "--once",
    "--import-history",
    `${FIXTURES}/legacy-logtail.history`,
    log,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /starting from the 2012 history .*offset 75946/);
  const cache = JSON.parse(await Deno.readTextFile(`${dir.path}/c.json`));
  assert.equal(cache.offset, (await Deno.stat(log)).size);
});

test("--help lists every option with its default by section, the configuration keys, three examples and the exit codes; --version", async () => {
  for (
    const [program, specs] of [["capture", CAPTURE_OPTIONS], ["monitor", MONITOR_OPTIONS]] as const
  ) {
    const help = await run(program, ["--help"]);
    assert.equal(help.code, 0);
    for (const spec of specs as readonly OptionSpec[]) {
      if (spec.flag && !spec.secret) {
        assert.ok(help.stdout.includes(`--${spec.flag}`), `${program} --help lacks --${spec.flag}`);
      }
      if (!spec.flagOnly) {
        assert.ok(
          help.stdout.includes(`  ${spec.key} `),
          `${program} --help lacks key ${spec.key}`,
        );
      }
    }
    // Help text is wrapped: read it as one line.
    assert.match(
      help.stdout.replace(/\s+/g, " "),
      /\(default: 1s in feed mode and tail-only, 50ms in records mode\)|\(default: keep\)/,
    );
    assert.equal(
      help.stdout.split("examples:")[1].split("\n").filter((l) => l.startsWith(`  ${program}`))
        .length,
      3,
    );
    // A manual: sections, typed placeholders, exit codes, and no line past 99 columns.
    assert.match(help.stdout, /^CouchDB:$/m);
    assert.match(help.stdout, /--couchdb URL /);
    assert.match(help.stdout, /--batch-lines N /);
    assert.match(help.stdout, /^exit codes:\n {2}0 /m);
    assert.doesNotMatch(help.stdout, / VALUE /);
    const long = help.stdout.split("\n").filter((line) => line.length > 99);
    assert.deepEqual(long, [], `${program} --help has lines over 99 columns`);
    const version = await run(program, ["--version"]);
    assert.match(version.stdout, new RegExp(`^${program} \\d+\\.\\d+\\.\\d+\\n$`));
  }
});

test("--status on a fresh cache file and on a caught-up one, without starting a capture", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, lines(100));
  const size = (await Deno.stat(log)).size;
  const args = ["--cache", `${dir.path}/c.json`, "--status", log];
  const fresh = await run("capture", args);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, /does not exist yet/);
  assert.match(fresh.stdout, new RegExp(`behind:\\s+${size} bytes`));
  const db = freshDb("status");
  assert.equal(
    (await run("capture", ["--couchdb", db, "--cache", `${dir.path}/c.json`, "--once", log])).code,
    0,
  );
  const caught = await run("capture", args);
  assert.match(caught.stdout, new RegExp(`offset ${size}`));
  assert.match(caught.stdout, /behind:\s+0 bytes/);
  assert.match(caught.stdout, /identity:\s+matches/);
  await append(log, lines(10));
  assert.match((await run("capture", args)).stdout, /behind:\s+[1-9]\d* bytes/);
  await Deno.rename(log, `${log}.1`);
  await append(log, lines(5));
  assert.match((await run("capture", args)).stdout, /does not match.*rotated or replaced/);
});

test("/healthz turns 503 while CouchDB is away and 200 when it is back; /metrics after a known run", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await Deno.copyFile(`${FIXTURES}/hrt-simulated.log`, log);
  await append(log, "this is not a report\n");
  using proxy = new Proxy(serverUrl());
  const db = freshDb("health");
  const port = freePortForTest();
  await using capture = new Running("capture", [
    "--couchdb",
    proxy.urlFor(db),
    "--cache",
    `${dir.path}/c.json`,
    "--flush-ms",
    "100",
    "--poll-ms",
    "100",
    "--status-listen",
    `127.0.0.1:${port}`,
    log,
  ]);
  await capture.waitFor(/status on/);
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, text: await response.text() };
  };
  const metric = (text: string, name: string) =>
    Number(new RegExp(`^logcapture_capture_${name} (\\S+)$`, "m").exec(text)?.[1]);
  // Lines are read before CouchDB acknowledges them: wait for what is asserted, the stored lines.
  await until(async () => {
    const text = (await get("/metrics")).text;
    return metric(text, "rows_pushed_total") + metric(text, "lines_rejected_total") >= 282;
  });
  const metrics = (await get("/metrics")).text;
  assert.equal(metric(metrics, "bytes_read_total"), (await Deno.stat(log)).size);
  assert.equal(metric(metrics, "rows_pushed_total"), 281);
  assert.equal(metric(metrics, "lines_rejected_total"), 1);
  assert.ok(metric(metrics, "batches_total") >= 1);
  assert.equal(metric(metrics, "push_errors_total"), 0);
  assert.ok(metric(metrics, "seconds_since_last_ack") >= 0);
  assert.match(metrics, /# TYPE logcapture_capture_rows_pushed_total counter/);
  assert.equal((await get("/healthz")).status, 200);
  proxy.down();
  await append(log, lines(20));
  await until(
    async () => (await get("/healthz")).status === 503,
    20_000,
    "503 while CouchDB is away",
  );
  assert.match((await get("/healthz")).text, /does not answer/);
  proxy.up();
  await until(
    async () => (await get("/healthz")).status === 200,
    40_000,
    "200 when CouchDB is back",
  );
  assert.ok(metric((await get("/metrics")).text, "retries_total") > 0);
});

test("JSON log lines parse as JSON and carry no secret, errors included", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, lines(10) + "garbage line\n");
  // The environment's password wins over the URL's: on a secured server it must be the real one.
  const envPassword = serverCredentials().password ?? "envpass";
  const check = (stderr: string) => {
    const records = stderr.trim().split("\n").map((l) => JSON.parse(l));
    for (const r of records) {
      assert.ok(
        typeof r.time === "string" && typeof r.level === "string" && typeof r.msg === "string",
      );
    }
    assert.ok(!stderr.includes("urlpass") && !stderr.includes(envPassword), stderr);
    return records;
  };
  const ok = await run("capture", [
    "--couchdb",
    freshDb("jsonlog"),
    "--cache",
    `${dir.path}/c.json`,
    "--once",
    "--log-format",
    "json",
    "-v",
    log,
  ], {
    COUCHDB_PASSWORD: envPassword,
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(check(ok.stderr).some((r) => r.msg.startsWith("rejected line") && r.offset > 0));
  // Credentials sent and refused: the error line is JSON too, and names no secret.
  await using refusing = refusingServer();
  const refused = await run("capture", [
    "--couchdb",
    `${refusing.url.replace("//", "//admin:urlpass@")}/db`,
    "--cache",
    `${dir.path}/d.json`,
    "--log-format",
    "json",
    log,
  ]);
  assert.equal(refused.code, 1);
  const [last] = check(refused.stderr).slice(-1);
  assert.equal(last.level, "error");
  assert.match(last.msg, /refused the credentials/);
});

test("the run tasks start the programs as the build compiles them and the tests run them", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(import.meta.dirname!, "..", "deno.json")));
  for (const program of ["capture", "monitor"]) {
    assert.equal(
      config.tasks[program],
      ["deno run", ...PERMISSIONS[program as "capture"], ...RUNTIME_FLAGS, `${program}.ts`].join(
        " ",
      ),
    );
  }
});

test("the build: compiled binaries run --version, --help and a short capture (or a clear one-line error)", async () => {
  await using dir = await tempDir();
  const dist = join(dir.path, "dist");
  const out = await new Deno.Command(Deno.execPath(), {
    args: toolArgs("tools/build.ts", ["--out", dist]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).split("\n").filter((l) =>
    l && !l.includes("Permissions in the config")
  ).join("\n");
  if (!out.success) {
    assert.equal(stderr.split("\n").length, 1, stderr);
    // Offline: the runtime's URL, to fetch it elsewhere, and DENORT_BIN; no empty dist/ left.
    assert.match(
      stderr,
      new RegExp(`for ${Deno.build.target} \\(https://\\S+denort-\\S+\\.zip\\).*DENORT_BIN=`),
    );
    assert.equal(await Deno.stat(dist).then(() => true, () => false), false, "an empty dist/");
    console.log(`skipped the compiled-binary checks: ${stderr}`);
    return;
  }
  const capture = join(dist, "capture");
  const version = await new Deno.Command(capture, { args: ["--version"], stdout: "piped" })
    .output();
  assert.match(new TextDecoder().decode(version.stdout), /^capture /);
  const help = await new Deno.Command(join(dist, "monitor"), {
    args: ["--help"],
    stdout: "piped",
  }).output();
  assert.match(new TextDecoder().decode(help.stdout), /usage: monitor/);
  const log = `${dir.path}/spysocket.log`;
  await Deno.copyFile(`${FIXTURES}/hrt-simulated.log`, log);
  const db = freshDb("binary");
  const run1 = await new Deno.Command(capture, {
    args: ["--couchdb", db, "--cache", `${dir.path}/c.json`, "--once", log],
  }).output();
  assert.ok(run1.success);
  const body = await (await fetch(`${db}/_design/feed/_view/rows`)).json();
  assert.equal(body.rows[0].value, 281);
});

test("the demo runs, and stops cleanly on Ctrl-C (SIGINT to its process group) with its final count right, and no process or file left behind", async () => {
  // In a session of its own, as a terminal runs it: Ctrl-C reaches every process of the group.
  const demo = new Deno.Command("setsid", {
    args: [Deno.execPath(), ...toolArgs("tools/demo.ts", ["--rate", "300"])],
    env: { COUCHDB_URL: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let output = "";
  const reader = (async () => {
    for await (const chunk of demo.stdout) output += new TextDecoder().decode(chunk);
  })();
  await until(
    () => /sample rows/.test(output) && /\d+ s {2}written/.test(output),
    30_000,
    "demo output",
  );
  const folder = /log: +(\S+)\/spysocket\.log/.exec(output)![1];
  await until(
    () => (output.match(/\d+ s {2}written/g)?.length ?? 0) >= 3,
    30_000,
    "three progress lines",
  );
  const group = await new Deno.Command("kill", { args: ["-INT", "--", `-${demo.pid}`] }).output();
  assert.ok(group.success, new TextDecoder().decode(group.stderr));
  const status = await demo.status;
  await reader;
  assert.equal(status.code, 0);
  // Counted before the server stopped: every line written is in CouchDB.
  assert.match(output, /stopped: (\d+) lines written, \1 rows in CouchDB/);
  assert.match(output, /in CouchDB +[1-9]\d* rows/);
  const ps = new TextDecoder().decode(
    (await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output()).stdout,
  );
  assert.ok(!ps.includes(folder), `a process still uses ${folder}`);
  assert.equal(
    await Deno.stat(folder).then(() => true, () => false),
    false,
    `${folder} was left behind`,
  );
});

test("the demo says why no rows come: capture's own error when it exits, and exit code 1", async () => {
  await using refusing = refusingServer();
  const demo = await new Deno.Command(Deno.execPath(), {
    args: toolArgs("tools/demo.ts", ["--rate", "100", "--seconds", "20"]),
    env: { COUCHDB_URL: refusing.url },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(demo.stdout);
  assert.equal(demo.code, 1, output);
  assert.match(
    output,
    /capture exited \(code 1\):\n {2}capture: .*refused the credentials \(401\)/,
  );
  assert.match(output, /stopped: \d+ lines written, 0 rows in CouchDB/);
  assert.doesNotMatch(new TextDecoder().decode(demo.stderr), /TypeError|already terminated/);
});

test("--log-level warn leaves only warnings and errors", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, lines(5) + "not a report\n");
  const result = await run("capture", [
    "--couchdb",
    freshDb("levels"),
    "--cache",
    `${dir.path}/c.json`,
    "--once",
    "--log-level",
    "warn",
    log,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!/ INFO /.test(result.stderr), result.stderr);
  assert.match(result.stderr, / WARN +rejected line/);
});

test("SIGHUP does not stop capture or the monitor: it is said, and they carry on", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, simulatedLines(3)(20));
  await Deno.mkdir(`${dir.path}/drop`);
  const programs = [
    new Running("capture", ["--couchdb", freshDb("hup"), "--cache", `${dir.path}/c.json`, log]),
    new Running("monitor", ["--couchdb", freshDb("hupmon"), `${dir.path}/drop`]),
  ];
  try {
    await programs[0].waitFor(/capturing/);
    await programs[1].waitFor(/monitoring/);
    for (const program of programs) {
      program.kill("SIGHUP");
      await program.waitFor(/SIGHUP: nothing to reopen \(logs go to stderr\); carrying on/);
      program.kill("SIGTERM");
      assert.equal((await program.done).code, 0, program.stderr);
    }
  } finally {
    for (const program of programs) await program[Symbol.asyncDispose]();
  }
});

/** The JSON log lines of a program's stderr, by their message. */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

test("capture says where it starts and why, each batch at debug, and what it did when it stops (text and JSON)", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, simulatedLines(21)(20));
  const size = (await Deno.stat(log)).size;
  const db = freshDb("lifecycle");
  const args = ["--couchdb", db, "--cache", `${dir.path}/c.json`, "--source", "avl1"];
  const first = await run("capture", [...args, "--once", "-v", log]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stderr,
    /INFO +capturing \S+ into \S+ version=\d+\.\d+\.\d+ mode="all-in-one, feed mode" source=avl1 generation=0 offset=0 from="--from start"/,
  );
  assert.match(
    first.stderr,
    new RegExp(
      `DEBUG +stored avl1 bytes 0-${size} generation=0 start=0 end=${size} rows=20 rejected=0 conflicts=0 skippedBytes=0 ms=\\d+`,
    ),
  );
  assert.match(
    first.stderr,
    new RegExp(
      `INFO +stopped: --once has captured all there was bytes=${size} rows=20 rejected=0 batches=1 conflicts=0 skippedBytes=0 seconds=[\\d.]+ generation=0 offset=${size} saved=\\S+c\\.json`,
    ),
  );

  await append(log, simulatedLines(22)(5) + "not a report\n");
  const second = await run("capture", [...args, "--once", "--log-format", "json", log]);
  assert.equal(second.code, 0, second.stderr);
  const [start, ...rest] = jsonLines(second.stderr);
  assert.equal(start.msg, `capturing ${log} into ${db.replace(/\/\/[^@]*@/, "//")}`);
  assert.deepEqual([start.source, start.generation, start.offset, start.from], [
    "avl1",
    0,
    size,
    "the cache file",
  ]);
  const summary = rest.at(-1)!;
  assert.equal(summary.msg, "stopped: --once has captured all there was");
  assert.deepEqual([summary.bytes, summary.rows, summary.rejected, summary.batches], [
    (await Deno.stat(log)).size - size,
    5,
    1,
    1,
  ]);
  assert.equal(summary.offset, (await Deno.stat(log)).size);

  await using running = new Running("capture", [...args, "-v", log]);
  await running.waitFor(/capturing/);
  await append(log, simulatedLines(23)(3));
  await running.waitFor(/DEBUG +stored avl1 .* rows=3 /);
  running.kill("SIGTERM");
  assert.equal((await running.done).code, 0, running.stderr);
  assert.match(
    running.stderr,
    /INFO +stopped by SIGTERM bytes=\d+ rows=3 rejected=0 batches=1 .* saved=/,
  );
});

test("the monitor says what it did when it stops: after --once, and after SIGTERM", async () => {
  await using dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  const log = `${dir.path}/spysocket.log`;
  await append(log, simulatedLines(24)(10));
  const made = await run("capture", [
    "-t",
    "Tail_Only",
    "--extract-dir",
    drop,
    "--cache",
    `${dir.path}/c.json`,
    "--source",
    "avl1",
    "--once",
    log,
  ]);
  assert.equal(made.code, 0, made.stderr);
  const db = freshDb("monlife");
  const once = await run("monitor", ["--couchdb", db, "--once", "-v", drop]);
  assert.equal(once.code, 0, once.stderr);
  assert.match(once.stderr, /INFO +monitoring \S+ into \S+ version=\S+ mode="feed mode"/);
  assert.match(once.stderr, /DEBUG +stored avl1 bytes 0-\d+ generation=0 .* rows=10 /);
  assert.match(
    once.stderr,
    /INFO +stopped: --once has processed every extract there was extracts=1 extractsRejected=0 rows=10 rejected=0 batches=1 /,
  );
  await using running = new Running("monitor", ["--couchdb", db, drop]);
  await running.waitFor(/monitoring/);
  running.kill("SIGTERM");
  assert.equal((await running.done).code, 0);
  assert.match(running.stderr, /INFO +stopped by SIGTERM extracts=0 /);
});

test("--once exit codes for scripts: 0 done, 1 with the last error once --retry-for is over (at the start, and mid-run), 2 for usage", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, simulatedLines(25)(10));
  const cache = `${dir.path}/c.json`;
  const db = freshDb("oncecodes");
  assert.equal((await run("capture", ["--couchdb", db, "--cache", cache, "--once", log])).code, 0);

  const port = freePortForTest();
  const unreachable = await run("capture", [
    "--couchdb",
    `http://127.0.0.1:${port}/db`,
    "--cache",
    `${dir.path}/other.json`,
    "--once",
    "--retry-for",
    "1s",
    log,
  ]);
  assert.equal(unreachable.code, 1);
  assert.match(
    unreachable.stderr.trim().split("\n").at(-1)!,
    /^capture: cannot reach CouchDB at http:\/\/127\.0\.0\.1:\d+: connection refused; gave up after 1s of retrying \(--retry-for\)$/,
  );

  // Mid-run: the database was reached, then the server goes away for longer than --retry-for.
  using proxy = new Proxy(serverUrl());
  await append(log, simulatedLines(26)(10));
  await using capture = new Running("capture", [
    "--couchdb",
    proxy.urlFor(db),
    "--cache",
    cache,
    "--retry-for",
    "2s",
    "--poll",
    "50ms",
    log,
  ]);
  await capture.waitFor(/capturing/);
  proxy.down();
  await append(log, simulatedLines(27)(10));
  const status = await capture.done;
  assert.equal(status.code, 1, capture.stderr);
  assert.match(
    capture.stderr.trim().split("\n").at(-1)!,
    /^capture: .*(cannot reach CouchDB|gave up).*\(--retry-for\)/,
  );
  assert.match(capture.stderr, /stopping on an error bytes=\d+/);

  const monitorDown = await run("monitor", [
    "--couchdb",
    `http://127.0.0.1:${port}/db`,
    "--once",
    "--retry-for",
    "1s",
    dir.path,
  ]);
  assert.equal(monitorDown.code, 1);
  assert.match(monitorDown.stderr, /gave up after 1s of retrying \(--retry-for\)/);
  const usage = await run("capture", ["--once", "--retry-for", "soon", log]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--retry-for must be a duration such as 500ms, 5s or 2m/);
});

test("--print-config needs no LOGFILE, and says where each value came from", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/capture.json`;
  await Deno.writeTextFile(path, JSON.stringify({ batchLines: 200, flushMs: "1s" }));
  const result = await run("capture", ["--config", path, "--print-config", "--poll", "2s"], {
    COUCHDB_URL: "http://admin:secret@couch:5984/db",
  });
  assert.equal(result.code, 0, result.stderr);
  const config = JSON.parse(result.stdout);
  assert.deepEqual([config.batchLines, config.flush, config.poll, config.couchdb], [
    200,
    1000,
    2000,
    "http://admin:***@couch:5984/db",
  ]);
  assert.deepEqual(
    [
      config.$origin.batchLines,
      config.$origin.flush,
      config.$origin.poll,
      config.$origin.couchdb,
      config.$origin.mode,
    ],
    [`file ${path}`, `file ${path}`, "--poll", "$COUCHDB_URL", "default"],
  );
  // What it prints is a configuration file again: `$origin` is skipped when it is read back.
  await Deno.writeTextFile(path, result.stdout);
  const again = await run("capture", ["--config", path, "--print-config"], { COUCHDB_URL: "" });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).poll, 2000);
});

test("the example configurations are valid, and the capture one agrees with the systemd unit", async () => {
  for (const program of ["capture", "monitor"] as const) {
    const result = await run(program, [
      "--config",
      `${ROOT}/examples/${program}.json`,
      "--print-config",
    ], { COUCHDB_URL: "" });
    assert.equal(result.code, 0, result.stderr);
    const config = JSON.parse(result.stdout);
    assert.equal(config.$origin.couchdb, `file ${ROOT}/examples/${program}.json`);
    if (program === "capture") {
      const unit = await Deno.readTextFile(`${ROOT}/deploy/capture@.service`);
      // The unit's instance `spysocket` puts its cache file where the example says.
      const cache = /--cache \$\{STATE_DIRECTORY\}\/%i\.cache\.json/.test(unit)
        ? "/var/lib/logcapture/spysocket.cache.json"
        : null;
      assert.equal(config.cache, cache);
    }
  }
});

test('an empty value switches a setting off: --status-listen "" over a file\'s statusListen', async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/capture.json`;
  await Deno.writeTextFile(path, JSON.stringify({ statusListen: "127.0.0.1:9100", poll: "2s" }));
  const show = async (...args: string[]) => {
    const result = await run("capture", ["--config", path, "--print-config", ...args], {
      COUCHDB_URL: "",
    });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  assert.equal((await show()).statusListen, "127.0.0.1:9100");
  const off = await show("--status-listen", "", "--poll", "");
  assert.equal(off.statusListen, undefined);
  assert.equal(off.poll, 1000, "an empty value of a setting with a default is its default");
});
