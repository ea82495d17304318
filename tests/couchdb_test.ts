import assert from "node:assert/strict";
import {
  CouchClient,
  CouchError,
  FEED_DESIGN,
  parseCouchUrl,
  takesMultipart,
} from "../lib/sink/couchdb.ts";
import { gzipSync } from "node:zlib";
import { createLogger } from "../lib/base/log.ts";
import { freePort } from "../tools/couch_server.ts";
import { fakeServer, freshDb, getJson, refusingServer, test } from "./helpers.ts";

test("the database is created when missing, and creating it again is fine (412)", async () => {
  const url = freshDb("create");
  const db = new CouchClient({ url });
  await db.ensureDatabase();
  await db.ensureDatabase();
  const info = await getJson(url);
  assert.equal(info.db_name, db.database);
  const design = await getJson(`${url}/_design/feed`);
  assert.deepEqual(design.views, FEED_DESIGN.views);
});

test("a records-mode database gets no _design/feed: its views select feed documents only", async () => {
  const url = freshDb("records");
  const db = new CouchClient({ url });
  await db.ensureDatabase({ feedViews: false });
  assert.equal((await getJson(url)).db_name, db.database);
  assert.equal((await getJson(`${url}/_design/feed`)).error, "not_found");
});

test("a feed document with both attachments is read back byte for byte", async () => {
  const url = freshDb("attach");
  const db = new CouchClient({ url });
  await db.ensureDatabase();
  const csv = "Date,Time\n2012-02-15,07:04:42\n";
  const rejected = new Uint8Array([0, 1, 2, 255, 254, 10, 65, 10]);
  const outcome = await db.putDocument({
    _id: "feed:x:0:0000000000000000",
    doc_type: "Feed",
    _attachments: {
      feed: { content_type: "text/csv", data: btoa(csv) },
      rejected: { content_type: "text/plain", data: btoa(String.fromCharCode(...rejected)) },
    },
  });
  assert.equal(outcome, "created");
  const feed = await fetch(`${url}/feed:x:0:0000000000000000/feed`);
  assert.equal(await feed.text(), csv);
  const back = new Uint8Array(
    await (await fetch(`${url}/feed:x:0:0000000000000000/rejected`)).arrayBuffer(),
  );
  assert.deepEqual(back, rejected);
  assert.equal(
    await db.putDocument({ _id: "feed:x:0:0000000000000000", doc_type: "Feed" }),
    "conflict",
  );
});

test("_bulk_docs sent twice: the second time every document is a conflict (already stored)", async () => {
  const db = new CouchClient({ url: freshDb("bulk") });
  await db.ensureDatabase();
  const docs = Array.from(
    { length: 50 },
    (_, i) => ({ _id: `rec:x:0:${String(i).padStart(16, "0")}`, n: i }),
  );
  const first = await db.bulkDocs(docs);
  assert.equal(first.filter((r) => r.outcome === "created").length, 50);
  const second = await db.bulkDocs(docs);
  assert.deepEqual(second.map((r) => r.outcome), Array(50).fill("conflict"));
});

test("documents are read one by one and by id range", async () => {
  const db = new CouchClient({ url: freshDb("range") });
  await db.ensureDatabase();
  await db.bulkDocs(["a:1", "a:2", "a:3", "b:1"].map((_id) => ({ _id, v: _id })));
  assert.equal((await db.getDocument<{ v: string }>("a:2"))?.v, "a:2");
  assert.equal(await db.getDocument("a:9"), null);
  const rows = await db.allDocs({ startkey: "a:", endkey: "a:\ufff0", includeDocs: true });
  assert.deepEqual(rows.map((r) => r.id), ["a:1", "a:2", "a:3"]);
  const last = await db.allDocs({ startkey: "a:\ufff0", endkey: "a:", descending: true, limit: 1 });
  assert.deepEqual(last.map((r) => r.id), ["a:3"]);
});

test("a server that is not listening: retried, then a clear error once the retry time is over", async () => {
  const port = freePort();
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const db = new CouchClient({
    url: `http://127.0.0.1:${port}/x`,
    retryForMs: 1500,
    backoffMs: 50,
    log,
  });
  const started = Date.now();
  await assert.rejects(db.ensureDatabase(), (error: CouchError) => {
    assert.equal(
      error.message,
      `cannot reach CouchDB at http://127.0.0.1:${port}: connection refused; gave up after 1500ms of retrying (--retry-for)`,
    );
    return true;
  });
  assert.ok(Date.now() - started >= 1000, "gave up before the retry time");
  assert.ok(db.retries >= 3, `only ${db.retries} retries`);
  assert.equal(lines.filter((l) => l.includes("retrying")).length, 1, "the outage is logged once");
});

test("a wrong database name is a clear error naming the fix", () => {
  assert.throws(
    () => parseCouchUrl("http://127.0.0.1:5984/HRT Feed"),
    /not a valid CouchDB database name.*fix the URL/,
  );
  assert.throws(
    () => parseCouchUrl("http://127.0.0.1:5984/"),
    /no database named in http:\/\/127\.0\.0\.1:5984: add it to the URL/,
  );
  assert.throws(() => parseCouchUrl("couch:5984/x"), /not an http or https URL|not a URL/);
});

test("credentials go in a header, never in messages", async () => {
  const target = parseCouchUrl("http://admin:s3cret@127.0.0.1:1/db");
  assert.equal(target.base, "http://127.0.0.1:1");
  assert.equal(target.authorization, "Basic " + btoa("admin:s3cret"));
  const db = new CouchClient({ url: "http://admin:s3cret@127.0.0.1:1/db", retryForMs: 0 });
  await assert.rejects(db.ensureDatabase(), (error: Error) => {
    assert.ok(!error.message.includes("s3cret"));
    assert.ok(!error.message.includes("admin"));
    return true;
  });
});

