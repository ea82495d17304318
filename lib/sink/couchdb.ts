/**
 * A CouchDB 3.x client over plain `fetch`: database and design document setup, documents with
 * inline attachments, `_bulk_docs` with per-document results, reads by id and by id range.
 *
 * Credentials go in an `Authorization` header on every request and never into a URL, a log line or
 * an error. Every request has a timeout. Network errors, 5xx, 408 and 429 are retried with capped
 * exponential backoff and jitter for as long as `retryForMs` allows; other 4xx are not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CouchClient } from "./couchdb.ts";
 * // Against a server: COUCHDB_URL, as the tests set it (an admin, since it creates the database).
 * const server = Deno.env.get("COUCHDB_URL") ?? "http://admin:secret@127.0.0.1:5984";
 * const db = new CouchClient({ url: `${server}/lc_example_${Date.now()}`, retryForMs: 10_000 });
 * await db.ensureDatabase();
 * const doc = { _id: "feed:x:0:0000000000000000", doc_type: "Feed" };
 * assert.equal(await db.putDocument(doc), "created");
 * assert.equal(await db.putDocument(doc), "conflict"); // already stored: never overwritten
 * await db.request("DELETE", "");
 * ```
 * @module
 */
import { backoffDelay, sleep } from "../base/backoff.ts";
import { readSecretFile } from "../base/secret.ts";
import { networkReason } from "../base/errors.ts";
import { redactUrl } from "../base/redact.ts";
import { formatDuration } from "../base/units.ts";
import type { Logger } from "../base/log.ts";

/** How to reach one database. */
export interface CouchOptions {
  /** `http(s)://[user:password@]host:port/database`. */
  url: string;
  /** Overrides the URL's user part. */
  user?: string;
  password?: string;
  /** Per-request timeout; default 60 s. */
  timeoutMs?: number;
  /** How long transient failures are retried before giving up; default forever. */
  retryForMs?: number;
  /** First retry delay; default 250 ms. */
  backoffMs?: number;
  /** Longest retry delay; default 30 s. */
  maxBackoffMs?: number;
  log?: Logger;
  /** For a private CA (`Deno.createHttpClient`). */
  httpClient?: Deno.HttpClient;
}

/** A CouchDB failure, with a message a person can act on. */
export class CouchError extends Error {
  /** HTTP status, or 0 for a network failure. */
  readonly status: number;
  /** CouchDB's `error` field, when it gave one. */
  readonly error: string;
  /**
   * No retry will mend it (see `errors.ts`): a refusal such as 401, 403 or 413, or a URL that is
   * wrong; by default every 4xx but those that mean "not there", "already there" or "busy".
   */
  readonly permanent: boolean;
  /** An error of `status` (0: no answer), with CouchDB's `error` field; `permanent` when no retry mends it. */
  constructor(
    message: string,
    status: number,
    error = "",
    permanent = status >= 400 && status < 500 && ![404, 408, 409, 412, 429].includes(status),
  ) {
    super(message);
    this.name = "CouchError";
    this.status = status;
    this.error = error;
    this.permanent = permanent;
  }
}

/** One result of `_bulk_docs`: stored, already stored, or another error the caller must handle. */
export type BulkResult =
  | { id: string; outcome: "created"; rev: string }
  | { id: string; outcome: "conflict" }
  | { id: string; outcome: "error"; error: string; reason: string };

/** A row of `_all_docs`. */
export interface AllDocsRow<T> {
  id: string;
  doc?: T;
}

/** Options for {@linkcode CouchClient.allDocs}. */
export interface AllDocsOptions {
  startkey?: string;
  endkey?: string;
  limit?: number;
  descending?: boolean;
  includeDocs?: boolean;
}

/**
 * The part of a CouchDB client that storing batches needs (`store.ts`): reading documents one by
 * one or by id range, and writing new ones, never overwriting. {@linkcode CouchClient} is it over
 * HTTP; the unit tests use an in-memory one.
 */
