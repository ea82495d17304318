/**
 * Java properties, the format of the 2012 tools' `hrtail.properties` and `logtail.history`:
 * `key=value`, `key: value` or `key value` lines, `#` and `!` comments, `\\` escapes in keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseProperties } from "./properties.ts";
 * const props = parseProperties("# 2012\ncouchpush.db_url=http://localhost:5984/feed\nsize./var/log/a.log: 42\n");
 * assert.equal(props.get("couchpush.db_url"), "http://localhost:5984/feed");
 * assert.equal(props.get("size./var/log/a.log"), "42");
 * ```
 * @module
 */

/** The keys and values of a properties text, in order; a later key wins. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("!")) continue;
    const m = /^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1].replace(/\\(.)/g, "$1"), m[2]);
  }
  return out;
}
