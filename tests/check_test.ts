/**
 * `capture check` and `monitor check` through the real programs: a good setup passes every check
 * and changes nothing; each broken part is one ✗ line with its fix, and exit code 1.
 */
import assert from "node:assert/strict";
import {
  append,
  freePortForTest,
  freshDb,
  refusingServer,
  run,
  Running,
  serverUrl,
  simulatedLines,
  tempDir,
  test,
} from "./helpers.ts";
import { serverName } from "../tools/real_couchdb.ts";
import { loopbackCertificates } from "../tools/certificates.ts";

const lines = simulatedLines(14);

/** The ✓, ✗ and - lines of a check, by the name of each check. */
function verdicts(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.trim().split("\n")) {
    const m = /^([✓✗-]) ([^:]+): (.*)$/.exec(line);
    assert.ok(m, `not a check line: ${line}`);
    out.set(m[2], `${m[1]} ${m[3]}`);
  }
  return out;
}

async function logIn(dir: string): Promise<string> {
  const log = `${dir}/spysocket.log`;
  await append(log, lines(20));
  return log;
}

test("capture check on a good setup: every check passes, exit 0, and nothing is changed", async () => {
  await using dir = await tempDir();
  const log = await logIn(dir.path);
  const db = freshDb("check");
  const cache = `${dir.path}/state/avl1.cache.json`;
  const result = await run("capture", ["check", "--couchdb", db, "--cache", cache, log]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const seen = verdicts(result.stdout);
  assert.deepEqual([...seen.keys()], [
    "configuration",
    "log",
    "cache file",
    "logrotate",
    "CouchDB",
    "credentials",
    "database",
    "design document",
  ]);
  for (const [name, verdict] of seen) assert.match(verdict, /^✓ /, `${name}: ${verdict}`);
  assert.match(seen.get("configuration")!, /couchdb \(--couchdb\), cache \(--cache\)/);
  assert.match(seen.get("log")!, /is readable \(\d+ bytes\)/);
  assert.match(seen.get("database")!, /does not exist yet; it is created at the start/);
  // A check changes nothing: no database, no cache file, not even its folder.
  assert.equal((await fetch(db)).status, 404);
  assert.equal(await Deno.stat(`${dir.path}/state`).then(() => true, () => false), false);
});

test("capture check: each broken part is one ✗ with its fix, what stands on it is skipped, exit 1", async () => {
  await using dir = await tempDir();
  const log = await logIn(dir.path);
  const cache = `${dir.path}/c.json`;
  const db = freshDb("checkbad");

  const missing = await run("capture", [
    "check",
    "--couchdb",
    db,
    "--cache",
    cache,
    `${dir.path}/nowhere/x.log`,
  ]);
  assert.equal(missing.code, 1);
  assert.match(
    verdicts(missing.stdout).get("log")!,
    /^✗ .*does not exist, and its folder cannot be watched.*\. Fix: check the path/,
  );

  await Deno.writeTextFile(cache, "{ not json");
  const corrupt = await run("capture", ["check", "--couchdb", db, "--cache", cache, log]);
  assert.equal(corrupt.code, 1);
  assert.match(verdicts(corrupt.stdout).get("cache file")!, /^✗ .*\. Fix: move .* away/);
  await Deno.remove(cache);

  const port = freePortForTest();
  const down = await run("capture", [
    "check",
    "--couchdb",
    `http://127.0.0.1:${port}/db`,
    "--cache",
    cache,
    log,
  ]);
  assert.equal(down.code, 1);
  const downSeen = verdicts(down.stdout);
  assert.match(downSeen.get("CouchDB")!, /^✗ .*connection refused\. Fix: check --couchdb/);
  assert.equal(downSeen.get("credentials"), "- not checked (CouchDB failed)");
  assert.equal(downSeen.get("design document"), "- not checked (database failed)");

  await using refusing = refusingServer();
  const refused = await run("capture", [
    "check",
    "--couchdb",
    `${refusing.url}/db`,
    "--cache",
    cache,
    log,
  ], { COUCHDB_USER: "admin", COUCHDB_PASSWORD: "wrong-password" });
  assert.equal(refused.code, 1);
  const refusedSeen = verdicts(refused.stdout);
  assert.match(refusedSeen.get("CouchDB")!, /^✓ .*answers \(HTTP 401/);
  assert.match(refusedSeen.get("credentials")!, /^✗ .*401.*\. Fix: check the user and password/);
  assert.ok(!refused.stdout.includes("wrong-password"));

  await Deno.writeTextFile(`${dir.path}/ca.pem`, "not a certificate");
  const ca = await run("capture", [
    "check",
    "--couchdb",
    db,
    "--cache",
    cache,
    "--ca-file",
    `${dir.path}/ca.pem`,
    log,
  ]);
  assert.equal(ca.code, 1);
  assert.match(verdicts(ca.stdout).get("CA file")!, /^✗ .* holds no PEM block/);
});

test("capture check: a cache file held by a running capture is ✗, naming its PID", async () => {
  await using dir = await tempDir();
  const log = await logIn(dir.path);
  const db = freshDb("checklock");
  const cache = `${dir.path}/c.json`;
  await using running = new Running("capture", ["--couchdb", db, "--cache", cache, log]);
  await running.waitFor(/capturing/);
  const result = await run("capture", ["check", "--couchdb", db, "--cache", cache, log]);
  assert.equal(result.code, 1);
  assert.match(
    verdicts(result.stdout).get("cache file")!,
    new RegExp(
      `^✗ .*in use by another process \\(PID ${running.child.pid}\\).*Fix: a capture runs`,
    ),
  );
});

test("capture check, tail-only: the drop directory, and a receiver that refuses the token", async () => {
  await using dir = await tempDir();
  const log = await logIn(dir.path);
  const cache = `${dir.path}/c.json`;
  const noDrop = await run("capture", [
    "check",
    "-t",
    "Tail_Only",
    "--extract-dir",
    `${dir.path}/drop`,
    "--cache",
    cache,
    log,
  ]);
  assert.equal(noDrop.code, 1);
  assert.match(verdicts(noDrop.stdout).get("drop directory")!, /^✗ .*is not a directory/);

  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  await Deno.writeTextFile(`${dir.path}/token`, "right-token\n");
  await Deno.writeTextFile(`${dir.path}/other`, "other-token\n");
  const port = freePortForTest();
  await using monitor = new Running("monitor", [
    "--couchdb",
    freshDb("checkrecv"),
    "--listen",
    `127.0.0.1:${port}`,
    "--token-file",
    `${dir.path}/token`,
    drop,
  ]);
  await monitor.waitFor(/monitoring/);
  const ship = (token: string, ...more: string[]) =>
    run("capture", [
      "check",
      "-t",
      "Tail_Only",
      "--ship-to",
      `http://127.0.0.1:${port}`,
      "--token-file",
      token,
      "--cache",
      cache,
      ...more,
      log,
    ]);
  const good = await ship(`${dir.path}/token`);
  assert.equal(good.code, 0, good.stdout);
  assert.match(
    verdicts(good.stdout).get("receiver")!,
    /^✓ .*answers and takes the token, and extracts of 4MiB/,
  );
  // Extracts bigger than the receiver takes (its --max-extract-bytes, 64 MiB) would stop capture
  // at its first long catch-up: check says so now.
  const big = await ship(`${dir.path}/token`, "--batch-bytes", "100MiB");
  assert.equal(big.code, 1, big.stdout);
  assert.match(
    verdicts(big.stdout).get("receiver")!,
    /^✗ .*refuses extracts of 100MiB \(413: larger than 67108864 bytes\)\. Fix: lower --batch-bytes/,
  );
  assert.deepEqual([...Deno.readDirSync(drop)], [], "the check wrote nothing");
  const wrong = await ship(`${dir.path}/other`);
  assert.equal(wrong.code, 1);
  assert.match(
    verdicts(wrong.stdout).get("receiver")!,
    /^✗ .*refuses this token \(401\)\. Fix: give the monitor's token/,
  );
});

test("monitor check: a good drop directory passes; one held by a running monitor, or a taken --listen port, is ✗", async () => {
  await using dir = await tempDir();
  const db = freshDb("checkmon");
  await Deno.writeTextFile(`${dir.path}/token`, "t\n");
  const good = await run("monitor", ["check", "--couchdb", db, dir.path]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  for (const [name, verdict] of verdicts(good.stdout)) {
    assert.match(verdict, /^✓ /, `${name}: ${verdict}`);
  }
  await using monitor = new Running("monitor", ["--couchdb", db, dir.path]);
  await monitor.waitFor(/monitoring/);
  const port = freePortForTest();
  using _taken = Deno.listen({ hostname: "127.0.0.1", port });
  const held = await run("monitor", [
    "check",
    "--couchdb",
    db,
    "--listen",
    `127.0.0.1:${port}`,
    "--token-file",
    `${dir.path}/token`,
    dir.path,
  ]);
  assert.equal(held.code, 1);
  const seen = verdicts(held.stdout);
  assert.match(seen.get("drop directory lock")!, /^✗ .*in use by another process.*one monitor/);
  assert.match(seen.get("listen address")!, /^✗ .*Address already in use.*Fix: another program/);
  assert.match(seen.get("token file")!, /^✓ /);
});

test("monitor check: a TLS certificate with the wrong key is ✗", async () => {
  await using dir = await tempDir();
  // Two certificates of two CAs: the key of one does not go with the other.
  const made = [];
  for (const name of ["a", "b"]) {
    await Deno.mkdir(`${dir.path}/${name}`);
    made.push(await loopbackCertificates(`${dir.path}/${name}`));
  }
  const [a, b] = made;
  if (!a || !b) {
    console.log("skipped: openssl could not make test certificates");
    return;
  }
  await Deno.writeTextFile(`${dir.path}/token`, "t\n");
  const check = (key: string) =>
    run("monitor", [
      "check",
      "--couchdb",
      freshDb("checktls"),
      "--listen",
      `127.0.0.1:${freePortForTest()}`,
      "--token-file",
      `${dir.path}/token`,
      "--tls-cert",
      a.cert,
      "--tls-key",
      key,
      dir.path,
    ]);
  const matching = await check(a.key);
  assert.equal(matching.code, 0, matching.stdout);
  assert.match(verdicts(matching.stdout).get("TLS certificate")!, /^✓ .*go together/);
  const mismatched = await check(b.key);
  assert.equal(mismatched.code, 1);
  assert.match(
    verdicts(mismatched.stdout).get("TLS certificate")!,
    /^✗ .*cannot serve https.*Fix: give a certificate and the private key/,
  );
});

test("capture check on Apache CouchDB: a user who is no admin cannot have the database created", async () => {
  if (!(await serverName(serverUrl())).startsWith("Apache CouchDB")) {
    console.log("skipped: pouchdb-server has no users");
    return;
  }
  await using dir = await tempDir();
  const log = await logIn(dir.path);
  const base = new URL(serverUrl());
  const user = `lc_check_${Date.now().toString(36)}`;
  const userDoc = `${serverUrl()}/_users/org.couchdb.user:${user}`;
  const made = await fetch(userDoc, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: user, password: "pw", roles: [], type: "user" }),
  });
  assert.ok(made.ok, await made.text());
  try {
    const db = freshDb("checkuser");
    const url = `${base.protocol}//${user}:pw@${base.host}/${db.split("/").pop()}`;
    const result = await run("capture", [
      "check",
      "--couchdb",
      url,
      "--cache",
      `${dir.path}/c`,
      log,
    ]);
    assert.equal(result.code, 1, result.stdout);
    const seen = verdicts(result.stdout);
    assert.match(seen.get("credentials")!, new RegExp(`^✓ accepted as ${user}$`));
    assert.match(
      seen.get("database")!,
      /^✗ .*only a server admin can create it\. Fix: have an admin create it/,
    );
  } finally {
    const rev = (await (await fetch(userDoc)).json())._rev;
    await fetch(`${userDoc}?rev=${rev}`, { method: "DELETE" }).then((r) => r.body?.cancel());
  }
});

test("capture check leaves nothing behind: no lock file beside the cache file", async () => {
  await using dir = await tempDir();
  const log = await logIn(dir.path);
  const db = freshDb("checklock");
  const cache = `${dir.path}/avl1.cache.json`;
  await run("capture", ["check", "--couchdb", db, "--cache", cache, log]);
  assert.deepEqual(
    [...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.startsWith("avl1")),
    [],
  );
});