export interface DocumentStore {
  /** The database, without credentials, for messages. */
  readonly url: string;
  /** The server, without credentials, for messages. */
  readonly server: string;
  getDocument<T = Doc>(id: string): Promise<T | null>;
  /** Stores a new document, its attachments inline: `conflict` when the id is taken. */
  putDocument(doc: Doc): Promise<"created" | "conflict">;
  /** Stores a new document already serialized as JSON: `conflict` when the id is taken. */
  putDocumentJson(id: string, json: string | Uint8Array): Promise<"created" | "conflict">;
  /** Stores a new document and its attachments' bytes in one request: `conflict` when the id is taken. */
  putDocumentMultipart(
    id: string,
    json: Uint8Array,
    attachments: Uint8Array[],
  ): Promise<"created" | "conflict">;
  /** Stores new documents in one request, each created or a conflict (or another error, said). */
  bulkDocs(docs: Doc[] | string | Uint8Array): Promise<BulkResult[]>;
  allDocs<T = Doc>(options: AllDocsOptions): Promise<AllDocsRow<T>[]>;
}

/** What a server says of itself at `GET /`. */
export interface ServerInfo {
  version: string;
  /**
   * Apache CouchDB itself, which takes documents with gzip-encoded attachments in one multipart
   * request; pouchdb-server 4.2.0, for one, exits on any `multipart/related` PUT.
   */
  apacheCouchdb: boolean;
  /** Nodes in its cluster (1: a single node); `null` when the user may not read it. */
  nodes: number | null;
  /**
   * Copies of each document the database keeps (its `n`), read where `nodes` cannot be (a member
   * may read its database, not `_membership`); absent when not read.
   */
  copies?: number | null;
}

/**
 * Whether feed documents go to this server in one multipart request with gzip-encoded
 * attachments: to a single Apache CouchDB node only. A cluster streams multipart attachments to
 * every copy and waits for a node that is down: measured on CouchDB 3.5 with one node of three
 * killed, such a PUT answered after 5 minutes, where a JSON one answers at once.
 */
export function takesMultipart(info: ServerInfo): boolean {
  // One copy of each document: no other node for a multipart PUT to wait for.
  return info.apacheCouchdb && (info.nodes === 1 || (info.nodes === null && info.copies === 1));
}

/** A CouchDB document body. */
export type Doc = { _id: string; [key: string]: unknown };

/** The id of the feed design document. */
export const FEED_DESIGN_ID = "_design/feed";

/** Whether a stored design document has the views this version writes. */
function designState(current: Doc | null): "current" | "outdated" | "missing" {
  if (!current) return "missing";
  return JSON.stringify(current.views) === JSON.stringify(FEED_DESIGN.views)
    ? "current"
    : "outdated";
}

/** The design document of SPEC §3: feed documents by `timestamp`, all, new and old; and their row count. */
export const FEED_DESIGN: Doc = {
  _id: FEED_DESIGN_ID,
  language: "javascript",
  views: {
    all: {
      map: 'function (doc) { if (doc.doc_type === "Feed") emit(doc.timestamp, null); }',
    },
    new: {
      map:
        'function (doc) { if (doc.doc_type === "Feed" && doc.status === "new") emit(doc.timestamp, null); }',
    },
    old: {
      map:
        'function (doc) { if (doc.doc_type === "Feed" && doc.status !== "new") emit(doc.timestamp, null); }',
    },
    rows: {
      map: 'function (doc) { if (doc.doc_type === "Feed") emit(doc.timestamp, doc.rows); }',
      reduce: "_sum",
    },
  },
};

// CouchDB's own rule for database names.
const DATABASE_NAME = /^[a-z][a-z0-9_$()+/-]*$/;

/** A database URL taken apart. */
export interface Target {
  /** The server, `http(s)://host:port`, without credentials. */
  base: string;
  /** The database name. */
  database: string;
  /** The `Authorization` header the credentials make, if any. */
  authorization: string | null;
  /** The user the credentials name, if any. */
  user: string | null;
}

