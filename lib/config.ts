/**
 * Options from one table: command-line flags, a JSON configuration file, the environment, and
 * defaults, with errors that name the option, the file and the fix. A flag wins over the
 * environment, which wins over the file. Secrets never come from a flag.
 *
 * @example
 * ```ts
 * import { resolveOptions, type OptionSpec } from "./config.ts";
 * const specs: OptionSpec[] = [{ key: "flushMs", flag: "flush-ms", type: "integer", min: 1, default: 500, help: "..." }];
 * const { options, positionals } = await resolveOptions("capture", specs, ["--flush-ms", "200", "app.log"]);
 * // options.flushMs === 200
 * ```
 * @module
 */
import { parseArgs } from "node:util";

/** One option: its configuration key, its flag, its type and default, and its help text. */
export interface OptionSpec {
  /** Key in the configuration file, and in the resolved options. */
  key: string;
  /** Long flag, without `--`; omitted for configuration-only settings. */
  flag?: string;
  short?: string;
  type: "string" | "integer" | "boolean" | "enum" | "list";
  values?: readonly string[];
  /** Smallest allowed integer. */
  min?: number;
  /** Largest allowed integer. */
  max?: number;
  default?: unknown;
  /** How the default is shown in `--help` when it is computed. */
  defaultText?: string;
  /** Environment variable that sets it. */
  env?: string;
  help: string;
  /** Redacted by `--print-config`; never settable by a flag. */
  secret?: boolean;
  /** A flag that is not a setting (`--help`, `--config`, ...): not allowed in the file. */
  flagOnly?: boolean;
}

/** A usage or configuration error: one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Resolved options by key, and the positional arguments. */
export interface Resolved {
  options: Record<string, unknown>;
  positionals: string[];
  /** Which file the configuration came from, if any. */
  configFile?: string;
}

function describe(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value);
}

/** Checks and converts one value; `where` names its origin in errors. */
function convert(spec: OptionSpec, value: unknown, where: string): unknown {
  const fail = (what: string) => new UsageError(`${where} must be ${what}, got ${describe(value)}`);
  switch (spec.type) {
    case "boolean":
      if (typeof value === "boolean") return value;
      throw fail("true or false");
    case "string":
      if (typeof value === "string" && value !== "") return value;
      throw fail("a non-empty string");
    case "enum":
      if (typeof value === "string" && spec.values!.includes(value)) return value;
      throw fail(`one of ${spec.values!.join(", ")}`);
    case "list":
      if (typeof value === "string" && value !== "") return [value];
      if (Array.isArray(value) && value.every((v) => typeof v === "string" && v !== "")) {
        return value;
      }
      throw fail("a string or a list of strings");
    case "integer": {
      const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
      const min = spec.min ?? 0;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      const what = spec.max !== undefined
        ? `an integer from ${min} to ${max}`
        : min === 1
        ? "a positive integer"
        : min === 0
        ? "a whole number ≥ 0"
        : `an integer ≥ ${min}`;
      if (typeof n === "number" && Number.isSafeInteger(n) && n >= min && n <= max) return n;
      throw fail(what);
    }
  }
}

