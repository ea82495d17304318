/**
 * Least privilege (issue 21): capture and the monitor run as a database member that is not an
 * admin, once the database exists; what a user may not do is named with the privilege it needs,
 * never as a wrong password. Real users on the real server (CouchDB 3.5 has no admin party); an
 * open server (pouchdb-server) has no users, and these tests skip there, saying so.
 */
import assert from "node:assert/strict";
import {
  append,
  captureArgs,
  feedDocs,
  freshDb,
  numberedLine,
  run,
  serverUrl,
  tempDir,
  test,
} from "./helpers.ts";

const OPEN_SERVER = Deno.env.get("LOGCAPTURE_TEST_SERVER") === "pouchdb";
if (OPEN_SERVER) console.log("privileges_test: the test server has no users: its cases skip");

/** A CouchDB user made for the test, removed when disposed. */
async function user(name: string): Promise<{ url: (db: string) => string } & AsyncDisposable> {
  const server = serverUrl();
  const doc = `${server}/_users/org.couchdb.user:${name}`;
  const password = crypto.randomUUID();
  const made = await fetch(doc, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, password, roles: [], type: "user" }),
  });
  if (!made.ok) throw new Error(`cannot make user ${name}: ${made.status} ${await made.text()}`);
  const { rev } = await made.json();
  return {
    url: (db) => {
      const url = new URL(db);
      url.username = name;
      url.password = password;
      return url.href;
    },
    async [Symbol.asyncDispose]() {
      await fetch(`${doc}?rev=${rev}`, { method: "DELETE" }).then((r) => r.body?.cancel());
    },
  };
}

/** Creates `db` as the admin, with `members` as its members. */
async function databaseWithMembers(db: string, members: string[]): Promise<void> {
  const made = await fetch(db, { method: "PUT" });
  assert.ok(made.ok, `cannot create ${db}: ${made.status}`);
  await made.body?.cancel();
  const security = await fetch(`${db}/_security`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ admins: { names: [], roles: [] }, members: { names: members } }),
  });
  assert.ok(security.ok, `cannot set ${db}/_security: ${security.status}`);
  await security.body?.cancel();
}

const unique = () => `lc_user_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

test(
  "a database member (not an admin) runs capture: the lines are stored; the design document it may not write is a warning naming who can",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("member");
    await using member = await user(unique());
    const name = new URL(member.url(db)).username;
    await databaseWithMembers(db, [name]);
    await append(log, numberedLine(1) + numberedLine(2));
    const check = await run("capture", ["check", ...captureArgs(member.url(db), dir.path, log)]);
    assert.equal(check.code, 0, check.stdout);
    assert.match(check.stdout, /✓ database: .* exists/);
    assert.match(check.stdout, /! design document: _design\/feed is missing, and only an admin/);
    const result = await run("capture", captureArgs(member.url(db), dir.path, "--once", log));
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /WARN .*_design\/feed is missing and cannot be written: .*an admin of database/,
    );
    assert.doesNotMatch(result.stderr, /password|COUCHDB_PASSWORD/);
    assert.equal((await feedDocs(db)).reduce((n, d) => n + d.rows, 0), 2);
    // Once an admin has run it (the design document written), the member's run says nothing of it.
    assert.equal((await run("capture", captureArgs(db, `${dir.path}`, "--once", log))).code, 0);
    await append(log, numberedLine(3));
    const again = await run("capture", captureArgs(member.url(db), dir.path, "--once", log));
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /WARN/);
    assert.equal((await feedDocs(db)).reduce((n, d) => n + d.rows, 0), 3);
  },
  { ignore: OPEN_SERVER },
);

test(
  "a user who is not a member is refused, and the message names membership, not the password",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("notmember");
    await using outsider = await user(unique());
    await databaseWithMembers(db, ["somebody_else"]);
    await append(log, numberedLine(1));
    const result = await run("capture", captureArgs(outsider.url(db), dir.path, "--once", log));
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /does not let user "lc_user_[^"]+" use database .*make the user a member of database/,
    );
    assert.doesNotMatch(result.stderr, /check COUCHDB_USER/);
  },
  { ignore: OPEN_SERVER },
);

test(
  "a member facing a missing database: exit 1, and the message says only a server admin creates one",
  async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/spysocket.log`;
    const db = freshDb("nodb");
    await using member = await user(unique());
    await append(log, numberedLine(1));
    const result = await run("capture", captureArgs(member.url(db), dir.path, "--once", log));
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /does not let user "lc_user_[^"]+" create database .*that needs a server admin; the credentials themselves were accepted/,
    );
    const check = await run("capture", ["check", ...captureArgs(member.url(db), dir.path, log)]);
    assert.equal(check.code, 1);
    assert.match(
      check.stdout,
      /✗ database: .* does not exist, and only a server admin can create it\. Fix: have an admin create it/,
    );
    assert.equal((await fetch(db)).status, 404);
  },
  { ignore: OPEN_SERVER },
);

test("the monitor runs as a member too", async () => {
  await using dir = await tempDir();
  const drop = `${dir.path}/drop`;
  await Deno.mkdir(drop);
  const db = freshDb("monmember");
  await using member = await user(unique());
  await databaseWithMembers(db, [new URL(member.url(db)).username]);
  const text = numberedLine(1) + numberedLine(2);
  await Deno.writeTextFile(
    `${drop}/t.0.${"0".repeat(16)}-${String(text.length).padStart(16, "0")}.log`,
    text,
  );
  const result = await run("monitor", [
    "--couchdb",
    member.url(db),
    "--year",
    "2012",
    "--once",
    drop,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal((await feedDocs(db)).reduce((n, d) => n + d.rows, 0), 2);
}, { ignore: OPEN_SERVER });
