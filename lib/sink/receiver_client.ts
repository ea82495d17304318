/**
 * A monitor's HTTP receiver, as tail-only capture talks to it: extracts put, and the position of a
 * file asked for. Requests are retried under the one retry policy (`retry.ts`) while the receiver
 * cannot be reached or is busy; a refusal no retry mends is a {@linkcode HandoverError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../base/log.ts";
 * import { HandoverError, ReceiverClient } from "./receiver_client.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) =>
 *   request.headers.get("Authorization") === "Bearer right"
 *     ? new Response("stored")
 *     : new Response("no", { status: 401 }));
 * const shipTo = `http://127.0.0.1:${server.addr.port}`;
 * const log = createLogger({ level: "error" });
 * await new ReceiverClient({ shipTo, token: "right", log }).put("avl1-0-0-9-f.csv", new Uint8Array(9));
 * const refused = new ReceiverClient({ shipTo, token: "wrong", log }).put("x", new Uint8Array(1));
 * await assert.rejects(refused, HandoverError);
 * await server.shutdown();
 * ```
 * @module
 */
import { isPermanent, networkReason, PermanentError } from "../base/errors.ts";
import { retry } from "../base/retry.ts";
import type { Logger } from "../base/log.ts";
import type { FileIdentity } from "../source/identity.ts";
import { Http1Client } from "./http1.ts";

/** How to reach a receiver. */
export interface ReceiverClientOptions {
  /** The receiver, `http(s)://host:port`. */
  shipTo: string;
  /** The bearer token it expects. */
  token?: string;
  /** The certificates (PEM) of a private CA, trusted besides the system's. */
  caCerts?: string[];
  /** Per-request timeout; default 60 s. */
  timeoutMs?: number;
  /** How long an unanswering receiver is retried before the request fails; default forever. */
  retryForMs?: number;
  /** Where the first failure of an outage, and the end of it, are told. */
  log: Logger;
}

/** Raised when the receiver refuses an extract for good (wrong token, a different extract by that name). */
export class HandoverError extends PermanentError {
  /** The receiver's answer. */
  readonly status: number;
  /** The receiver's refusal (`status`), which no retry mends. */
  constructor(message: string, status: number) {
    super(message);
    this.name = "HandoverError";
    this.status = status;
  }
}

/** The fix for an extract the receiver refuses as too large (413), for capture's messages. */
export const EXTRACT_TOO_LARGE_FIX =
  "lower --batch-bytes to what the receiver takes, or raise the monitor's --max-extract-bytes";

/** A receiver, as capture talks to it; see the module example. */
export class ReceiverClient {
  readonly #options: ReceiverClientOptions;
  readonly #http: Http1Client;

  /** A client of `options.shipTo`. */
  constructor(options: ReceiverClientOptions) {
    this.#options = options;
    this.#http = new Http1Client(options.shipTo, options);
  }

  /** Who holds the positions this client asks for, for messages. */
  get holder(): string {
    return `the receiver at ${this.#options.shipTo}`;
  }

