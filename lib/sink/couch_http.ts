/**
 * Talking to CouchDB over HTTP (`http1.ts`): the URL and its credentials, one request with its timeout, the
 * retrying of what may pass (network errors, 5xx, 408, 429) under the one retry policy
 * (`retry.ts`), and refusals turned into errors that name the fix. Credentials go in an
 * `Authorization` header on every request and never into a URL, a log line or an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CouchHttp, parseCouchUrl } from "./couch_http.ts";
 * const target = parseCouchUrl("http://capture:secret@couch.example:5984/avl");
 * assert.deepEqual([target.base, target.database, target.user], ["http://couch.example:5984", "avl", "capture"]);
 * const http = new CouchHttp({ url: "http://127.0.0.1:9/avl", retryForMs: 0, timeoutMs: 500 });
 * assert.equal(http.url, "http://127.0.0.1:9/avl");
 * assert.match(String(await http.probe(500)), /^cannot reach CouchDB at http:\/\/127\.0\.0\.1:9/);
 * ```
 * @module
 */
import { networkReason } from "../base/errors.ts";
import { redactUrl } from "../base/redact.ts";
import { remainingMs, retry } from "../base/retry.ts";
import { formatDuration } from "../base/units.ts";
import type { Logger } from "../base/log.ts";
import { ByteWriter } from "../base/bytes.ts";
import { type Http1Answer, Http1Client, type Http1Request } from "./http1.ts";

/** How to reach one database. */
export interface CouchOptions {
  /** `http(s)://[user:password@]host:port/database`. */
  url: string;
  /** Overrides the URL's user part. */
  user?: string;
  /** The password; else the URL's, or none. */
  password?: string;
  /** Per-request timeout; default 60 s. */
  timeoutMs?: number;
  /** How long transient failures are retried before giving up; default forever. */
  retryForMs?: number;
  /** First retry delay; default 250 ms. */
  backoffMs?: number;
  /** Longest retry delay; default 30 s. */
  maxBackoffMs?: number;
  /** Where outages and writes below quorum are told. */
  log?: Logger;
  /** Certificates (PEM) trusted besides the system's: a private CA (`--ca-file`). */
  caCerts?: string[];
}

/**
 * The longest answer taken from CouchDB. Its answers are bounded by what is asked (pages of
 * `_all_docs`, one `_bulk_docs` result per document sent); this only stops a server gone wrong.
 */
const MAX_ANSWER_BYTES = 64 << 20;

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

/** A failure that may pass (no answer, 5xx, 408, 429, an answer cut short): retried. */
export class CouchUnavailable extends CouchError {
  /** A transient failure of `status` (0: no answer or no readable answer). */
  constructor(message: string, status: number, error = "") {
    super(message, status, error, false);
    this.name = "CouchError";
  }
}

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

/**
 * A refusal as an error that names the fix: credentials refused, a privilege the user lacks, a
 * database name CouchDB will not take, or what was refused.
 */
