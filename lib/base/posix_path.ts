/**
 * The POSIX path functions capture uses, as `node:path` defines them: the first `node:` module a
 * program loads starts Deno's Node layer (11 MB and 30 ms of CPU at each start of capture; see
 * `sha256.ts`), which capture in tail-only mode has no other use for. Checked against
 * `node:path`'s POSIX functions on random paths (`tests/unit/posix_path_test.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { basename, dirname, isAbsolute, join, resolve } from "./posix_path.ts";
 * assert.equal(join("/var/log/", "../lib", "capture.json"), "/var/lib/capture.json");
 * assert.equal(dirname("/var/log/app.log"), "/var/log");
 * assert.equal(basename("/var/log/app.log"), "app.log");
 * assert.equal(isAbsolute("app.log"), false);
 * assert.equal(resolve("/srv", "drop", "."), "/srv/drop");
 * ```
 * @module
 */

const SLASH = "/";

/** `path`'s segments with `.` and empty ones dropped and `..` applied, joined by slashes. */
function normalizeSegments(path: string, absolute: boolean): string {
  const kept: string[] = [];
  for (const segment of path.split(SLASH)) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") kept.push(segment);
    else if (kept.length > 0 && kept[kept.length - 1] !== "..") kept.pop();
    else if (!absolute) kept.push(".."); // above the root is the root; above "." is kept
  }
  return kept.join(SLASH);
}

/** `path` with repeated slashes, `.` and `..` resolved; a trailing slash is kept. */
function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  const trailing = path.endsWith(SLASH);
  const body = normalizeSegments(path, absolute);
  if (body === "") return absolute ? SLASH : trailing ? "./" : ".";
  return (absolute ? SLASH : "") + body + (trailing ? SLASH : "");
}

/** Whether `path` starts at the root. */
export function isAbsolute(path: string): boolean {
  return path.startsWith(SLASH);
}

/** The non-empty `paths` joined by slashes and normalized (`.` when all are empty). */
export function join(...paths: string[]): string {
  return normalize(paths.filter((path) => path !== "").join(SLASH));
}

/**
 * The absolute path `paths` name together: from the right, up to the first absolute one, on top of
 * the working directory when none is; no trailing slash.
 */
export function resolve(...paths: string[]): string {
  let resolved = "";
  for (let i = paths.length - 1; i >= 0 && !isAbsolute(resolved); i--) {
    if (paths[i] !== "") resolved = resolved ? `${paths[i]}${SLASH}${resolved}` : paths[i];
  }
  if (!isAbsolute(resolved)) resolved = `${Deno.cwd()}${SLASH}${resolved}`;
  return SLASH + normalizeSegments(resolved, true);
}

/** The last segment of `path`, trailing slashes aside (`""` for the root or an empty path). */
export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === SLASH) end--;
  return path.slice(path.lastIndexOf(SLASH, end - 1) + 1, end);
}

/**
 * `path` without its last segment, trailing slashes aside: `.` when it has no slash before that
 * segment, the root for a segment at the root.
 */
export function dirname(path: string): string {
  if (path === "") return ".";
  let end = path.length;
  while (end > 1 && path[end - 1] === SLASH) end--;
  const slash = path.lastIndexOf(SLASH, end - 1);
  if (slash === -1) return ".";
  if (slash === 0) return SLASH;
  // As node:path: of a run of slashes before the last segment only the last one goes ("a//b" →
  // "a/"), and "//" is a root of its own ("//a" → "//", POSIX leaves its meaning to the system).
  return slash === 1 && isAbsolute(path) ? "//" : path.slice(0, slash);
}
