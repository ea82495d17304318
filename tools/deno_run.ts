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

/** The arguments given after `deno task NAME`: `deno task bench -- --quick` passes the `--` on too. */
export function taskArgs(): string[] {
  return Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
}
