/**
 * Secrets kept in files (a CouchDB password, a receiver's token), read the one way: the file's one
 * line, its line end dropped; errors name the setting and the file, never the secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSecretFile } from "./secret.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hunter2\n");
 * assert.equal(await readSecretFile(path, "passwordFile"), "hunter2");
 * await Deno.writeTextFile(path, "");
 * await assert.rejects(readSecretFile(path, "passwordFile"), /passwordFile .* is empty/);
 * await Deno.remove(path);
 * ```
 * @module
 */
import { UsageError } from "./errors.ts";

/**
 * Reads a one-line secret (a password, a token) from a file; the error names the setting and the
 * file. A file that others than its owner may read is said to `warn`, as ssh says of a key.
 */
export async function readSecretFile(
  path: string,
  setting: string,
  warn?: (message: string) => void,
): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${setting} ${path}: ${(error as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (!secret) throw new UsageError(`${setting} ${path} is empty`);
  // A second line would be sent inside an HTTP header, or taken for part of the secret.
  if (/[\r\n\0]/.test(secret)) {
    throw new UsageError(
      `${setting} ${path} holds more than one line: keep the secret alone in it, on one line`,
    );
  }
  const mode = (await Deno.stat(path)).mode;
  if (warn && mode !== null && (mode & 0o077) !== 0) {
    warn(
      `${setting} ${path} can be read by others than its owner (mode ${
        (mode & 0o777).toString(8).padStart(4, "0")
      }): chmod 600 ${path}`,
    );
  }
  return secret;
}
