/**
 * A CouchDB 3.x client over HTTP/1.1 (`couch_http.ts`): database and design document setup,
 * documents with inline attachments, `_bulk_docs` with per-document results, reads by id and by id
 * range.
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
import { readSecretFile } from "../base/secret.ts";
import type { Logger } from "../base/log.ts";
import { CouchError, CouchHttp } from "./couch_http.ts";

export { CouchError, type CouchOptions, parseCouchUrl, type Target } from "./couch_http.ts";

/** One result of `_bulk_docs`: stored, already stored, or another error the caller must handle. */
export type BulkResult =
  | { id: string; outcome: "created"; rev: string }
  | { id: string; outcome: "conflict" }
  | { id: string; outcome: "error"; error: string; reason: string };

/** A row of `_all_docs`. */
export interface AllDocsRow<T> {
  /** The document's id. */
  id: string;
  /** The document, when asked for (`includeDocs`). */
  doc?: T;
}

/** Options for {@linkcode CouchClient.allDocs}. */
export interface AllDocsOptions {
  /** The first id of the range (the last, when descending). */
  startkey?: string;
  /** The last id of the range (the first, when descending). */
  endkey?: string;
  /** The most rows answered. */
  limit?: number;
  /** Rows from the highest id down. */
  descending?: boolean;
  /** Whether each row carries its document. */
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
  /** The document `id`, or `null` when there is none. */
  getDocument<T = Doc>(id: string): Promise<T | null>;
  /** Stores a new document, its attachments inline: `conflict` when the id is taken. */
  putDocument(doc: Doc): Promise<"created" | "conflict">;
  /** Stores a new document already serialized as JSON: `conflict` when the id is taken. */
  putDocumentJson(id: string, json: string | Uint8Array): Promise<"created" | "conflict">;
  /**
   * Stores a new document and its attachments' bytes in one request: `conflict` when the id is
   * taken. With `boundMs`, one attempt waiting that long: unanswered, a {@linkcode CouchUnavailable}.
   */
  putDocumentMultipart(
    id: string,
    json: Uint8Array,
    attachments: Uint8Array[],
    boundMs?: number,
  ): Promise<"created" | "conflict">;
  /** Stores new documents in one request, each created or a conflict (or another error, said). */
  bulkDocs(docs: Doc[] | string | Uint8Array): Promise<BulkResult[]>;
  /** The documents of an id range, in id order. */
  allDocs<T = Doc>(options: AllDocsOptions): Promise<AllDocsRow<T>[]>;
}

/** What a server says of itself at `GET /`. */
export interface ServerInfo {
  /** The server's version. */
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

/** One database on one CouchDB server: its setup, and documents written and read. */
export class CouchClient extends CouchHttp implements DocumentStore {
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
   * Whether every node of the cluster is up, as `_membership` says (every node it is made of is
   * connected); `null` when the user may not read it (an admin may, a member may not) or the
   * server cannot say now.
   */
  async allNodesUp(): Promise<boolean | null> {
    const answer = await this.request("GET", "_membership", undefined, {
      server: true,
      retry: false,
      timeoutMs: 5000,
    }).catch(() => null);
    const { all_nodes: up, cluster_nodes: members } = answer?.body ?? {};
    if (answer?.status !== 200 || !Array.isArray(up) || !Array.isArray(members)) return null;
    return members.every((node) => up.includes(node));
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
      this.log?.warn(
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
   * and serves them decoded to a client that does not ask for gzip). With `boundMs`, one attempt
   * that waits that long for its answer (a cluster with a node down may hold it for minutes): a
   * {@linkcode CouchUnavailable} then says to send it another way.
   */
  async putDocumentMultipart(
    id: string,
    json: Uint8Array,
    attachments: Uint8Array[],
    boundMs?: number,
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
      ...(boundMs === undefined ? {} : { retry: false, timeoutMs: boundMs }),
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

const asciiOf = (text: string): Uint8Array => new TextEncoder().encode(text);

function encodeId(id: string): string {
  return id.startsWith("_design/")
    ? "_design/" + encodeURIComponent(id.slice(8))
    : encodeURIComponent(id);
}

/** The settings from which a client is made: URL, user, password or a file holding it. */
export interface CouchSettings {
  /** The database URL, `http://host:5984/dbname`. */
  couchdb?: string;
  /** The user, when not in the URL. */
  user?: string;
  /** The password, when not in the URL or a file. */
  password?: string;
  /** A file holding the password. */
  passwordFile?: string;
  /** How long one request may take. */
  requestTimeoutMs?: number;
  /** How long a failing request is retried; default forever. */
  retryForMs?: number;
  /** Certificates (PEM) of a private CA. */
  caCerts?: string[];
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
    caCerts: settings.caCerts,
    log,
  });
}
