/**
 * Credentials kept out of what is printed: the one way a URL is shown in messages, logs and
 * `--print-config`. The password goes; the user stays, since which user is often the question.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./redact.ts";
 * assert.equal(redactUrl("http://admin:s3cret@couch:5984/db"), "http://admin:***@couch:5984/db");
 * assert.equal(redactUrl("see https://u:p@a/x and http://b/y"), "see https://u:***@a/x and http://b/y");
 * assert.equal(redactUrl("http://couch:5984/db"), "http://couch:5984/db");
 * ```
 * @module
 */

/** `text` with the password of every URL in it replaced by `***`. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^/:@\s]*):[^/@\s]*@/g, "//$1:***@");
}
