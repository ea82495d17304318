/**
 * `deno task build [--target TRIPLE] [--out DIR]`: compiles `capture` and `monitor` into standalone
 * binaries with `deno compile`, each with its permissions (`PERMISSIONS` of deno_run.ts), the
 * same the run tasks and the tests use.
 *
 * `deno compile` needs Deno's `denort` runtime for the target: it is taken from `DENORT_BIN` when
 * set, else downloaded. When neither works, the build says so in one line, with the fix.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { PERMISSIONS, RUNTIME_FLAGS, taskArgs } from "./deno_run.ts";

const ROOT = join(import.meta.dirname!, "..");
const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];
const PROGRAMS = ["capture", "monitor"] as const;

/** Builds both programs into `out`; resolves with the binaries' paths. Throws one-line errors. */
export async function build(options: { target?: string; out: string }): Promise<string[]> {
  if (options.target && !TARGETS.includes(options.target)) {
    throw new Error(
      `build: --target must be one of ${TARGETS.join(", ")}, got "${options.target}"`,
    );
  }
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    const info = await Deno.stat(denort).catch(() => null);
    if (!info?.isFile) {
      throw new Error(
        `build: DENORT_BIN=${denort} is not a file: point it at the denort binary of Deno ${Deno.version.deno}`,
      );
    }
  }
  const existed = await Deno.stat(options.out).then(() => true, () => false);
  await Deno.mkdir(options.out, { recursive: true });
  try {
    return await compileAll(options);
  } catch (error) {
    // A failed build leaves no empty output folder behind it.
    if (!existed) await Deno.remove(options.out).catch(() => {});
    throw error;
  }
}

async function compileAll(options: { target?: string; out: string }): Promise<string[]> {
  const target = options.target ?? Deno.build.target;
  const built: string[] = [];
  for (const program of PROGRAMS) {
    const output = join(options.out, options.target ? `${program}-${options.target}` : program);
    const args = [
      "compile",
      "--quiet",
      "--config",
      join(ROOT, "deno.json"),
      ...PERMISSIONS[program],
      ...RUNTIME_FLAGS,
      "--output",
      output,
    ];
    if (options.target) args.push("--target", options.target);
    args.push(join(ROOT, `${program}.ts`));
    const result = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      const text = new TextDecoder().decode(result.stderr);
      if (/denort|download|dns error|lookup address|connect|certificate/i.test(text)) {
        // The URL Deno tried is what a user fetches on a machine that can, and copies over.
        const url = /https:\/\/\S+?\.zip/.exec(text)?.[0] ??
          `https://dl.deno.land/release/v${Deno.version.deno}/denort-${target}.zip`;
        throw new Error(
          `build: deno compile could not download its runtime for ${target} (${url}): ` +
            `fetch it where you can, unzip it, and run again with DENORT_BIN=/path/to/denort`,
        );
      }
      throw new Error(
        `build: deno compile of ${program} failed: ${
          text.trim().split("\n").slice(0, 3).join(" ")
        }`,
      );
    }
    built.push(output);
  }
  // A runtime that is not denort gives a binary that ignores the program: catch that here.
  if (!options.target || options.target.startsWith(Deno.build.arch)) {
    const check = await new Deno.Command(built[0], {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output()
      .catch(() => null);
    const text = check ? new TextDecoder().decode(check.stdout) : "";
    if (!text.startsWith("capture ")) {
      throw new Error(
        `build: ${
          built[0]
        } does not run the program (is DENORT_BIN really denort, of Deno ${Deno.version.deno}?)`,
      );
    }
  }
  return built;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: taskArgs(),
    options: { target: { type: "string" }, out: { type: "string", default: join(ROOT, "dist") } },
  });
  try {
    for (const path of await build({ target: values.target, out: values.out! })) {
      console.log(`built ${path}`);
    }
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