/** Reads a JSON configuration file: an object whose keys are all known settings. */
export async function readConfigFile(
  path: string,
  specs: OptionSpec[],
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`cannot read configuration file ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new UsageError(`${path} must hold a JSON object of settings`);
  }
  const name = path.split("/").pop();
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const spec = specs.find((s) => s.key === key && !s.flagOnly);
    if (spec?.secret) {
      throw new UsageError(
        `${name}: "${key}" cannot be set in a configuration file: use ${
          spec.env ?? "the environment"
        } or ${key}File`,
      );
    }
    if (!spec) {
      const known = specs.filter((s) => !s.flagOnly && !s.secret).map((s) => s.key).join(", ");
      throw new UsageError(`${name}: unknown key "${key}" (known keys: ${known})`);
    }
    out[key] = convert(spec, value, `${name}: "${key}"`);
  }
  return out;
}

/**
 * Resolves options: defaults, then the configuration file (`--config`, or `fileValues` read by the
 * caller), then the environment, then flags.
 */
export async function resolveOptions(
  program: string,
  specs: OptionSpec[],
  args: string[],
  fileValues?: (path: string) => Promise<Record<string, unknown>>,
): Promise<Resolved> {
  const parseOptions: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const spec of specs) {
    if (!spec.flag || spec.secret) continue;
    parseOptions[spec.flag] = {
      type: spec.type === "boolean" ? "boolean" : "string",
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.type === "list" ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: parseOptions, allowPositionals: true, strict: true });
  } catch (error) {
    const text = (error as Error).message;
    const option = /'(-[^']*)'/.exec(text)?.[1] ?? "";
    const reason = /argument missing|requires an argument/i.test(text)
      ? `option ${option.split(" ")[0]} needs a value`
      : /unknown option/i.test(text)
      ? `unknown option ${option}`
      : text.split("\n")[0];
    throw new UsageError(`${program}: ${reason} (see ${program} --help)`);
  }
  const flags = parsed.values as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  for (const spec of specs) if (spec.default !== undefined) options[spec.key] = spec.default;

  const configPath = flags["config"] as string | undefined;
  if (configPath) {
    const values = fileValues
      ? await fileValues(configPath)
      : await readConfigFile(configPath, specs);
    Object.assign(options, values);
  }
  for (const spec of specs) {
    const value = spec.env ? Deno.env.get(spec.env) : undefined;
    if (value !== undefined && value !== "") {
      options[spec.key] = convert(spec, value, `$${spec.env}`);
    }
  }
  for (const spec of specs) {
    if (!spec.flag || !(spec.flag in flags)) continue;
    options[spec.key] = convert(spec, flags[spec.flag], `${program}: --${spec.flag}`);
  }
  return { options, positionals: parsed.positionals, configFile: configPath };
}

/** `--help` text: usage, every option with its default, and the configuration keys. */
export function helpText(usage: string, specs: OptionSpec[], epilogue: string): string {
  const rows = specs.filter((s) => s.flag && !s.secret).map((s) => {
    const name = (s.short ? `-${s.short}, ` : "    ") + `--${s.flag}` +
      (s.type === "boolean" ? "" : s.type === "enum" ? ` ${s.values!.join("|")}` : " VALUE");
    const def = s.defaultText ??
      (s.default !== undefined && s.type !== "boolean" ? String(s.default) : "");
    return `  ${name.padEnd(40)} ${s.help}${def ? ` (default: ${def})` : ""}`;
  });
  const keys = specs.filter((s) => !s.flagOnly).map((s) =>
    s.secret
      ? `  ${s.key.padEnd(18)} only from the environment (${s.env}) or ${s.key}File`
      : `  ${s.key.padEnd(18)} ${s.type === "enum" ? s.values!.join("|") : s.type}${
        s.env ? ` (env ${s.env})` : ""
      }`
  );
  return `usage: ${usage}\n\noptions:\n${
    rows.join("\n")
  }\n\nconfiguration file keys (--config FILE, JSON; a flag wins over the environment, which wins over the file):\n${
    keys.join("\n")
  }\n\n${epilogue}\n`;
}

/** The effective options as JSON, secrets redacted. */
export function printableConfig(specs: OptionSpec[], options: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    if (spec.flagOnly || options[spec.key] === undefined) continue;
    const value = options[spec.key];
    out[spec.key] = spec.secret
      ? "***"
      : typeof value === "string"
      ? value.replace(/\/\/([^/:@]*):[^/@]*@/, "//$1:***@")
      : value;
  }
  return JSON.stringify(out, null, 2);
}

/** Reads a one-line secret (a password, a token) from a file; the error names the setting and the file. */
export async function readSecretFile(path: string, setting: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${setting} ${path}: ${(error as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (!secret) throw new UsageError(`${setting} ${path} is empty`);
  return secret;
}

/** An HTTP client that trusts a private CA, from a PEM file. */
export async function httpClientWithCa(
  caFile: string | undefined,
): Promise<Deno.HttpClient | undefined> {
  if (!caFile) return undefined;
  try {
    return Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
  } catch (error) {
    throw new UsageError(`cannot use --ca-file ${caFile}: ${(error as Error).message}`);
  }
}
