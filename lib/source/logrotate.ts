/**
 * What logrotate will do to a log: its configuration read the way logrotate reads it (global
 * directives, `include` of files and folders, a stanza per list of path globs, scripts skipped),
 * and the settings of the stanza that covers the log, so that `capture check` can say beforehand
 * where data would be lost: rotated files moved where capture does not look (`olddir`), a
 * compressor capture cannot read, `copytruncate`'s window, `rotate 0`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logrotateFor, rotationRisks } from "./logrotate.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/logrotate.conf`, [
 *   "compress",
 *   `${dir}/spysocket.log {`,
 *   "  daily",
 *   `  olddir ${dir}/old`,
 *   "  copytruncate",
 *   "}",
 * ].join("\n"));
 * const found = await logrotateFor(`${dir}/spysocket.log`, [`${dir}/logrotate.conf`]);
 * assert.equal(found?.directives.get("olddir"), `${dir}/old`);
 * const risks = rotationRisks(`${dir}/spysocket.log`, found!, [`${dir}/spysocket.log.*`]);
 * assert.deepEqual(risks.map((r) => r.directive), ["olddir", "copytruncate"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { basename, dirname, isAbsolute, join, resolve } from "../base/posix_path.ts";

/** The configuration files logrotate reads by default. */
export const DEFAULT_LOGROTATE_CONF = ["/etc/logrotate.conf"];

/** The stanza that covers a log: where it is, and its directives (the globals it inherits too). */
export interface LogrotateStanza {
  /** The file and line of the stanza. */
  where: string;
  /** Directive name → its argument ("" for none); the later of two wins, as in logrotate. */
  directives: Map<string, string>;
}

/** Directives that switch another off (`nocompress` undoes `compress`). */
const NEGATIONS: Record<string, string> = {
  nocompress: "compress",
  nocopytruncate: "copytruncate",
  nodelaycompress: "delaycompress",
  noolddir: "olddir",
  nocreate: "create",
};

function globRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The words of a line, quotes removed. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function setDirective(directives: Map<string, string>, name: string, arg: string): void {
  const negated = NEGATIONS[name];
  if (negated) directives.delete(negated);
  else directives.set(name, arg);
}

/** The files an `include` names: the file, or the files of the folder (as logrotate skips some). */
async function included(path: string): Promise<string[]> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info) return [];
  if (info.isFile) return [path];
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (!entry.isFile || /(^\.|~$|\.(dpkg-[a-z]+|rpm[a-z]+|disabled|bak|swp)$)/.test(entry.name)) {
      continue;
    }
    names.push(join(path, entry.name));
  }
  return names.sort();
}

/**
 * The stanza of the logrotate configuration (`confs`, with what they include) whose globs cover
 * `logPath`, with the global directives set before it; `null` when none does (or none is readable).
 */
export async function logrotateFor(
  logPath: string,
  confs: string[] = DEFAULT_LOGROTATE_CONF,
): Promise<LogrotateStanza | null> {
  const globals = new Map<string, string>();
  const seen = new Set<string>();
  const target = resolve(logPath);
  async function read(file: string): Promise<LogrotateStanza | null> {
    if (seen.has(file)) return null;
    seen.add(file);
    const text = await Deno.readTextFile(file).catch(() => null);
    if (text === null) return null;
    const lines = text.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n].replace(/#.*$/, "").trim();
      if (!line) continue;
      const parts = words(line);
      // A stanza: its globs, then "{" (on the same line, or alone on the next), its directives.
      let next = n + 1;
      while (next < lines.length && lines[next].replace(/#.*$/, "").trim() === "") next++;
      const braceNext = !line.includes("{") && lines[next]?.trim().startsWith("{");
      if (line.includes("{") || braceNext) {
        const patterns = words(braceNext ? line : line.slice(0, line.indexOf("{")));
        if (braceNext) n = next;
        const local = new Map(globals);
        let inScript = false;
        const start = n + 1;
        for (n++; n < lines.length; n++) {
          const inner = lines[n].replace(/#.*$/, "").trim();
          if (inScript) {
            if (inner === "endscript") inScript = false;
            continue;
          }
          if (inner === "}" || inner.startsWith("}")) break;
          const [name, ...args] = words(inner);
          if (!name) continue;
          if (/^(pre|post|first|last)rotate$|^preremove$/.test(name)) inScript = true;
          else setDirective(local, name, args.join(" "));
        }
        if (patterns.some((p) => globRegExp(p).test(target))) {
          return { where: `${file}:${start}`, directives: local };
        }
        continue;
      }
      const [name, ...args] = parts;
      if (name === "include") {
        const path = isAbsolute(args[0] ?? "") ? args[0] : join(dirname(file), args[0] ?? "");
        for (const inner of await included(path)) {
          const found = await read(inner);
          if (found) return found;
        }
      } else setDirective(globals, name, args.join(" "));
    }
    return null;
  }
  for (const conf of confs) {
    for (const file of await included(conf)) {
      const found = await read(file);
      if (found) return found;
    }
  }
  return null;
}

/** A setting of the stanza that loses data, and how to keep it. */
export interface RotationRisk {
  /** The logrotate directive. */
  directive: string;
  /** What it does to capture. */
  problem: string;
  /** What to set instead. */
  fix: string;
}

/** The compressors capture reads (gzip) and the ones it does not. */
function compressor(directives: Map<string, string>): string | null {
  if (!directives.has("compress")) return null;
  return basename((directives.get("compresscmd") || "gzip").split(/\s+/)[0]);
}

/**
 * Where the stanza's settings lose data with capture set up to look for rotated files in
 * `rotatedGlobs`: an `olddir` none of the globs covers, a compressor other than gzip,
 * `copytruncate`, `rotate 0`.
 */
export function rotationRisks(
  logPath: string,
  stanza: LogrotateStanza,
  rotatedGlobs: string[],
): RotationRisk[] {
  const risks: RotationRisk[] = [];
  const d = stanza.directives;
  const olddir = d.get("olddir");
  if (olddir !== undefined && olddir !== "") {
    const folder = resolve(dirname(logPath), olddir);
    if (!rotatedGlobs.some((glob) => resolve(dirname(glob)) === folder)) {
      risks.push({
        directive: "olddir",
        problem:
          `logrotate moves rotated files to ${folder} (${stanza.where}), where capture does not look: lines written while capture is stopped or behind are lost at a rotation`,
        fix: `add --rotated '${join(folder, basename(logPath))}*'`,
      });
    }
  }
  const cmd = compressor(d);
  if (cmd && !/^(gzip|pigz)$/.test(cmd)) {
    risks.push({
      directive: "compresscmd",
      problem:
        `logrotate compresses rotated files with ${cmd} (${stanza.where}), which capture cannot read: lines not captured before the compression are lost`,
      fix: "compress with gzip (the default compresscmd), and add delaycompress",
    });
  }
  if (d.has("copytruncate")) {
    risks.push({
      directive: "copytruncate",
      problem:
        `copytruncate (${stanza.where}) truncates the log after copying it: lines written between the copy and the truncation are in neither file`,
      fix: "use create and signal the writer in postrotate, if the daemon can reopen its log",
    });
  }
  if (d.get("rotate") === "0") {
    risks.push({
      directive: "rotate",
      problem:
        `rotate 0 (${stanza.where}) removes the rotated file at once: lines capture had not read by then are lost`,
      fix: "rotate 1 or more, so the rotated file stays until the next rotation",
    });
  }
  return risks;
}
