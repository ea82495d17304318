/**
 * The size rule of `lib/`: no top-level class over 250 lines, no top-level function over 100,
 * counted from the declaration to its closing brace (the code is `deno fmt`-ed, so both are at
 * the start of a line). `deno task check` runs it; `--top N` lists the longest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declarations } from "./sizes.ts";
 * const text = "export class A {\n  x = 1;\n}\n\nasync function b() {\n  return 1;\n}\n";
 * assert.deepEqual(declarations(text), [
 *   { kind: "class", name: "A", line: 1, lines: 3 },
 *   { kind: "function", name: "b", line: 5, lines: 3 },
 * ]);
 * ```
 * @module
 */
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { modules } from "./layers.ts";

/** A top-level class or function, and how many lines it spans. */
export interface Declaration {
  kind: "class" | "function";
  name: string;
  line: number;
  lines: number;
}

/** The most lines a top-level class or function of `lib/` may span. */
export const LIMITS: Record<Declaration["kind"], number> = { class: 250, function: 100 };

const START =
  /^(?:export )?(?:default )?(?:abstract )?(?:async )?(class|function\*?) ([A-Za-z0-9_$]+)/;

/** The top-level classes and functions of a formatted TypeScript module. */
export function declarations(text: string): Declaration[] {
  const found: Declaration[] = [];
  let open: Omit<Declaration, "lines"> | null = null;
  text.split("\n").forEach((line, i) => {
    const start = START.exec(line);
    if (start && !open && !line.trimEnd().endsWith(";")) {
      const kind = start[1] === "class" ? "class" : "function";
      open = { kind, name: start[2], line: i + 1 };
      if (/}\s*$/.test(line) && line.includes("{")) {
        found.push({ ...open, lines: 1 });
        open = null;
      }
    } else if (open && line.startsWith("}")) {
      found.push({ ...open, lines: i + 2 - open.line });
      open = null;
    }
  });
  return found;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { top: { type: "string" } } });
  const all: (Declaration & { file: string })[] = [];
  for await (const file of modules("lib")) {
    const text = await Deno.readTextFile(file);
    for (const d of declarations(text)) all.push({ ...d, file: relative(".", file) });
  }
  all.sort((a, b) => b.lines - a.lines);
  if (values.top) {
    const top = Number(values.top);
    for (const kind of ["function", "class"] as const) {
      console.log(`longest ${kind === "class" ? "classes" : "functions"}:`);
      for (const d of all.filter((d) => d.kind === kind).slice(0, top)) {
        console.log(`  ${String(d.lines).padStart(4)}  ${d.file}:${d.line} ${d.name}`);
      }
    }
  }
  const over = all.filter((d) => d.lines > LIMITS[d.kind]);
  for (const d of over) {
    console.error(
      `sizes: ${d.file}:${d.line}: ${d.kind} ${d.name} is ${d.lines} lines (at most ${
        LIMITS[d.kind]
      }): split it by what its parts do`,
    );
  }
  if (over.length > 0) Deno.exit(1);
  console.log(
    `sizes: no class over ${LIMITS.class} lines, no function over ${LIMITS.function} in lib/`,
  );
}
