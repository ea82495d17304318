/**
 * The monitor's HTTP receiver: `PUT /extracts/NAME` with a bearer token stores the body as an
 * extract in the drop directory, atomically, where the monitor picks it up. Nothing is ever written
 * outside the directory, and a client that goes away half-way leaves no file behind. The token is
 * checked before the body is read, the body is streamed to a temporary file (never held whole in
 * memory) and checked on the way, and only then renamed into place and answered 201.
 *
 * | answer | when |
 * |---|---|
 * | 201 | stored |
 * | 200 | the same name with the same bytes was stored before |
 * | 400 | the name is not an extract name, or the body is not what the name says: another length than its range, or not ending with a newline (nothing is written) |
 * | 401 | missing or wrong token |
 * | 409 | the same name with other bytes was stored before |
 * | 413 | the body is larger than the limit |
 * | 503 | the directory holds too much unprocessed data, or too many uploads are being taken: retry later (`Retry-After`) |
 *
 * `GET /position?source=S&file=ID` (same token) answers where the extracts of that file are held up
 * to, 200 `{"generation", "offset"}` or 404, for a capture that lost its cache file.
 * `PUT /manifests/SOURCE.json` (same token) stores a tail-only capture's manifest of its log
 * (`capture verify`) in `manifests/` for `monitor verify`: 201, or 400 when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { startReceiver } from "./receiver.ts";
 * const dir = await Deno.makeTempDir();
 * const stop = new AbortController();
 * const server = startReceiver({
 *   dir,
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   token: "s3cret",
 *   maxExtractBytes: 64 << 20,
 *   log: createLogger({ level: "error" }),
 *   signal: stop.signal,
 * });
 * const name = "avl1.0.0000000000000000-0000000000000009.log";
 * const put = (token: string) =>
 *   fetch(`http://127.0.0.1:${server.addr.port}/extracts/${name}`, {
 *     method: "PUT",
 *     headers: { Authorization: `Bearer ${token}` },
 *     body: "line one\n",
 *   }).then(async (r) => (await r.body?.cancel(), r.status));
 * assert.equal(await put("wrong"), 401);
 * assert.equal(await put("s3cret"), 201);
 * assert.equal(await Deno.readTextFile(`${dir}/${name}`), "line one\n");
 * stop.abort();
 * await server.finished;
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "../base/posix_path.ts";
import {
  type ExtractRange,
  LONG_LINE_NOTE_BYTES,
  parseExtractName,
  SOURCE_NAME,
} from "../sink/batch.ts";
import { DONE_FOLDER, pendingBytes, writeExtract } from "../sink/extracts.ts";
import type { Logger } from "../base/log.ts";
import { listening } from "../base/errors.ts";
import { writeFileAtomic } from "../source/atomic.ts";
import {
  MANIFEST_FOLDER,
  manifestName,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from "./verify_manifest.ts";

/** Receiver settings. */
export interface ReceiverOptions {
  /** The drop directory. */
  dir: string;
  /** The address to listen on. */
  hostname: string;
  /** The port to listen on (0: any free one). */
  port: number;
  /** The bearer token every request must present. */
  token: string;
  /** The largest extract taken (413 above it). */
  maxExtractBytes: number;
  /** Answer 503 while the directory holds this many bytes of unprocessed extracts. */
  maxPendingBytes?: number;
  /** Where the extracts of a file are held up to (`GET /position`); none: always 404. */
  locate?: (
    source: string,
    fileId: string,
  ) => Promise<{ generation: number; offset: number } | null>;
  /** Answer 503 while this many uploads are being taken; default {@linkcode MAX_UPLOADS_IN_FLIGHT}. */
  maxUploads?: number;
  /** PEM certificate and key, for https. */
  cert?: string;
  /** The PEM private key of `cert`. */
  key?: string;
  /** Where requests refused and stored are told. */
  log: Logger;
  /** Stops the receiver. */
  signal?: AbortSignal;
  /** Told of each request refused for its token (for `tokens_refused_total`). */
  refused?: () => void;
}

