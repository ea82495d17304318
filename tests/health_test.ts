/**
 * An honest `/healthz` (issue 21): served from the start, 503 while CouchDB is away even when the
 * log is quiet (nothing would meet the outage but the probe), and for a log path that cannot be
 * right; its JSON body lists each check. Through the real programs, CouchDB behind a proxy that
 * the tests take down and bring back.
 */
import assert from "node:assert/strict";
import {
  append,
  captureArgs,
  freePortForTest,
  freshDb,
  numberedLine,
  Proxy,
  run,
  Running,
  serverUrl,
  tempDir,
  test,
  until,
} from "./helpers.ts";

async function healthz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
  if (!response) return { status: 0, body: {} };
  return { status: response.status, body: await response.json() };
}

test("capture idle on a quiet log, CouchDB goes away: /healthz turns 503 without a line written, and 200 when it is back", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("idlehealth");
  await using proxy = new Proxy(serverUrl());
  await append(log, numberedLine(1));
  const port = freePortForTest();
  await using capture = new Running(
    "capture",
    captureArgs(proxy.urlFor(db), dir.path, "--status-listen", `127.0.0.1:${port}`, log),
  );
  await until(async () => (await healthz(port)).status === 200, 20_000, "healthy");
  // Idle: the line is stored, and nothing more comes.
  await until(
    async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /^logcapture_capture_rows_pushed_total 1$/m.test(metrics);
    },
    20_000,
    "the line stored",
  );
  const healthy = await healthz(port);
  assert.deepEqual(healthy.body, {
    status: "ok",
    checks: { log: "ok", couchdb: "ok", tailing: "ok" },
  });
  proxy.down();
  const since = Date.now();
  await until(async () => (await healthz(port)).status === 503, 30_000, "503 while idle");
  console.log(`503 after ${Date.now() - since} ms of CouchDB away, idle`);
  const away = await healthz(port);
  assert.equal(away.body.status, "unhealthy");
  assert.match(
    String((away.body.checks as Record<string, string>).couchdb),
    /cannot reach CouchDB/,
  );
  assert.equal((away.body.checks as Record<string, string>).log, "ok");
  proxy.up();
  await until(async () => (await healthz(port)).status === 200, 30_000, "200 when back");
  capture.kill("SIGTERM");
  await capture.done;
});

test("CouchDB down when capture starts: /healthz is served at once, 503 while it connects", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  const db = freshDb("starthealth");
  await using proxy = new Proxy(serverUrl());
  proxy.down();
  await append(log, numberedLine(1));
  const port = freePortForTest();
  await using capture = new Running(
    "capture",
    captureArgs(proxy.urlFor(db), dir.path, "--status-listen", `127.0.0.1:${port}`, log),
  );
  await capture.waitFor(/status on/);
  const starting = await healthz(port);
  assert.equal(starting.status, 503);
  assert.match(
    String((starting.body.checks as Record<string, string>).couchdb),
    /connecting to http:\/\/(.*:\*\*\*@)?127\.0\.0\.1/,
  );
  proxy.up();
  await until(async () => (await healthz(port)).status === 200, 30_000, "200 once connected");
});

test("a log path whose folder does not exist: a WARN at once, and /healthz says the path is wrong", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/no-such-folder/spysocket.log`;
  const db = freshDb("pathhealth");
  const port = freePortForTest();
  await using capture = new Running(
    "capture",
    captureArgs(db, dir.path, "--status-listen", `127.0.0.1:${port}`, log),
  );
  await capture.waitFor(/WARN .*does not exist, nor does its folder: check the path/);
  await until(async () => (await healthz(port)).status === 503, 20_000, "503 for the path");
  const answer = await healthz(port);
  assert.match(
    String((answer.body.checks as Record<string, string>).log),
    /nor does its folder: check the path/,
  );
});

test("the monitor with CouchDB down at its start: /healthz is served, 503 until it connects", async () => {
  await using dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  const db = freshDb("monhealth");
  await using proxy = new Proxy(serverUrl());
  proxy.down();
  const port = freePortForTest();
  await using monitor = new Running("monitor", [
    "--couchdb",
    proxy.urlFor(db),
    "--status-listen",
    `127.0.0.1:${port}`,
    drop,
  ]);
  await monitor.waitFor(/status on/);
  assert.equal((await healthz(port)).status, 503);
  proxy.up();
  await until(async () => (await healthz(port)).status === 200, 30_000, "200 once connected");
});

test("a status address in use is named with its flag, by the run and by check", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/spysocket.log`;
  await append(log, numberedLine(1));
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  try {
    const db = freshDb("portinuse");
    const args = captureArgs(db, dir.path, "--status-listen", `127.0.0.1:${port}`, log);
    const result = await run("capture", args);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^capture: cannot listen on 127\\.0\\.0\\.1:${port} \\(--status-listen\\): another program holds it`,
        "m",
      ),
    );
    const check = await run("capture", ["check", ...args]);
    assert.match(
      check.stdout,
      new RegExp(
        `✗ status address: cannot listen on 127\\.0\\.0\\.1:${port}.*Fix: .*choose another --status-listen`,
      ),
    );
  } finally {
    taken.close();
  }
});
