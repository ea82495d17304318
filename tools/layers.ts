/**
 * `deno task check` runs this: data flows one way, from the log to CouchDB, so each folder of
 * `lib/` may import only from itself and from the folders below it, in the order of
 * {@linkcode LAYERS}; nothing in `lib/` imports the tests, the tools or the entry points. Prints
 * every import that points up or out, and exits 1 when there is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importProblem } from "./layers.ts";
 * assert.equal(importProblem("lib/sink/store.ts", "lib/format/csv.ts"), null);
 * assert.match(importProblem("lib/source/tail.ts", "lib/cli/config.ts")!, /points up/);
 * ```
 * @module
 */
import { dirname, join, relative } from "node:path";

/** The folders of `lib/`, lowest first: a folder imports from itself and the ones before it. */
export const LAYERS = ["base", "source", "parse", "format", "sink", "run", "cli"] as const;

const ROOT = join(import.meta.dirname!, "..");

function layerOf(path: string): number {
  const folder = /^lib\/([^/]+)\//.exec(path)?.[1];
  return folder === undefined ? -1 : LAYERS.indexOf(folder as typeof LAYERS[number]);
}

/** What is wrong with `from` (a path in `lib/`) importing `to` (a path from the root), or null. */
export function importProblem(from: string, to: string): string | null {
  if (!to.startsWith("lib/")) {
    return to.startsWith("npm:") || to.startsWith("node:")
      ? null
      : `${from} imports ${to}, outside lib/`;
  }
  const [a, b] = [layerOf(from), layerOf(to)];
  if (a < 0) return `${from} is not in a folder of lib/ (${LAYERS.join(", ")})`;
  if (b < 0) return `${from} imports ${to}, which is not in a folder of lib/`;
  if (b > a) return `${from} imports ${to}: it points up (${LAYERS[a]} → ${LAYERS[b]})`;
  return null;
}

/** The modules a source text imports (static imports and re-exports; not those in comments). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)].map((m) => m[1]);
}

/** The TypeScript modules below `folder`, depth first. */
export async function* modules(folder: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(folder)) {
    const path = join(folder, entry.name);
    if (entry.isDirectory) yield* modules(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

if (import.meta.main) {
  const problems: string[] = [];
  for await (const path of modules(join(ROOT, "lib"))) {
    const from = relative(ROOT, path);
    for (const specifier of importsOf(await Deno.readTextFile(path))) {
      const to = specifier.startsWith(".")
        ? relative(ROOT, join(dirname(path), specifier))
        : specifier;
      const problem = importProblem(from, to);
      if (problem) problems.push(problem);
    }
  }
  for (const problem of problems) console.error(problem);
  if (problems.length) {
    console.error(`layers: ${problems.length} imports against the order ${LAYERS.join(" < ")}`);
    Deno.exit(1);
  }
  console.error(`layers: every import of lib/ points down (${LAYERS.join(" < ")})`);
}