/** Splits a database URL into the server, the database and the credentials, checking each. */
export function parseCouchUrl(url: string, user?: string, password?: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CouchError(
      `"${redactUrl(url)}" is not a URL: give the database as http://host:5984/dbname`,
      0,
      "",
      true,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CouchError(`"${redactUrl(url)}" is not an http or https URL`, 0, "", true);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, ""));
  const base = `${parsed.protocol}//${parsed.host}`;
  if (!database) {
    throw new CouchError(
      `no database named in ${base}: add it to the URL, e.g. ${base}/hrtfeed`,
      0,
      "",
      true,
    );
  }
  if (!DATABASE_NAME.test(database)) {
    throw new CouchError(
      `"${database}" is not a valid CouchDB database name (lowercase letter first, then a-z 0-9 _$()+-/): fix the URL ${base}/${database}`,
      0,
      "",
      true,
    );
  }
  const name = user ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined);
  const secret = password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
  const authorization = name !== undefined
    ? "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(`${name}:${secret ?? ""}`)))
    : null;
  return { base, database, authorization, user: name ?? null };
}

/** What a request asks CouchDB to let the user do, in words. */
function privilegeOf(method: string, path: string, database: string): string {
  const doc = decodeURIComponent(path.split("?")[0]);
  if (!doc) {
    return method === "PUT" ? `create database "${database}"` : `use database "${database}"`;
  }
  if (doc.startsWith("_design/")) return `write the design document ${doc}`;
  return ["GET", "HEAD"].includes(method) || doc === "_all_docs"
    ? `read database "${database}"`
    : `write documents in database "${database}"`;
}

