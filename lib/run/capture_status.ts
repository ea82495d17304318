/**
 * What `capture --status` prints: where the cache file stands against the log. It starts nothing
 * and reads only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeStatus } from "./capture_status.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.log`, "one\n");
 * const text = await describeStatus(`${dir}/a.log`, `${dir}/a.cache.json`);
 * assert.match(text, /does not exist yet: nothing captured/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { readCheckpoint } from "../source/checkpoint.ts";
import { type FileIdentity, headMatches, readIdentity } from "../source/identity.ts";

/**
 * What `capture --status` prints: the position in the cache file, how far behind the log it is,
 * and whether the file at the path is still the one the cache file names. Starts nothing.
 */
export async function describeStatus(path: string, cachePath: string): Promise<string> {
  const checkpoint = await readCheckpoint(cachePath);
  let size: number | null = null;
  let identity: FileIdentity | null = null;
  let matches = false;
  try {
    using file = await Deno.open(path);
    size = (await file.stat()).size;
    identity = await readIdentity(file);
    // Known by its text: a copy of the file (a restore) is the file.
    if (checkpoint) matches = await headMatches(file, checkpoint.file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const lines = [`log:        ${path} (${size === null ? "does not exist" : `${size} bytes`})`];
  if (!checkpoint) {
    lines.push(
      `cache file: ${cachePath} does not exist yet: nothing captured; capture starts at --from (default: the beginning)`,
    );
    if (size !== null) lines.push(`behind:     ${size} bytes`);
    return lines.join("\n");
  }
  lines.push(`cache file: ${cachePath} (updated ${checkpoint.updated ?? "?"})`);
  lines.push(
    `source:     ${checkpoint.source}, generation ${checkpoint.generation}, offset ${checkpoint.offset}`,
  );
  if (size === null || !identity) {
    lines.push("identity:   the log is gone; capture will look for it among the rotated files");
  } else if (matches) {
    lines.push(`behind:     ${Math.max(0, size - checkpoint.offset)} bytes`);
    lines.push(
      `identity:   matches (device ${identity.dev}, inode ${identity.ino}, first ${checkpoint.file.headLength} bytes)`,
    );
  } else {
    lines.push(
      `behind:     ${size} bytes of the new file, and whatever is left of the old one after offset ${checkpoint.offset}`,
    );
    lines.push(
      `identity:   does not match (cache: device ${checkpoint.file.dev}, inode ${checkpoint.file.ino}; log: device ${identity.dev}, inode ${identity.ino}): the log was rotated or replaced; capture will read the rest of the old file from the rotated files, then the new one as generation ${
        checkpoint.generation + 1
      }`,
    );
  }
  return lines.join("\n");
}