  /** Puts one extract; resolves once the receiver holds it. */
  async put(name: string, body: Uint8Array): Promise<void> {
    const path = `/extracts/${encodeURIComponent(name)}`;
    const { status, text } = await this.#ask({
      method: "PUT",
      path,
      what: name,
      body,
      tooLargeFix: EXTRACT_TOO_LARGE_FIX,
    });
    if (status === 404) {
      throw new HandoverError(`${this.holder} has no /extracts/: ${text}`, 404);
    }
  }

  /** Puts the manifest of a log (`capture verify`, tail-only); it replaces the one before. */
  async putManifest(name: string, body: Uint8Array): Promise<void> {
    const path = `/manifests/${encodeURIComponent(name)}`;
    const { status, text } = await this.#ask({ method: "PUT", path, what: name, body });
    if (status === 404) {
      throw new HandoverError(
        `${this.holder} takes no manifests (an older monitor?): ${text}`,
        404,
      );
    }
  }

  /** Where the receiver (and CouchDB behind it) holds this file up to: for a lost cache file. */
  async position(
    source: string,
    file: Pick<FileIdentity, "id">,
  ): Promise<{ generation: number; offset: number } | null> {
    if (!file.id) return null;
    const query = new URLSearchParams({ source, file: file.id });
    const path = `/position?${query}`;
    const { status, text } = await this.#ask({ method: "GET", path, what: "the position" });
    if (status === 404) return null; // nothing of this file, or a receiver of an earlier version
    const found = JSON.parse(text);
    return Number.isSafeInteger(found.generation) && Number.isSafeInteger(found.offset)
      ? { generation: found.generation, offset: found.offset }
      : null;
  }

  /** One request, never retried: `null` when the receiver answers (whatever it answers), else why not. */
  async probe(): Promise<string | null> {
    try {
      await this.#http.request({ method: "GET", path: "/", timeoutMs: 3000 });
      return null;
    } catch (error) {
      return `cannot reach ${this.holder}: ${networkReason(error, 3000)}`;
    }
  }

  /**
   * One request to the receiver, retried with backoff until it answers (or for `retryForMs`): its
   * status and text for a success or a 404; a {@linkcode HandoverError} for a refusal no retry
   * mends (401, 400, 409, 413).
   */
  async #ask(request: ReceiverRequest): Promise<{ status: number; text: string }> {
    const options = this.#options, what = request.what;
    const timeoutMs = options.timeoutMs ?? 60_000;
    let failed = false;
    const answer = await retry(() => this.#attempt(request), {
      retryForMs: options.retryForMs,
      onRetry: (error, attempt) => {
        failed = true;
        if (attempt === 0) {
          options.log.warn(
            `cannot reach ${this.holder} for ${what}: ${
              reasonOf(error, timeoutMs)
            }; retrying with backoff`,
          );
        }
      },
    }).catch((error) => {
      if (error instanceof HandoverError) throw error;
      // Past --retry-for: the last failure, not yet permanent (the store's own retry decides).
      const last = isPermanent(error) && error.cause ? error.cause : error;
      throw new Error(`cannot reach ${this.holder} for ${what}: ${reasonOf(last, timeoutMs)}`, {
        cause: last,
      });
    });
    if (failed) options.log.info(`${this.holder} answers again`);
    return answer;
  }

  async #attempt(
    { method, path, what, body, tooLargeFix }: ReceiverRequest,
  ): Promise<{ status: number; text: string }> {
    const options = this.#options;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${options.token ?? ""}`,
      "Content-Type": "text/plain",
    };
    const response = await this.#http.request({
      method,
      path,
      headers,
      body, // sent from the caller's bytes, which stay until the answer comes
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    const text = response.text;
    if (response.ok || response.status === 404) return { status: response.status, text };
    if (response.status === 401) {
      throw new HandoverError(`${this.holder} refused the token (401): check --token-file`, 401);
    }
    if (response.status === 409 || response.status === 400 || response.status === 413) {
      const fix = response.status === 413 && tooLargeFix ? `: ${tooLargeFix}` : "";
      throw new HandoverError(
        `${this.holder} refused ${what} (${response.status}): ${text.trim()}${fix}`,
        response.status,
      );
    }
    throw new ReceiverBusy(`${response.status} ${text.trim().slice(0, 200)}`);
  }
}

/** One request to the receiver, and what it is for, in messages. */
interface ReceiverRequest {
  method: "PUT" | "GET";
  path: string;
  what: string;
  body?: Uint8Array;
  /** What to do when the receiver finds it too large (413), when a setting decides its size. */
  tooLargeFix?: string;
}

/** An answer that may pass (5xx, 429): its status and first words. */
class ReceiverBusy extends Error {}

/** Why a request failed, in words: the receiver's answer, or why none came. */
function reasonOf(error: unknown, timeoutMs: number): string {
  return error instanceof ReceiverBusy ? error.message : networkReason(error, timeoutMs);
}