function isTransient(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** One database on one CouchDB server. */
export class CouchClient implements DocumentStore {
  /** The server, without credentials: `http://host:5984`. */
  readonly server: string;
  readonly database: string;
  readonly #authorization: string | null;
  /** The user the credentials name, for messages. */
  readonly user: string | null;
  readonly #timeoutMs: number;
  readonly #retryForMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #log?: Logger;
  readonly #httpClient?: Deno.HttpClient;
  #outageSince: number | null = null;
  #belowQuorumWarnedAt = -Infinity;
  /** Counts retried requests, for metrics. */
  retries = 0;
  /**
   * Counts writes a cluster answered `202 Accepted`: stored, but on fewer copies than its write
   * quorum (a node is down). They are stored, and the missing copies follow when the node is back.
   */
  writesBelowQuorum = 0;

  /** A client of the database `options.url`, with its credentials, timeout and retry time. */
  constructor(options: CouchOptions) {
    const target = parseCouchUrl(options.url, options.user, options.password);
    this.server = target.base;
    this.database = target.database;
    this.#authorization = target.authorization;
    this.user = target.user;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#retryForMs = options.retryForMs ?? Infinity;
    this.#backoffMs = options.backoffMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#log = options.log;
    this.#httpClient = options.httpClient;
  }

  /** `http://host:5984/database`, without credentials. */
  get url(): string {
    return `${this.server}/${this.database}`;
  }

  /** True while requests are failing and being retried. */
  get inOutage(): boolean {
    return this.#outageSince !== null;
  }

  /**
   * Sends one request to the database (`path` is relative to it, "" for the database itself),
   * retrying transient failures. Resolves with the status and the parsed JSON body for any status
   * the caller must judge (2xx, 404, 409, 412); throws a {@linkcode CouchError} for the rest.
   */
  async request(
    method: string,
    path: string,
    body?: unknown,
    options: { server?: boolean; retry?: boolean; contentType?: string } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = options.server ? `${this.server}/${path}` : `${this.url}${path ? "/" + path : ""}`;
    const headers = this.#headers();
    let payload: string | Uint8Array<ArrayBuffer> | Uint8Array[] | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" || body instanceof Uint8Array || Array.isArray(body)
        ? body as string | Uint8Array<ArrayBuffer> | Uint8Array[]
        : JSON.stringify(body);
      headers["Content-Type"] = options.contentType ?? "application/json";
    }
    const deadline = Date.now() + (options.retry === false ? 0 : this.#retryForMs);
    for (let attempt = 0;; attempt++) {
      let failure: CouchError;
      // No attempt outlasts what is left of the time to retry in.
      const timeoutMs = options.retry === false
        ? this.#timeoutMs
        : Math.max(1000, Math.min(this.#timeoutMs, deadline - Date.now()));
      try {
        const response = await fetch(url, {
          method,
          headers,
          body: Array.isArray(payload)
            ? streamOf(payload)
            : payload instanceof Uint8Array && payload.length > STREAM_ABOVE_BYTES
            ? streamOf([payload])
            : payload,
          signal: AbortSignal.timeout(timeoutMs),
          client: this.#httpClient,
        });
        const text = await response.text();
        const parsed = parseJson(text);
        // An answer that does not parse (garbage, or cut short) says nothing: ask again.
        if (parsed === null) {
          throw new CouchError(
            `CouchDB at ${this.server} answered ${method} ${
              path.split("?")[0] || this.database
            } with a body that is not JSON (${response.status}, ${text.length} bytes: ${
              JSON.stringify(text.slice(0, 60))
            })`,
            0,
            "not_json",
            false,
          );
        }
        if (!isTransient(response.status)) {
          this.#endOutage();
          this.#countQuorum(response.status);
          if (response.ok || [404, 409, 412].includes(response.status)) {
            return { status: response.status, body: parsed };
          }
          throw this.#refusal(method, path, response.status, parsed);
        }
        failure = new CouchError(
          `CouchDB at ${this.server} failed (${response.status} ${parsed.error ?? ""}${
            parsed.reason ? ": " + parsed.reason : ""
          })`,
          response.status,
          String(parsed.error ?? ""),
        );
      } catch (error) {
        if (error instanceof CouchError && error.error !== "not_json") throw error;
        const reason = networkReason(error, timeoutMs);
        // A TLS hello to a plain-http port is often met with silence, not an error.
        const hint = /^no answer/.test(reason) && this.server.startsWith("https:")
          ? " (an https URL on a plain-http port looks like this too)"
          : "";
        failure = error instanceof CouchError
          ? error
          : new CouchError(`cannot reach CouchDB at ${this.server}: ${reason}${hint}`, 0);
      }
      const delay = backoffDelay(attempt, this.#backoffMs, this.#maxBackoffMs);
      if (Date.now() >= deadline) {
        if (!Number.isFinite(this.#retryForMs) || !this.#retryForMs || options.retry === false) {
          throw failure;
        }
        throw new CouchError(
          `${failure.message}; gave up after ${
            formatDuration(this.#retryForMs)
          } of retrying (--retry-for)`,
          failure.status,
          failure.error,
          true, // retried as long as it may be: the program stops on it
        );
      }
      this.retries++;
      if (this.#outageSince === null) {
        this.#outageSince = Date.now();
        this.#log?.warn(
          `${failure.message}; retrying with backoff${
            Number.isFinite(this.#retryForMs)
              ? ` for up to ${formatDuration(this.#retryForMs)}`
              : " until it answers"
          }`,
        );
      }
      await sleep(Math.min(delay, deadline - Date.now()));
    }
  }

  // A write's 201 cannot say that the quorum is back (a _bulk_docs of conflicts only is a 201
  // too), so the warning repeats at most once a minute while 202s go on.
  #countQuorum(status: number): void {
    if (status !== 202) return;
    this.writesBelowQuorum++;
    if (Date.now() - this.#belowQuorumWarnedAt < 60_000) return;
    this.#belowQuorumWarnedAt = Date.now();
    this.#log?.warn(
      `CouchDB at ${this.server} stores writes on fewer copies than its write quorum (202 Accepted): a node of the cluster is down; they count as stored (${this.writesBelowQuorum} so far)`,
    );
  }

  #endOutage(): void {
    if (this.#outageSince === null) return;
    const seconds = ((Date.now() - this.#outageSince) / 1000).toFixed(1);
    this.#outageSince = null;
    this.#log?.info(`CouchDB at ${this.server} answers again, after ${seconds} s`);
  }

  #refusal(
    method: string,
    path: string,
    status: number,
    body: Record<string, unknown>,
  ): CouchError {
    const error = String(body.error ?? "");
    const reason = body.reason ? `: ${body.reason}` : "";
    const who = this.user === null ? "CouchDB" : `user "${this.user}"`;
    // A 401 that names an admin is a privilege the user lacks, not a wrong password.
    if (
      [401, 403].includes(status) && /not a (db or )?server admin/i.test(String(body.reason ?? ""))
    ) {
      const needs = /db or server/i.test(String(body.reason))
        ? `an admin of database "${this.database}" (its _security admins) or a server admin`
        : "a server admin";
      return new CouchError(
        `CouchDB at ${this.server} does not let ${who} ${
          privilegeOf(method, path, this.database)
        } (${status}${reason}): that needs ${needs}; the credentials themselves were accepted. See "CouchDB privileges" in the README`,
        status,
        error,
      );
    }
    if (status === 401) {
      return new CouchError(
        `CouchDB at ${this.server} refused the credentials (401): check COUCHDB_USER / COUCHDB_PASSWORD`,
        status,
        error,
      );
    }
    if (status === 403) {
      return new CouchError(
        `CouchDB at ${this.server} does not let ${who} ${
          privilegeOf(method, path, this.database)
        } (403${reason}): make the user a member of database "${this.database}" (its _security members; see "CouchDB privileges" in the README)`,
        status,
        error,
      );
    }
    if (error === "illegal_database_name") {
      return new CouchError(
        `CouchDB at ${this.server} rejected the database name "${this.database}"${reason}: fix the URL`,
        status,
        error,
      );
    }
    const what = path
      ? `${method} ${this.database}/${path.split("?")[0]}`
      : `${method} ${this.database}`;
    return new CouchError(
      `CouchDB at ${this.server} refused ${what} (${status} ${error}${reason})`,
      status,
      error,
    );
  }

  /** What every request carries: JSON wanted, and the credentials. */
  #headers(): Record<string, string> {
    const headers: Record<string, string> = { "Accept": "application/json" };
    if (this.#authorization) headers["Authorization"] = this.#authorization;
    return headers;
  }

  /**
   * One quick request, never retried, for `/healthz`: `null` when the database answers (whatever
   * it answers: the server is there), else why not.
   */
  async probe(timeoutMs = 3000): Promise<string | null> {
    try {
      const response = await fetch(this.url, {
        headers: this.#headers(),
        signal: AbortSignal.timeout(timeoutMs),
        client: this.#httpClient,
      });
      await response.body?.cancel();
      return response.status >= 500
        ? `CouchDB at ${this.server} answers ${response.status}`
        : response.status === 404
        ? `database ${this.url} does not exist`
        : null;
    } catch (error) {
      return `cannot reach CouchDB at ${this.server}: ${networkReason(error, timeoutMs)}`;
    }
  }

  /** Checks that the server is CouchDB and answers: its version. */
  async serverVersion(): Promise<string> {
    return (await this.serverInfo()).version;
  }

  /**
   * What the server says it is (`GET /`): Apache CouchDB, or another server of its API; and for
   * Apache CouchDB, how many nodes its cluster has (`GET /_membership`, which only an admin may
   * read: `null` when it cannot be told).
   */
  async serverInfo(): Promise<ServerInfo> {
    const { body } = await this.request("GET", "", undefined, { server: true });
    const vendor = String((body.vendor as { name?: string } | undefined)?.name ?? "");
    const apacheCouchdb = body.couchdb === "Welcome" && vendor === "The Apache Software Foundation";
    let nodes: number | null = null;
    if (apacheCouchdb) {
      const membership = await this.request("GET", "_membership", undefined, { server: true })
        .catch(() => null);
      const cluster = membership?.body.cluster_nodes;
      if (membership?.status === 200 && Array.isArray(cluster)) nodes = cluster.length;
    }
    let copies: number | null = null;
    if (apacheCouchdb && nodes === null) {
      const database = await this.request("GET", "").catch(() => null);
      const n = (database?.body.cluster as { n?: unknown } | undefined)?.n;
      if (database?.status === 200 && typeof n === "number") copies = n;
    }
    return { version: String(body.version ?? "unknown"), apacheCouchdb, nodes, copies };
  }

  /**
   * Creates the database when missing (412: it exists) and, unless told not to, installs
   * `_design/feed`. Records-mode databases go without it: its views select feed documents only,
   * and a design document costs on every write (pouchdb-server) or on a view's first read of
   * every document (CouchDB).
   */
  async ensureDatabase(options: { feedViews?: boolean } = {}): Promise<void> {
    // Looked at before it is created: a member (not an admin) may use a database, not create one.
    if ((await this.request("GET", "")).status === 404) {
      const { status } = await this.request("PUT", "");
      if (status === 404) {
        throw new CouchError(
          `CouchDB at ${this.server} cannot create database "${this.database}"`,
          404,
        );
      }
    }
    if (options.feedViews === false) return;
    const current = await this.getDocument<Doc & { _rev: string }>(FEED_DESIGN._id);
    if (designState(current) === "current") return;
    const doc = current ? { ...FEED_DESIGN, _rev: current._rev } : FEED_DESIGN;
    try {
      const put = await this.request("PUT", encodeId(FEED_DESIGN._id), doc);
      if (put.status === 409) return; // another process installed it just now
    } catch (error) {
      // The views are for the readers downstream: the lines are stored all the same.
      if (!(error instanceof CouchError) || ![401, 403].includes(error.status)) throw error;
      this.#log?.warn(
        `${FEED_DESIGN_ID} is ${
          current ? "outdated" : "missing"
        } and cannot be written: ${error.message}. Feed documents are stored all the same; have an admin run capture once, or PUT it (capture check says how)`,
      );
    }
  }

  /** Whether the feed design document is there with the views this version writes. */
  async feedDesignState(): Promise<"current" | "outdated" | "missing"> {
    return designState(await this.getDocument<Doc>(FEED_DESIGN_ID));
  }

  /** Stores a new document (with inline `_attachments`) in one request. */
  async putDocument(doc: Doc): Promise<"created" | "conflict"> {
    return await this.putDocumentJson(doc._id, JSON.stringify(doc));
  }

  /** Stores a new document already serialized as JSON (text or UTF-8 bytes). */
  async putDocumentJson(id: string, json: string | Uint8Array): Promise<"created" | "conflict"> {
    return this.#newDocumentOutcome(id, await this.request("PUT", encodeId(id), json));
  }

  /** A new document's PUT: stored (201, or 202 below a cluster's quorum), or already there. */
  #newDocumentOutcome(
    id: string,
    { status, body }: { status: number; body: Record<string, unknown> },
  ): "created" | "conflict" {
    if (status === 409) return "conflict";
    if (status === 201 || status === 202) return "created";
    throw new CouchError(
      `CouchDB at ${this.server} did not store ${id} (${status} ${body.error ?? ""})`,
      status,
      String(body.error ?? ""),
    );
  }

  /**
   * Stores a new document and its attachments in one `multipart/related` request: `json` is the
   * document, its `_attachments` stubs marked `"follows": true`, and `attachments` their bytes in
   * the same order, sent as they are (gzip-encoded ones stay so: CouchDB stores them as they come
   * and serves them decoded to a client that does not ask for gzip).
   */
  async putDocumentMultipart(
    id: string,
    json: Uint8Array,
    attachments: Uint8Array[],
  ): Promise<"created" | "conflict"> {
    const boundary = `logcapture-${crypto.randomUUID()}`;
    const parts: Uint8Array[] = [
      asciiOf(`--${boundary}\r\nContent-Type: application/json\r\n\r\n`),
      json,
    ];
    for (const attachment of attachments) {
      parts.push(asciiOf(`\r\n--${boundary}\r\n\r\n`), attachment);
    }
    parts.push(asciiOf(`\r\n--${boundary}--`));
    const answer = await this.request("PUT", encodeId(id), parts, {
      contentType: `multipart/related; boundary="${boundary}"`,
    });
    return this.#newDocumentOutcome(id, answer);
  }

  /** Reads one document, or `null` when there is none. */
  async getDocument<T = Doc>(id: string): Promise<T | null> {
    const { status, body } = await this.request("GET", encodeId(id));
    return status === 404 ? null : body as T;
  }

  /** Reads a range of documents (or just their ids) by id. */
  async allDocs<T = Doc>(options: AllDocsOptions): Promise<AllDocsRow<T>[]> {
    const query = new URLSearchParams();
    if (options.startkey !== undefined) query.set("startkey", JSON.stringify(options.startkey));
    if (options.endkey !== undefined) query.set("endkey", JSON.stringify(options.endkey));
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    if (options.descending) query.set("descending", "true");
    if (options.includeDocs) query.set("include_docs", "true");
    const { status, body } = await this.request("GET", `_all_docs?${query}`);
    if (status === 404) {
      throw new CouchError(`CouchDB at ${this.server} has no database "${this.database}"`, 404);
    }
    return (body.rows as AllDocsRow<T>[]) ?? [];
  }

  /**
   * Writes many documents in one request. Each result says created, conflict (already stored) or
   * error; the caller decides, so no error is ever counted as stored.
   */
  async bulkDocs(docs: Doc[] | string | Uint8Array): Promise<BulkResult[]> {
    const payload = typeof docs === "string" || docs instanceof Uint8Array
      ? docs
      : JSON.stringify({ docs });
    const { status, body } = await this.request("POST", "_bulk_docs", payload);
    // 202: a cluster stored them on fewer copies than its write quorum; stored all the same.
    if (status !== 201 && status !== 200 && status !== 202) {
      throw new CouchError(`CouchDB at ${this.server} refused _bulk_docs (${status})`, status);
    }
    const rows = body as unknown as Record<string, string>[];
    return rows.map((row): BulkResult => {
      if (!row.error) return { id: row.id, outcome: "created", rev: row.rev };
      if (row.error === "conflict") return { id: row.id, outcome: "conflict" };
      return { id: row.id, outcome: "error", error: row.error, reason: row.reason ?? "" };
    });
  }
}

const STREAM_ABOVE_BYTES = 64 << 10;

/**
 * A large body, or one in parts, as a stream of views of the caller's bytes (sent chunked; CouchDB
 * takes that).
 * fetch copies a byte-array body into a new buffer that only the garbage collector frees, and
 * capture makes little garbage, so those copies piled up: measured with 600 KB bodies, peak RSS
 * 119 MB as a byte array, 61 MB streamed.
 */
function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let part = 0, at = 0;
  return new ReadableStream({
    pull(controller) {
      while (part < chunks.length && at >= chunks[part].length) [part, at] = [part + 1, 0];
      if (part >= chunks.length) return controller.close();
      const bytes = chunks[part];
      const end = Math.min(at + STREAM_ABOVE_BYTES, bytes.length);
      controller.enqueue(bytes.subarray(at, end));
      at = end;
    },
  });
}

const asciiOf = (text: string): Uint8Array => new TextEncoder().encode(text);

function encodeId(id: string): string {
  return id.startsWith("_design/")
    ? "_design/" + encodeURIComponent(id.slice(8))
    : encodeURIComponent(id);
}

/** The JSON object (or array) of a body; `null` when it is not JSON, or only a bare value. */
function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

/** The settings from which a client is made: URL, user, password or a file holding it. */
export interface CouchSettings {
  couchdb?: string;
  user?: string;
  password?: string;
  passwordFile?: string;
  requestTimeoutMs?: number;
  /** How long a failing request is retried; default forever. */
  retryForMs?: number;
  /** For a private CA. */
  httpClient?: Deno.HttpClient;
}

/**
 * Makes a client from settings: the password comes from the settings (the environment), else the
 * `passwordFile`, else the URL's user part. Registers the password with the logger as a secret.
 */
export async function clientFromSettings(
  settings: CouchSettings,
  log: Logger,
): Promise<CouchClient> {
  if (!settings.couchdb) {
    throw new CouchError(
      "no CouchDB given: use --couchdb http://host:5984/dbname (or COUCHDB_URL)",
      0,
    );
  }
  let password = settings.password;
  if (password === undefined && settings.passwordFile) {
    password = await readSecretFile(settings.passwordFile, "passwordFile", (m) => log.warn(m));
  }
  const urlPassword = /\/\/[^/:@]*:([^/@]*)@/.exec(settings.couchdb)?.[1];
  for (const secret of [password, urlPassword && decodeURIComponent(urlPassword)]) {
    if (secret) log.addSecret(secret);
  }
  return new CouchClient({
    url: settings.couchdb,
    user: settings.user,
    password,
    timeoutMs: settings.requestTimeoutMs,
    retryForMs: settings.retryForMs,
    httpClient: settings.httpClient,
    log,
  });
}
