/**
 * The monitor's HTTP receiver: `PUT /extracts/NAME` with a bearer token stores the body as an
 * extract in the drop directory, atomically, where the monitor picks it up. Nothing is ever written
 * outside the directory, and a client that goes away half-way leaves no file behind.
 *
 * | answer | when |
 * |---|---|
 * | 201 | stored |
 * | 200 | the same name with the same bytes was stored before |
 * | 400 | the name is not an extract name |
 * | 401 | missing or wrong token |
 * | 409 | the same name with other bytes was stored before |
 * | 413 | the body is larger than the limit |
 * | 503 | the directory holds too much unprocessed data: retry later |
 *
 * @example
 * ```ts
 * import { startReceiver } from "./receiver.ts";
 * const server = startReceiver({ dir: "/srv/drop", hostname: "0.0.0.0", port: 8443, token: "…", maxExtractBytes: 64 << 20, log });
 * ```
 * @module
 */
import { join } from "node:path";
import { parseExtractName } from "./batch.ts";
import { DONE_FOLDER, hashFile, hex, pendingBytes, writeExtract } from "./extracts.ts";
import type { Logger } from "./log.ts";

/** Receiver settings. */
export interface ReceiverOptions {
  dir: string;
  hostname: string;
  port: number;
  token: string;
  maxExtractBytes: number;
  /** Answer 503 while the directory holds this many bytes of unprocessed extracts. */
  maxPendingBytes?: number;
  /** PEM certificate and key, for https. */
  cert?: string;
  key?: string;
  log: Logger;
  signal?: AbortSignal;
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

async function existing(dir: string, name: string): Promise<string | null> {
  for (const path of [join(dir, name), join(dir, DONE_FOLDER, name)]) {
    try {
      await Deno.stat(path);
      return path;
    } catch {
      // not there
    }
  }
  return null;
}

/** Reads a request body up to `limit` bytes; `null` when it is larger. Throws if the client goes away. */
async function readBody(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const parts: Uint8Array[] = [];
  let total = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      total += chunk.length;
      if (total > limit) return null;
      parts.push(chunk);
    }
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    body.set(part, at);
    at += part.length;
  }
  return body;
}

/** Handles one request (the table in the module doc); `startReceiver` serves it. */
async function handleExtractRequest(
  request: Request,
  options: ReceiverOptions,
): Promise<Response> {
  const url = new URL(request.url);
  const prefix = "/extracts/";
  if (!url.pathname.startsWith(prefix)) {
    return answer(404, { error: "not_found", reason: "PUT /extracts/NAME" });
  }
  if (request.method !== "PUT") {
    return answer(405, { error: "method_not_allowed", reason: "PUT /extracts/NAME" }, {
      Allow: "PUT",
    });
  }
  const auth = request.headers.get("authorization") ?? "";
  if (!auth.startsWith("Bearer ") || !sameSecret(auth.slice(7), options.token)) {
    return answer(401, { error: "unauthorized", reason: "missing or wrong bearer token" });
  }
  let name: string;
  try {
    name = decodeURIComponent(url.pathname.slice(prefix.length));
  } catch {
    return answer(400, { error: "bad_name", reason: "the name is not valid percent-encoding" });
  }
  if (
    name.includes("/") || name.includes("\\") || name.startsWith(".") || !parseExtractName(name)
  ) {
    return answer(400, {
      error: "bad_name",
      reason: "not an extract name (SOURCE.GENERATION.START-END.log)",
    });
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > options.maxExtractBytes) {
    return answer(413, {
      error: "too_large",
      reason: `larger than ${options.maxExtractBytes} bytes`,
    });
  }
  const body = await readBody(request, options.maxExtractBytes);
  if (!body) {
    return answer(413, {
      error: "too_large",
      reason: `larger than ${options.maxExtractBytes} bytes`,
    });
  }
  const digest = hex(await crypto.subtle.digest("SHA-256", body));
  const before = await existing(options.dir, name);
  if (before) {
    return await hashFile(before) === digest
      ? answer(200, { ok: true, name, stored: "already" })
      : answer(409, { error: "conflict", reason: `${name} is stored already with other bytes` });
  }
  if (options.maxPendingBytes && await pendingBytes(options.dir) >= options.maxPendingBytes) {
    return answer(503, { error: "busy", reason: "the drop directory is full; retry later" }, {
      "Retry-After": "5",
    });
  }
  if (!await writeExtract(options.dir, name, [body])) {
    // Another request stored it meanwhile.
    return await hashFile(join(options.dir, name)) === digest
      ? answer(200, { ok: true, name, stored: "already" })
      : answer(409, { error: "conflict", reason: `${name} is stored already with other bytes` });
  }
  options.log.debug(`received ${name}`, { bytes: body.length });
  return answer(201, { ok: true, name });
}

/** Starts the receiver. See the module example. */
export function startReceiver(options: ReceiverOptions): Deno.HttpServer<Deno.NetAddr> {
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
  }, async (request) => {
    try {
      return await handleExtractRequest(request, options);
    } catch (error) {
      // The client went away, or the disk failed: nothing was renamed into place.
      options.log.warn(`receiver: ${(error as Error).message}`);
      return answer(500, { error: "internal", reason: "not stored" });
    }
  });
}