function refusal(
  db: { server: string; database: string; user: string | null },
  method: string,
  path: string,
  status: number,
  body: Record<string, unknown>,
): CouchError {
  const error = String(body.error ?? "");
  const reason = body.reason ? `: ${body.reason}` : "";
  const who = db.user === null ? "CouchDB" : `user "${db.user}"`;
  // A 401 that names an admin is a privilege the user lacks, not a wrong password.
  if (
    [401, 403].includes(status) && /not a (db or )?server admin/i.test(String(body.reason ?? ""))
  ) {
    const needs = /db or server/i.test(String(body.reason))
      ? `an admin of database "${db.database}" (its _security admins) or a server admin`
      : "a server admin";
    return new CouchError(
      `CouchDB at ${db.server} does not let ${who} ${
        privilegeOf(method, path, db.database)
      } (${status}${reason}): that needs ${needs}; the credentials themselves were accepted. See "CouchDB privileges" in the README`,
      status,
      error,
    );
  }
  if (status === 401) {
    return new CouchError(
      `CouchDB at ${db.server} refused the credentials (401): check COUCHDB_USER / COUCHDB_PASSWORD`,
      status,
      error,
    );
  }
  if (status === 403) {
    return new CouchError(
      `CouchDB at ${db.server} does not let ${who} ${
        privilegeOf(method, path, db.database)
      } (403${reason}): make the user a member of database "${db.database}" (its _security members; see "CouchDB privileges" in the README)`,
      status,
      error,
    );
  }
  if (error === "illegal_database_name") {
    return new CouchError(
      `CouchDB at ${db.server} rejected the database name "${db.database}"${reason}: fix the URL`,
      status,
      error,
    );
  }
  const what = path ? `${method} ${db.database}/${path.split("?")[0]}` : `${method} ${db.database}`;
  return new CouchError(
    `CouchDB at ${db.server} refused ${what} (${status} ${error}${reason})`,
    status,
    error,
  );
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

/** One CouchDB database over HTTP: requests, retries and the outage they make. */
export class CouchHttp {
  /** The server, without credentials: `http://host:5984`. */
  readonly server: string;
  /** The database's name. */
  readonly database: string;
  readonly #authorization: string | null;
  /** The user the credentials name, for messages. */
  readonly user: string | null;
  readonly #timeoutMs: number;
  readonly #retryForMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  /** Where the outage and quorum warnings go. */
  protected readonly log?: Logger;
  readonly #http: Http1Client;
  readonly #availability: Availability;
  /** Buffers bodies are made in, each back once its request is answered. */
  readonly #bodyBuffers: ByteWriter[] = [];

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
    this.log = options.log;
    this.#availability = new Availability(this.server, this.#retryForMs, options.log);
    this.#http = new Http1Client(this.server, {
      caCerts: options.caCerts,
      maxAnswerBytes: MAX_ANSWER_BYTES,
    });
  }

  /** The database's path on the server: `/name`, a `/` in the name escaped as CouchDB wants. */
  get #databasePath(): string {
    return `/${encodeURIComponent(this.database)}`;
  }

  /** `http://host:5984/database`, without credentials. */
  get url(): string {
    return `${this.server}/${this.database}`;
  }

  /** Counts retried requests, for metrics. */
  get retries(): number {
    return this.#availability.retries;
  }

  /**
   * Counts writes a cluster answered `202 Accepted`: stored, but on fewer copies than its write
   * quorum (a node is down). They are stored, and the missing copies follow when the node is back.
   */
  get writesBelowQuorum(): number {
    return this.#availability.writesBelowQuorum;
  }

  /** True while requests are failing and being retried. */
  get inOutage(): boolean {
    return this.#availability.inOutage;
  }

  /**
   * Sends one request to the database (`path` is relative to it, "" for the database itself),
   * retrying transient failures (`retry: false`: none, and `timeoutMs` bounds its one attempt).
   * Resolves with the status and the parsed JSON body for any status the caller must judge (2xx,
   * 404, 409, 412); throws a {@linkcode CouchError} for the rest.
   */
  async request(
    method: string,
    path: string,
    body?: unknown,
    options: { server?: boolean; retry?: boolean; contentType?: string; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const target = options.server ? `/${path}` : `${this.#databasePath}${path ? "/" + path : ""}`;
    const headers = this.#headers();
    let payload: Payload | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" || body instanceof Uint8Array || Array.isArray(body)
        ? body
        : JSON.stringify(body);
      headers["Content-Type"] = options.contentType ?? "application/json";
    }
    const once = options.retry === false;
    return await this.#retrying(
      once,
      (timeoutMs) =>
        this.#attempt(method, path, target, headers, payload, {
          timeoutMs: once ? options.timeoutMs ?? timeoutMs : timeoutMs,
        }),
    );
  }

  /**
   * Runs `attempt` under the one retry policy while it fails with a {@linkcode CouchUnavailable}
   * (`once`: not retried), each attempt given a timeout that never outlasts what is left of the
   * time to retry in; a retried failure counts toward the outage.
   */
  #retrying<T>(once: boolean, attempt: (timeoutMs: number) => Promise<T>): Promise<T> {
    return retry(
      (_, deadline) =>
        attempt(once ? this.#timeoutMs : Math.min(this.#timeoutMs, remainingMs(deadline, 1000))),
      {
        isRetriable: (error) => error instanceof CouchUnavailable,
        retryForMs: once ? 0 : this.#retryForMs,
        minDelayMs: this.#backoffMs,
        maxDelayMs: this.#maxBackoffMs,
        onRetry: (error) => this.#availability.failed(error as CouchError),
      },
    );
  }

  /** Sends `request`: its answer, or a {@linkcode CouchUnavailable} when none came. */
  async #send(request: Http1Request): Promise<Http1Answer> {
    try {
      return await this.#http.request(request);
    } catch (error) {
      throw this.#unreachable(error, request.timeoutMs);
    }
  }

  /** A request that got no answer, as a failure to retry that says why. */
  #unreachable(error: unknown, timeoutMs: number): CouchUnavailable {
    const reason = networkReason(error, timeoutMs);
    // A TLS hello to a plain-http port is often met with silence, not an error.
    const hint = /^no answer/.test(reason) && this.server.startsWith("https:")
      ? " (an https URL on a plain-http port looks like this too)"
      : "";
    return new CouchUnavailable(`cannot reach CouchDB at ${this.server}: ${reason}${hint}`, 0);
  }

  /** One attempt of a request: its answer, or a {@linkcode CouchUnavailable} to try again. */
  async #attempt(
    method: string,
    path: string,
    target: string,
    headers: Record<string, string>,
    payload: Payload | undefined,
    { timeoutMs }: { timeoutMs: number },
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    // Text, and a body of parts, are made into bytes in a buffer of their own, kept for the next:
    // parts go in one piece, as one write, and a body's bytes make no garbage.
    const writer = payload instanceof Uint8Array || payload === undefined
      ? null
      : this.#bodyBuffers.pop() ?? new ByteWriter();
    // Not given back when unanswered: a request cut off may still be reading it.
    const response = await this.#send({
      method,
      path: target,
      headers,
      body: writer ? bytesOf(payload as string | Uint8Array[], writer) : payload as Uint8Array,
      timeoutMs,
    });
    // Answered: the server has read all of the body it is going to.
    if (writer) this.#bodyBuffers.push(writer);
    const { status, text } = response;
    const parsed = parseJson(text);
    // An answer that does not parse (garbage, or cut short) says nothing: ask again.
    if (parsed === null) {
      throw new CouchUnavailable(
        `CouchDB at ${this.server} answered ${method} ${
          path.split("?")[0] || this.database
        } with a body that is not JSON (${status}, ${text.length} bytes: ${
          JSON.stringify(text.slice(0, 60))
        })`,
        0,
      );
    }
    if (isTransient(status)) {
      throw new CouchUnavailable(
        `CouchDB at ${this.server} failed (${status} ${parsed.error ?? ""}${
          parsed.reason ? ": " + parsed.reason : ""
        })`,
        status,
        String(parsed.error ?? ""),
      );
    }
    this.#availability.answered(status);
    if (response.ok || [404, 409, 412].includes(status)) {
      return { status, body: parsed };
    }
    throw refusal(this, method, path, status, parsed);
  }

  /** What every request carries: JSON wanted, and the credentials. */
  #headers(): Record<string, string> {
    const headers: Record<string, string> = { "Accept": "application/json" };
    if (this.#authorization) headers["Authorization"] = this.#authorization;
    return headers;
  }

  /**
   * An attachment of a document, as bytes (CouchDB decodes the gzip it may be stored in: no
   * `Accept-Encoding` is sent), retried as any request is; `null` when the document or the
   * attachment is not there.
   */
  async getAttachment(id: string, name: string): Promise<Uint8Array | null> {
    const path = `${encodeURIComponent(id)}/${encodeURIComponent(name)}`;
    return await this.#retrying(false, async (timeoutMs) => {
      const response = await this.#send({
        method: "GET",
        path: `${this.#databasePath}/${path}`,
        headers: this.#headers(),
        timeoutMs,
      });
      const { status } = response;
      if (status === 404) return null;
      if (response.ok) return response.body;
      if (isTransient(status)) {
        throw new CouchUnavailable(`CouchDB at ${this.server} failed (${status})`, status);
      }
      throw refusal(this, "GET", path, status, parseJson(response.text) ?? {});
    });
  }

  /**
   * One quick request, never retried, for `/healthz`: `null` when the database answers (whatever
   * it answers: the server is there), else why not.
   */
  async probe(timeoutMs = 3000): Promise<string | null> {
    try {
      const response = await this.#http.request({
        method: "GET",
        path: this.#databasePath,
        headers: this.#headers(),
        timeoutMs,
      });
      return response.status >= 500
        ? `CouchDB at ${this.server} answers ${response.status}`
        : response.status === 404
        ? `database ${this.url} does not exist`
        : null;
    } catch (error) {
      return `cannot reach CouchDB at ${this.server}: ${networkReason(error, timeoutMs)}`;
    }
  }
}