function answer(
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response {
  return Response.json(body, { status, headers });
}

/** Compares two strings in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * The SHA-256 of the extract `name` the drop directory holds, waiting or in `done/`; `null` when
 * it holds none. Looked up and hashed in one step, each place opened once: the monitor moves an
 * extract from the drop directory to `done/` whenever it likes, and an extract opened before its
 * move is hashed whole all the same, while one moved before it is opened is found in `done/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storedHash } from "./receiver.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/done`);
 * await Deno.writeTextFile(`${dir}/done/a.0.0000000000000000-0000000000000002.log`, "a\n");
 * assert.match((await storedHash(dir, "a.0.0000000000000000-0000000000000002.log"))!, /^[0-9a-f]{64}$/);
 * assert.equal(await storedHash(dir, "b.0.0000000000000000-0000000000000002.log"), null);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function storedHash(
  dir: string,
  name: string,
  open: (path: string) => Promise<Deno.FsFile> = (path) => Deno.open(path),
): Promise<string | null> {
  for (const path of [join(dir, name), join(dir, DONE_FOLDER, name)]) {
    let file: Deno.FsFile;
    try {
      file = await open(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    using _ = file;
    const hash = createHash("sha256");
    for await (const chunk of file.readable) hash.update(chunk);
    return hash.digest("hex");
  }
  return null;
}

/** A body refused before anything is renamed into place: the answer's status and reason. */
class BodyRefused extends Error {
  constructor(readonly status: number, readonly error: string, reason: string) {
    super(reason);
  }
}

/** How long an upload may take before its rate counts, and the least it must average after that. */
export const SLOW_UPLOAD = { graceMs: 5_000, minBytesPerSecond: 4096 };

/**
 * The body's chunks, cut with {@linkcode BodyRefused} (408) once the upload has gone on for the
 * grace period and averages less than the least rate: a slow or hostile client must not hold an
 * upload slot (there are {@linkcode MAX_UPLOADS_IN_FLIGHT}) for as long as it likes.
 */
async function* slowBodyCut(
  body: ReadableStream<Uint8Array> | null,
  received: () => number,
): AsyncGenerator<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  const started = Date.now();
  let cut = false;
  const watch = setInterval(() => {
    const elapsed = Date.now() - started;
    if (elapsed < SLOW_UPLOAD.graceMs) return;
    if (received() / (elapsed / 1000) < SLOW_UPLOAD.minBytesPerSecond) {
      cut = true;
      void reader.cancel().catch(() => {});
    }
  }, 500);
  try {
    for (;;) {
      const { value, done } = await reader.read().catch((error) => {
        if (cut) return { value: undefined, done: true };
        throw error;
      });
      if (cut) {
        throw new BodyRefused(
          408,
          "too_slow",
          `the upload averaged less than ${SLOW_UPLOAD.minBytesPerSecond} bytes a second after ${
            SLOW_UPLOAD.graceMs / 1000
          } s`,
        );
      }
      if (done || !value) return;
      yield value;
    }
  } finally {
    clearInterval(watch);
    reader.releaseLock();
  }
}

/**
 * The request body as it arrives, hashed and checked on the way: exactly `expected` bytes (what the
 * name's range says), ending with a newline. Throws {@linkcode BodyRefused} the moment it is not,
 * so that a refused body is never renamed into place, and never held whole in memory.
 */
async function* checkedBody(
  body: ReadableStream<Uint8Array> | null,
  expected: number,
  hash: Hash,
  kind: "log" | "long" | "last" = "log",
): AsyncGenerator<Uint8Array> {
  const note = kind === "long";
  let total = 0;
  let last = -1;
  for await (const chunk of slowBodyCut(body, () => total)) {
    if (chunk.length === 0) continue;
    total += chunk.length;
    if (total > expected) {
      throw new BodyRefused(
        400,
        "bad_length",
        `the body is longer than the ${expected} bytes its name gives`,
      );
    }
    hash.update(chunk);
    last = chunk[chunk.length - 1];
    yield chunk;
  }
  // A note for an over-long line (`.long`) carries its first bytes: 1 to `expected` of them.
  if (note) {
    if (total === 0) {
      throw new BodyRefused(400, "bad_length", "the note of an over-long line is empty");
    }
    return;
  }
  if (total !== expected) {
    throw new BodyRefused(
      400,
      "bad_length",
      `the body has ${total} bytes, its name gives ${expected}`,
    );
  }
  // The last line of a finished file (`.last`) is the one body that does not end in a newline.
  if (kind === "last" ? last === 10 : last !== 10) {
    throw new BodyRefused(
      400,
      "partial_line",
      kind === "last"
        ? "a .last extract holds the unterminated last line of a file, and this one ends in a newline"
        : "the body does not end with a newline: an extract holds whole lines only",
    );
  }
}

