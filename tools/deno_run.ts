/**
 * How a program of this project is started from another one (tests, benchmarks, the demo): with
 * `deno run` and its permission set from deno.json, the same flags `deno compile` builds in.
 *
 * @example
 * ```ts
 * import { denoRunArgs } from "./deno_run.ts";
 * new Deno.Command(Deno.execPath(), { args: denoRunArgs("capture", "capture.ts", ["--once", "app.log"]) });
 * ```
 * @module
 */
import { join } from "node:path";

const ROOT = join(import.meta.dirname!, "..");

/** `deno run` arguments for `script` (relative to the project) under a deno.json permission set. */
export function denoRunArgs(
  permissionSet: "capture" | "monitor" | "tools",
  script: string,
  args: string[],
): string[] {
  return [
    "run",
    "--quiet",
    "--config",
    join(ROOT, "deno.json"),
    `-P=${permissionSet}`,
    join(ROOT, script),
    ...args,
  ];
}
