/**
 * CouchDB as a sink, the peer of the extract sink (`handover.ts`): it owns its memory of CouchDB's
 * answers (a {@linkcode BatchStore}), the rule that a database deleted while running is created
 * again, how many batches it stores at once and how far back a resume point looks: the two are
 * one number, {@linkcode LOOK_BACK}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { spysocketFormat } from "../format/line_format.ts";
 * import { CouchSink } from "./couch_sink.ts";
 * const server = Deno.env.get("COUCHDB_URL") ?? "http://admin:secret@127.0.0.1:5984";
 * const sink = await CouchSink.open({
 *   couchdb: `${server}/lc_example_${Date.now()}`,
 *   retryForMs: 10_000,
 *   mode: "feed",
 *   format: spysocketFormat({ columns: "classic", year: 2012 }),
 *   gzipLevel: 1,
 * }, createLogger({ level: "error" }));
 * const data = new TextEncoder().encode("not a report\n");
 * const file = { dev: 1, ino: 2, head: "not a report\n", headLength: 13, id: "0123456789abcdef" };
 * const batch = { source: { id: "avl1", host: "h", file }, generation: 0, start: 0, end: 13, data, oversized: null, readAt: new Date() };
 * assert.equal((await sink.store(batch)).end, 13);
 * assert.deepEqual(await sink.findPosition("avl1", file), { generation: 0, offset: 13 });
 * await sink.db.request("DELETE", "");
 * ```
 * @module
 */
import type { Logger } from "../base/log.ts";
import type { LineFormat } from "../format/line_format.ts";
import type { FileIdentity } from "../source/identity.ts";
import type { Batch } from "./batch.ts";
import {
  clientFromSettings,
  type CouchClient,
  CouchError,
  type CouchSettings,
  takesMultipart,
} from "./couchdb.ts";
import { gzipAt } from "./gzip.ts";
import { MultipartChoice, SINGLE_NODE } from "./multipart_choice.ts";
import { findStoredPosition, LOOK_BACK } from "./resume_point.ts";
import type { BatchSink, SinkResult } from "./sink.ts";
import { BatchStore, type StoreMode, type StoreOptions } from "./store.ts";

/** Where and how a CouchDB sink stores. */
export interface CouchSinkSettings extends CouchSettings {
  /** Feed documents or records. */
  mode: StoreMode;
  /** What a line becomes. */
  format: LineFormat;
  /** The gzip level of multipart attachments, where the server takes them (0: plain). */
  gzipLevel: number;
  /** The batches come from extracts (the monitor): their file id says which file they are. */
  fromExtracts?: boolean;
}

/** CouchDB as the place batches are stored; see the module example. */
export class CouchSink implements BatchSink {
  /**
   * Batches stored at once, in either mode: a later batch stored before an earlier one leaves a
   * gap only within the last this many, which a resume point looks back over.
   */
  readonly inFlight: number = LOOK_BACK;
  /** Who answers `findPosition`, for messages. */
  readonly positionHolder = "CouchDB";
  /** The database. */
  readonly db: CouchClient;
  readonly #options: StoreOptions;
  readonly #log: Logger;
  #store: BatchStore;

  /** A sink over `db`, whose database is set up already. */
  constructor(db: CouchClient, options: StoreOptions, log: Logger) {
    this.db = db;
    this.#options = options;
    this.#log = log;
    this.#store = new BatchStore(db, options);
  }

  /**
   * Makes the client, creates the database and its design document when missing, and asks the
   * server whether it takes multipart feed documents: by what it says it is, never by trying
   * (pouchdb-server exits on a multipart PUT).
   */
  static async open(settings: CouchSinkSettings, log: Logger): Promise<CouchSink> {
    const db = await clientFromSettings(settings, log);
    const options: StoreOptions = {
      mode: settings.mode,
      format: settings.format,
      fromExtracts: settings.fromExtracts,
    };
    await db.ensureDatabase({ feedViews: options.mode === "feed" });
    const info = await db.serverInfo();
    if (takesMultipart(info)) {
      options.feedAttachments = { gzip: await gzipAt(settings.gzipLevel), choice: SINGLE_NODE };
    } else if (info.apacheCouchdb && info.nodes !== null) {
      // A cluster whose membership the user may read (an admin): multipart while it is healthy.
      const choice = new MultipartChoice({
        allNodesUp: () => db.allNodesUp(),
        say: (message) => log.warn(message),
      });
      options.feedAttachments = { gzip: await gzipAt(settings.gzipLevel), choice };
    }
    return new CouchSink(db, options, log);
  }

  /** `http://host:5984/database`, without credentials. */
  get url(): string {
    return this.db.url;
  }

  /** Stores one batch; a database deleted while running is created again, and knows nothing. */
  async store(batch: Batch, turn?: Promise<void>): Promise<SinkResult> {
    try {
      return await this.#store.store(batch, turn);
    } catch (error) {
      if (!(error instanceof CouchError) || error.status !== 404) throw error;
      this.#log.warn(`database ${this.db.url} is gone (deleted while running): creating it again`);
      await this.db.ensureDatabase({ feedViews: this.#options.mode === "feed" });
      this.#store = new BatchStore(this.db, this.#options);
      return await this.#store.store(batch);
    }
  }

  /** Where CouchDB holds this file up to, for a capture whose cache file is gone. */
  findPosition(
    source: string,
    file: FileIdentity | { id: string },
  ): Promise<{ generation: number; offset: number } | null> {
    return findStoredPosition(this.db, source, file, LOOK_BACK);
  }

  /** One quick look, never retried, at whether the database answers. */
  probe(): Promise<string | null> {
    return this.db.probe();
  }
}
