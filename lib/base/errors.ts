/**
 * Whether a failure is worth retrying, said by its type where the cause is known, never guessed
 * from its text. A {@linkcode PermanentError} is one that no retry will mend (refused credentials,
 * a foreign document under our id, an unusable cache file): the program stops with its message.
 * Anything else met while storing (a timeout, a reset, an answer that does not parse) is retried.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPermanent, PermanentError } from "./errors.ts";
 * assert.equal(isPermanent(new PermanentError("feed:x:0:0000000000000000 is not ours")), true);
 * assert.equal(isPermanent(new TypeError("connection reset")), false);
 * ```
 * @module
 */

/** A failure that no retry will mend; its message names the fix. */
export class PermanentError extends Error {
  /** Marks the error as one no retry mends (see {@linkcode isPermanent}). */
  readonly permanent = true;
  /** A failure no retry mends; `message` names the fix. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/** A usage or configuration error (a flag, a key, a value, a file named in them): one line, exit code 2. */
export class UsageError extends Error {
  /** A usage or configuration error; `message` is its one line, naming the fix. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Whether `error` is one to stop on rather than retry: a {@linkcode PermanentError}, or an error
 * of another family (a CouchDB answer, a refusal of the receiver) whose `permanent` field says so.
 */
export function isPermanent(error: unknown): boolean {
  return error instanceof Error && (error as { permanent?: unknown }).permanent === true;
}

/**
 * Why a request failed to get an answer, in words ("connection refused", "no answer within 60
 * s", "host not found"), from the error a connection threw and its causes, a URL in it left out,
 * since the caller's message names the server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { networkReason } from "./errors.ts";
 * const error = new Deno.errors.ConnectionRefused("Connection refused (os error 111)");
 * assert.equal(networkReason(error, 60_000), "connection refused");
 * ```
 */
export function networkReason(error: unknown, timeoutMs: number): string {
  if (
    error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")
  ) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  let text = "";
  for (
    let e = error as Error | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as Error, depth++
  ) {
    text += ` ${e.message ?? e}`;
  }
  text = text.trim();
  if (/connection refused/i.test(text)) return "connection refused";
  if (/dns error|failed to lookup|name or service not known/i.test(text)) return "host not found";
  if (/connection reset/i.test(text)) return "connection reset";
  if (/connection closed before message completed/i.test(text)) {
    return "connection closed mid-request";
  }
  if (/handshake eof|invalidcontenttype|wrong version number|corrupt message/i.test(text)) {
    return "the TLS handshake failed: the server does not speak https there (for a plain-http port, use an http:// URL)";
  }
  if (/certificate|tls|ssl/i.test(text)) {
    return `TLS error (${text.replace(/.*: /, "")}; a private CA is given with --ca-file)`;
  }
  return text.replace(/https?:\/\/\S+/g, "").replace(/\s+/g, " ").trim();
}

/**
 * Binds with `serve`, and says which address and which flag when it cannot: a port already taken
 * (`Address already in use`, alone, names neither).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listening, PermanentError } from "./errors.ts";
 * const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = taken.addr as Deno.NetAddr;
 * assert.throws(
 *   () => listening("127.0.0.1", port, "--status-listen", () => Deno.listen({ hostname: "127.0.0.1", port })),
 *   (e: Error) => e instanceof PermanentError && e.message.includes(`127.0.0.1:${port} (--status-listen)`),
 * );
 * taken.close();
 * ```
 */
export function listening<T>(hostname: string, port: number, flag: string, serve: () => T): T {
  try {
    return serve();
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? "another program holds it (the same program started twice?): stop it, or choose another address"
      : error instanceof Deno.errors.PermissionDenied
      ? "this user may not bind it (a port below 1024?): choose another"
      : (error as Error).message;
    throw new PermanentError(`cannot listen on ${hostname}:${port} (${flag}): ${why}`, {
      cause: error,
    });
  }
}