/** Handles one request (the table in the module doc); `startReceiver` serves it. */
async function handleExtractRequest(
  request: Request,
  options: ReceiverOptions,
  client: string,
  sayRefused: (client: string) => void,
): Promise<Response> {
  const url = new URL(request.url);
  const prefix = "/extracts/";
  const position = url.pathname === "/position";
  const manifest = url.pathname.startsWith(MANIFESTS);
  if (!url.pathname.startsWith(prefix) && !position && !manifest) {
    return answer(404, {
      error: "not_found",
      reason: "PUT /extracts/NAME, PUT /manifests/SOURCE.json or GET /position",
    });
  }
  if (request.method !== (position ? "GET" : "PUT")) {
    return answer(405, { error: "method_not_allowed", reason: "PUT /extracts/NAME" }, {
      Allow: position ? "GET" : "PUT",
    });
  }
  // Before any byte of the body is read.
  const auth = request.headers.get("authorization") ?? "";
  if (!auth.startsWith("Bearer ") || !sameSecret(auth.slice(7), options.token)) {
    sayRefused(client);
    return answer(401, { error: "unauthorized", reason: "missing or wrong bearer token" });
  }
  if (position) return await answerPosition(url, options);
  if (manifest) return await storeManifest(request, url, options);
  const name = nameAfter(url, prefix);
  if (name === null) return BAD_ENCODING();
  const range = name.includes("/") || name.includes("\\") || name.startsWith(".")
    ? null
    : parseExtractName(name);
  if (!range) {
    return answer(400, {
      error: "bad_name",
      reason: "not an extract name (SOURCE.GENERATION.START-END.log)",
    });
  }
  const expected = range.long
    ? Math.min(LONG_LINE_NOTE_BYTES, range.end - range.start)
    : range.end - range.start;
  if (expected > options.maxExtractBytes) {
    return answer(413, {
      error: "too_large",
      reason: `larger than ${options.maxExtractBytes} bytes`,
    });
  }
  const declared = request.headers.get("content-length");
  if (
    declared !== null &&
    (range.long ? Number(declared) > expected : Number(declared) !== expected)
  ) {
    return answer(400, {
      error: "bad_length",
      reason: `the body has ${declared} bytes, its name gives ${expected}`,
    });
  }
  const hash = createHash("sha256");
  const held = await storedHash(options.dir, name);
  if (held !== null) {
    for await (const _ of checkedBody(request.body, expected, hash, kindOf(range))) {
      // only hashed: the extract is there already
    }
    return held === hash.digest("hex")
      ? answer(200, { ok: true, name, stored: "already" })
      : answer(409, { error: "conflict", reason: `${name} is stored already with other bytes` });
  }
  if (options.maxPendingBytes && await pendingBytes(options.dir) >= options.maxPendingBytes) {
    return answer(503, { error: "busy", reason: "the drop directory is full; retry later" }, {
      "Retry-After": "5",
    });
  }
  if (
    !await writeExtract(options.dir, name, checkedBody(request.body, expected, hash, kindOf(range)))
  ) {
    // Another request stored it meanwhile.
    return await storedHash(options.dir, name) === hash.digest("hex")
      ? answer(200, { ok: true, name, stored: "already" })
      : answer(409, { error: "conflict", reason: `${name} is stored already with other bytes` });
  }
  options.log.debug(`received ${name}`, { bytes: expected });
  return answer(201, { ok: true, name });
}

const MANIFESTS = `/${MANIFEST_FOLDER}/`;

/** The name in the path after `prefix`, percent-decoded; `null` when it is not valid encoding. */
function nameAfter(url: URL, prefix: string): string | null {
  try {
    return decodeURIComponent(url.pathname.slice(prefix.length));
  } catch {
    return null;
  }
}

const BAD_ENCODING = () =>
  answer(400, { error: "bad_name", reason: "the name is not valid percent-encoding" });

/**
 * `PUT /manifests/SOURCE.json`: the manifest of a tail-only capture's log (`capture verify`), put
 * in the drop directory's `manifests/` folder for `monitor verify`; it replaces the one before.
 */
async function storeManifest(
  request: Request,
  url: URL,
  options: ReceiverOptions,
): Promise<Response> {
  const name = nameAfter(url, MANIFESTS);
  if (name === null) return BAD_ENCODING();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.json$/.test(name)) {
    return answer(400, { error: "bad_name", reason: "not a manifest name (SOURCE.json)" });
  }
  const tooLarge = () =>
    answer(413, { error: "too_large", reason: `larger than ${MAX_MANIFEST_BYTES} bytes` });
  if (Number(request.headers.get("content-length") ?? 0) > MAX_MANIFEST_BYTES) return tooLarge();
  // Read up to the limit only: a body sent without its length is not held whole.
  const body = new Uint8Array(MAX_MANIFEST_BYTES);
  let length = 0;
  for await (const chunk of request.body ?? []) {
    if (length + chunk.length > MAX_MANIFEST_BYTES) return tooLarge();
    body.set(chunk, length);
    length += chunk.length;
  }
  let manifest;
  try {
    manifest = parseManifest(new TextDecoder().decode(body.subarray(0, length)));
  } catch (error) {
    return answer(400, { error: "bad_manifest", reason: (error as Error).message });
  }
  if (manifestName(manifest.source) !== name) {
    return answer(400, { error: "bad_name", reason: `it is the manifest of ${manifest.source}` });
  }
  await Deno.mkdir(join(options.dir, MANIFEST_FOLDER), { recursive: true });
  await writeFileAtomic(join(options.dir, MANIFEST_FOLDER, name), body.slice(0, length), 0o644);
  options.log.info(`received the manifest of ${manifest.source}`, { files: manifest.files.length });
  return answer(201, { ok: true, name });
}