test("refused credentials are a clear error that is not retried", async () => {
  await using refusing = refusingServer();
  const db = new CouchClient({ url: `${refusing.url.replace("//", "//u:p@")}/db` });
  await assert.rejects(db.ensureDatabase(), {
    message:
      `CouchDB at ${refusing.url} refused the credentials (401): check COUCHDB_USER / COUCHDB_PASSWORD`,
  });
  assert.equal(refusing.requests(), 1);
});

test("5xx, 408 and 429 are retried; other 4xx are not", async () => {
  const statuses = [503, 429, 408, 500, 201];
  let i = 0;
  await using busy = fakeServer(() => {
    const status = statuses[Math.min(i++, statuses.length - 1)];
    return Response.json(status === 201 ? { ok: true } : { error: "busy" }, { status });
  });
  const db = new CouchClient({ url: `${busy.url}/db`, backoffMs: 5 });
  assert.equal(await db.putDocument({ _id: "a" }), "created");
  assert.equal(busy.requests(), 5);
  await using teapot = fakeServer(() => Response.json({ error: "teapot" }, { status: 418 }));
  await assert.rejects(
    new CouchClient({ url: `${teapot.url}/db`, backoffMs: 5 }).putDocument({ _id: "a" }),
    /418/,
  );
  assert.equal(teapot.requests(), 1);
});

test("202 Accepted (a cluster writing fewer copies than its quorum) is stored, counted and said once", async () => {
  // The answers of a three-node CouchDB 3.5 with two nodes down (the cluster test meets them for real).
  await using cluster = fakeServer((request) =>
    new URL(request.url).pathname.endsWith("/_bulk_docs")
      ? Response.json([{ ok: true, id: "rec:x:0:0", rev: "1-a", accepted: true }], { status: 202 })
      : Response.json({ ok: true, id: "a", rev: "1-a" }, { status: 202 })
  );
  const warnings: string[] = [];
  const log = createLogger({ level: "warn", write: (line) => warnings.push(line) });
  const db = new CouchClient({ url: `${cluster.url}/db`, log });
  assert.equal(await db.putDocument({ _id: "a" }), "created");
  assert.deepEqual(await db.bulkDocs([{ _id: "rec:x:0:0" }]), [
    { id: "rec:x:0:0", outcome: "created", rev: "1-a" },
  ]);
  assert.equal(db.writesBelowQuorum, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /fewer copies than its write quorum \(202 Accepted\)/);
});

test("a feed document in one multipart request, its CSV gzip-encoded by us: read back byte for byte (Apache CouchDB)", async () => {
  const url = freshDb("multipart");
  const db = new CouchClient({ url });
  await db.ensureDatabase();
  if (!(await db.serverInfo()).apacheCouchdb) {
    console.error(
      "skipped: multipart documents go to Apache CouchDB only (pouchdb-server exits on them)",
    );
    return;
  }
  // Sent this way by capture to a single node only (a cluster waits on multipart for a dead node).
  assert.equal(takesMultipart(await db.serverInfo()), (await db.serverInfo()).nodes === 1);
  const csv = "Date,Time\n" + "2012-02-15,07:04:42\n".repeat(500);
  const rejected = new Uint8Array([0, 1, 2, 255, 254, 10]);
  const gzip = (bytes: Uint8Array) => gzipSync(bytes, { level: 1 });
  const json = new TextEncoder().encode(JSON.stringify({
    _id: "feed:x:0:0000000000000000",
    doc_type: "Feed",
    _attachments: {
      feed: {
        follows: true,
        content_type: "text/csv",
        encoding: "gzip",
        length: csv.length,
        encoded_length: gzip(new TextEncoder().encode(csv)).length,
      },
      rejected: {
        follows: true,
        content_type: "text/plain",
        encoding: "gzip",
        length: rejected.length,
        encoded_length: gzip(rejected).length,
      },
    },
  }));
  const parts = [gzip(new TextEncoder().encode(csv)), gzip(rejected)];
  assert.equal(await db.putDocumentMultipart("feed:x:0:0000000000000000", json, parts), "created");
  assert.equal(await db.putDocumentMultipart("feed:x:0:0000000000000000", json, parts), "conflict");
  // A client that does not ask for gzip gets the bytes as they were; so does attachments=true.
  const plain = await fetch(`${url}/feed:x:0:0000000000000000/feed`, {
    headers: { "Accept-Encoding": "identity" },
  });
  assert.equal(await plain.text(), csv);
  const back = new Uint8Array(
    await (await fetch(`${url}/feed:x:0:0000000000000000/rejected`)).arrayBuffer(),
  );
  assert.deepEqual(back, rejected);
  const inline = await getJson(`${url}/feed:x:0:0000000000000000?attachments=true`);
  const feed = (inline._attachments as { feed: { data: string } }).feed;
  assert.equal(atob(feed.data), csv);
});

test("feed documents go as multipart to a single Apache CouchDB node only", () => {
  const apache = { version: "3.5.0", apacheCouchdb: true };
  assert.equal(takesMultipart({ ...apache, nodes: 1 }), true);
  // A cluster waits for a node that is down on multipart attachments; unknown counts as a cluster.
  assert.equal(takesMultipart({ ...apache, nodes: 3 }), false);
  assert.equal(takesMultipart({ ...apache, nodes: null }), false);
  // A member, who may not read _membership, reads the database's copies instead.
  assert.equal(takesMultipart({ ...apache, nodes: null, copies: 1 }), true);
  assert.equal(takesMultipart({ ...apache, nodes: null, copies: 3 }), false);
  assert.equal(takesMultipart({ version: "4.2.0", apacheCouchdb: false, nodes: null }), false);
});