/** A request body: bytes, text, or parts to be sent one after the other. */
type Payload = string | Uint8Array | Uint8Array[];

/** A body of text or parts as bytes, made in `into` (cleared first): valid until it is written again. */
function bytesOf(payload: string | Uint8Array[], into: ByteWriter): Uint8Array {
  into.clear();
  if (typeof payload === "string") into.utf8(payload);
  else for (const part of payload) into.constant(part);
  return into.bytes();
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

/**
 * What a client has met of its server's availability: requests retried, an outage (its start said
 * once, its end with its length), and writes a cluster stored below its quorum.
 */
class Availability {
  /** Requests retried. */
  retries = 0;
  /** Writes answered `202 Accepted`. */
  writesBelowQuorum = 0;
  readonly #server: string;
  readonly #retryForMs: number;
  readonly #log?: Logger;
  #outageSince: number | null = null;
  #belowQuorumWarnedAt = -Infinity;

  constructor(server: string, retryForMs: number, log?: Logger) {
    this.#server = server;
    this.#retryForMs = retryForMs;
    this.#log = log;
  }

  /** True while requests are failing and being retried. */
  get inOutage(): boolean {
    return this.#outageSince !== null;
  }

  /** A failed attempt about to be retried: counted, and the first of an outage logged. */
  failed(failure: CouchError): void {
    this.retries++;
    if (this.#outageSince !== null) return;
    this.#outageSince = Date.now();
    this.#log?.warn(
      `${failure.message}; retrying with backoff${
        Number.isFinite(this.#retryForMs)
          ? ` for up to ${formatDuration(this.#retryForMs)}`
          : " until it answers"
      }`,
    );
  }

  /**
   * The server answered `status`: an outage is over. A write's 201 cannot say that the quorum is
   * back (a _bulk_docs of conflicts only is a 201 too), so the 202 warning repeats at most once a
   * minute while 202s go on.
   */
  answered(status: number): void {
    if (this.#outageSince !== null) {
      const seconds = ((Date.now() - this.#outageSince) / 1000).toFixed(1);
      this.#outageSince = null;
      this.#log?.info(`CouchDB at ${this.#server} answers again, after ${seconds} s`);
    }
    if (status !== 202) return;
    this.writesBelowQuorum++;
    if (Date.now() - this.#belowQuorumWarnedAt < 60_000) return;
    this.#belowQuorumWarnedAt = Date.now();
    this.#log?.warn(
      `CouchDB at ${this.#server} stores writes on fewer copies than its write quorum (202 Accepted): a node of the cluster is down; they count as stored (${this.writesBelowQuorum} so far)`,
    );
  }
}