/**
 * `GET /position?source=S&file=ID`: how far the extracts of that file are held (stored in CouchDB,
 * or waiting in the drop directory), for a capture that lost its cache file: 200 with the
 * generation and offset to go on from, 404 when nothing of the file is held.
 */
async function answerPosition(url: URL, options: ReceiverOptions): Promise<Response> {
  const source = url.searchParams.get("source") ?? "";
  const file = url.searchParams.get("file") ?? "";
  if (!SOURCE_NAME.test(source) || !/^[0-9a-f]{16}$/.test(file)) {
    return answer(400, {
      error: "bad_query",
      reason: "give ?source=NAME&file=FILEID (16 hex digits)",
    });
  }
  const found = options.locate ? await options.locate(source, file) : null;
  return found ? answer(200, found) : answer(404, {
    error: "not_found",
    reason: `nothing of file ${file} of ${source} is held here`,
  });
}

function kindOf(range: ExtractRange): "log" | "long" | "last" {
  return range.long ? "long" : range.last ? "last" : "log";
}

/** Whether `hostname` is a loopback address (only this host reaches it). */
function isLoopback(hostname: string): boolean {
  return /^127\./.test(hostname) || hostname === "::1" || hostname === "localhost";
}

/**
 * Says who was refused for their token: the first refusal of a client at once, then at most once a
 * minute per client, with how many were refused meanwhile; each one counted through `refused`.
 */
function refusalLogger(options: ReceiverOptions): (client: string) => void {
  const said = new Map<string, { at: number; since: number }>();
  return (client) => {
    options.refused?.();
    const now = Date.now();
    const last = said.get(client);
    if (last && now - last.at < 60_000) {
      last.since++;
      return;
    }
    const more = last?.since ? ` (and ${last.since} more since the last line)` : "";
    options.log.warn(`the receiver refused a missing or wrong token from ${client}${more}`);
    said.set(client, { at: now, since: 0 });
    // Bounded: clients that stopped are forgotten.
    if (said.size > 1000) said.delete(said.keys().next().value!);
  };
}

/** Uploads taken at once; more are answered 503, so that memory stays bounded whatever the clients. */
export const MAX_UPLOADS_IN_FLIGHT = 16;

/** Starts the receiver. See the module example. */
export function startReceiver(options: ReceiverOptions): Deno.HttpServer<Deno.NetAddr> {
  return listening(options.hostname, options.port, "--listen", () => serveReceiver(options));
}

function serveReceiver(options: ReceiverOptions): Deno.HttpServer<Deno.NetAddr> {
  let uploads = 0;
  const sayRefused = refusalLogger(options);
  if (!options.cert && !isLoopback(options.hostname)) {
    options.log.warn(
      `the receiver listens on ${options.hostname}:${options.port} over plain HTTP: the token and the extracts travel in clear; give --tls-cert and --tls-key, or listen on 127.0.0.1 behind a TLS proxy`,
    );
  }
  const tls = options.cert && options.key ? { cert: options.cert, key: options.key } : {};
  return Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    ...tls,
    onListen: ({ hostname, port }) => {
      options.log.info(
        `receiving extracts on ${options.cert ? "https" : "http"}://${hostname}:${port}/extracts/`,
      );
    },
    onError: (error) => {
      options.log.warn(`receiver: ${(error as Error).message}`);
      return answer(500, { error: "internal", reason: "see the monitor's log" });
    },
  }, async (request, info) => {
    if (uploads >= (options.maxUploads ?? MAX_UPLOADS_IN_FLIGHT)) {
      return answer(503, { error: "busy", reason: "too many uploads at once; retry later" }, {
        "Retry-After": "1",
      });
    }
    uploads++;
    try {
      return await handleExtractRequest(request, options, info.remoteAddr.hostname, sayRefused);
    } catch (error) {
      if (error instanceof BodyRefused) {
        if (error.status === 408) {
          options.log.warn(
            `the receiver cut a slow upload from ${info.remoteAddr.hostname}: ${error.message}`,
          );
        }
        return answer(error.status, { error: error.error, reason: error.message });
      }
      // The client went away, or the disk failed: nothing was renamed into place.
      options.log.warn(`receiver: ${(error as Error).message}`);
      return answer(500, { error: "internal", reason: "not stored" });
    } finally {
      uploads--;
    }
  });
}
