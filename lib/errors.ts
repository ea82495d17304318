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
  readonly permanent = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/**
 * Whether `error` is one to stop on rather than retry: a {@linkcode PermanentError}, or an error
 * of another family (a CouchDB answer, a refusal of the receiver) whose `permanent` field says so.
 */
export function isPermanent(error: unknown): boolean {
  return error instanceof Error && (error as { permanent?: unknown }).permanent === true;
}
