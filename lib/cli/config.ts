/**
 * Options from one table: command-line flags, a JSON configuration file, the environment, and
 * defaults, with errors that name the option, the file and the fix. A flag wins over the
 * environment, which wins over the file. Secrets never come from a flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OptionSpec, resolveOptions } from "./config.ts";
 * const specs: OptionSpec[] = [
 *   { key: "flushMs", flag: "flush", type: "duration", min: 1, default: 50, help: "..." },
 * ];
 * const { options, positionals, origins } = await resolveOptions("capture", specs, [
 *   "--flush",
 *   "2s",
 *   "app.log",
 * ]);
 * assert.equal(options.flushMs, 2000);
 * assert.equal(origins.flushMs, "--flush");
 * assert.deepEqual(positionals, ["app.log"]);
 * ```
 * @module
 */
import { UsageError } from "../base/errors.ts";
import { FlagError, type FlagSpec, type ParsedFlags, parseFlags } from "./flags.ts";
import { redactUrl } from "../base/redact.ts";
import { formatBytes, formatDuration, parseBytes, parseDuration } from "../base/units.ts";

/** One option: its configuration key, its flag, its type and default, and its help text. */
export interface OptionSpec {
  /** Key in the configuration file, and in the resolved options. */
  key: string;
  /** Long flag, without `--`; omitted for configuration-only settings. */
  flag?: string;
  /** The one-letter flag, if any. */
  short?: string;
  /**
   * `duration` is milliseconds, given as `250ms`, `5s`, `2m` or `1h` (a bare number is
   * milliseconds); `bytes` is a size, given as `512`, `64KiB`, `1MiB` or `1GiB` (`K`, `M`, `G` are
   * the same; `KB`, `MB`, `GB` are powers of 1000).
   */
  type: "string" | "integer" | "boolean" | "enum" | "list" | "duration" | "bytes";
  /** The only values accepted, when the option is a choice. */
  values?: readonly string[];
  /** Other flags that set it (earlier names, kept working); not shown in `--help`. */
  aliases?: readonly string[];
  /** Other keys that set it in a configuration file (earlier names, kept working). */
  keyAliases?: readonly string[];
  /** What a string value is, in `--help`: `URL`, `FILE`, `DIR`, `HOST:PORT`, `NAME`. */
  placeholder?: string;
  /** The `--help` section it is listed in. */
  section?: string;
  /** A duration that may be `forever` (Infinity). */
  forever?: boolean;
  /** Smallest allowed integer. */
  min?: number;
  /** Largest allowed integer. */
  max?: number;
  /** The value when nothing sets it. */
  default?: unknown;
  /** How the default is shown in `--help` when it is computed. */
  defaultText?: string;
  /** Environment variable that sets it. */
  env?: string;
  /** The line of `--help` that says what it does. */
  help: string;
  /** Redacted by `--print-config`; never settable by a flag. */
  secret?: boolean;
  /** A flag that is not a setting (`--help`, `--config`, ...): not allowed in the file. */
  flagOnly?: boolean;
}

/** The type an option's value resolves to. */
export type OptionValue<S extends OptionSpec> = S["type"] extends "boolean" ? boolean
  : S["type"] extends "integer" | "duration" | "bytes" ? number
  : S["type"] extends "list" ? string[]
  : S extends { type: "enum"; values: readonly (infer V)[] } ? V
  : string;

/**
 * The resolved options of a table declared `as const`, typed by key: an option with a default is
 * always there; one without may be `undefined`.
 */
export type Settings<T extends readonly OptionSpec[]> = {
  [S in T[number] as S["key"]]: S extends { default: unknown } ? OptionValue<S>
    : OptionValue<S> | undefined;
};

/** Resolved options by key, and the positional arguments. */
export interface Resolved<O = Record<string, unknown>> {
  /** The resolved options. */
  options: O;
  /** The arguments that are not options. */
  positionals: string[];
  /** Which file the configuration came from, if any. */
  configFile?: string;
  /** Where each set option's value came from: `default`, `file PATH`, `$VAR`, `--flag`. */
  origins: Record<string, string>;
}

function describe(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value);
}

/** What a value of a spec must be, for its error message. */
function expectation(spec: OptionSpec): string {
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const range = spec.max !== undefined
    ? ` from ${min} to ${max}`
    : min === 0
    ? " ≥ 0"
    : min === 1
    ? ""
    : ` ≥ ${min}`;
  switch (spec.type) {
    case "boolean":
      return "true or false";
    case "string":
      return "a non-empty string";
    case "enum":
      return `one of ${spec.values!.join(", ")}`;
    case "list":
      return "a string or a list of strings";
    case "duration":
      return `a duration such as 500ms, 5s or 2m${min > 1 ? `, at least ${min} ms` : ""}${
        spec.forever ? ', or "forever"' : ""
      }`;
    case "bytes":
      return `a size such as 65536, 64KiB or 1MiB${range}`;
    case "integer":
      return spec.max !== undefined
        ? `an integer${range}`
        : min === 1
        ? "a positive integer"
        : min === 0
        ? "a whole number ≥ 0"
        : `an integer${range}`;
  }
}

/**
 * Checks and converts one value; `where` names its origin in errors. Text (a flag, the
 * environment) is read as its type says; a configuration file's JSON must have the type itself:
 * `"batchLines": "100"` is an error there, not a number.
 */
function convert(spec: OptionSpec, value: unknown, where: string, fromText: boolean): unknown {
  const fail = () =>
    new UsageError(`${where} must be ${expectation(spec)}, got ${describe(value)}`);
  const inRange = (n: number) =>
    Number.isSafeInteger(n) && n >= (spec.min ?? 0) && n <= (spec.max ?? Number.MAX_SAFE_INTEGER);
  switch (spec.type) {
    case "boolean":
      if (typeof value === "boolean") return value;
      throw fail();
    case "string":
      if (typeof value === "string" && value !== "") return value;
      throw fail();
    case "enum":
      if (typeof value === "string" && spec.values!.includes(value)) return value;
      throw fail();
    case "list":
      if (typeof value === "string" && value !== "") return [value];
      if (Array.isArray(value) && value.every((v) => typeof v === "string" && v !== "")) {
        return value;
      }
      throw fail();
    case "integer": {
      const n = fromText && typeof value === "string" && /^-?\d+$/.test(value)
        ? Number(value)
        : value;
      if (typeof n === "number" && inRange(n)) return n;
      throw fail();
    }
    case "duration":
    case "bytes": {
      if (spec.type === "duration" && spec.forever && value === "forever") return Infinity;
      const parse = spec.type === "duration" ? parseDuration : parseBytes;
      // In a file, a number is the unit's own count; text with its unit is read anywhere.
      const n = typeof value === "number"
        ? value
        : typeof value === "string" && (fromText || /[a-z]/i.test(value))
        ? parse(value)
        : NaN;
      if (inRange(n)) return n;
      throw fail();
    }
  }
}

/** How many single-character edits turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j] + 1,
        next[j - 1] + 1,
        row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length];
}

/**
 * The known name closest to `name`, when it is close enough to be what was meant (case, `_` and
 * `-` aside, a few letters off), else `null`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closestName } from "./config.ts";
 * assert.equal(closestName("batch_lines", ["batchLines", "batchBytes"]), "batchLines");
 * assert.equal(closestName("yeer", ["year", "mode"]), "year");
 * assert.equal(closestName("colour", ["year", "mode"]), null);
 * ```
 */
export function closestName(name: string, known: readonly string[]): string | null {
  const plain = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(plain(name), plain(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(plain(name).length / 4)) ? best : null;
}

/** Reads a JSON configuration file: an object whose keys are all known settings. */
export async function readConfigFile(
  path: string,
  specs: readonly OptionSpec[],
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
    // `$origin` and other `$` keys are notes (what `--print-config` adds), not settings.
    if (key.startsWith("$")) continue;
    const spec = specs.find((s) => (s.key === key || s.keyAliases?.includes(key)) && !s.flagOnly);
    if (spec?.secret) {
      throw new UsageError(
        `${name}: "${key}" cannot be set in a configuration file: use ${
          spec.env ?? "the environment"
        } or ${key}File`,
      );
    }
    if (!spec) {
      const known = specs.filter((s) => !s.flagOnly && !s.secret);
      const keys = known.map((s) => s.key);
      // An earlier key's near miss is told by the key's name now.
      const byName = new Map(
        known.flatMap((s) => [s.key, ...s.keyAliases ?? []].map((k) => [k, s.key])),
      );
      const close = closestName(key, [...byName.keys()]);
      const near = close === null ? null : byName.get(close);
      throw new UsageError(
        `${name}: unknown key "${key}"${near ? `; did you mean "${near}"?` : ""} (known keys: ${
          keys.join(", ")
        })`,
      );
    }
    // An empty value switches the setting off: back to its default, or unset.
    out[spec.key] = value === "" ? OFF : convert(spec, value, `${name}: "${key}"`, false);
  }
  return out;
}

/** What an empty value (`--status-listen ""`, `"statusListen": ""`) stands for: the setting off. */
export const OFF: unique symbol = Symbol("off");

/**
 * Resolves options: defaults, then the configuration file (`--config`, or `fileValues` read by the
 * caller), then the environment, then flags.
 */
export async function resolveOptions<const T extends readonly OptionSpec[]>(
  program: string,
  specs: T,
  args: string[],
  fileValues?: (path: string) => Promise<Record<string, unknown>>,
): Promise<Resolved<Settings<T>>> {
  const parseOptions: Record<string, FlagSpec> = {};
  const byFlag = new Map<string, OptionSpec>();
  for (const spec of specs) {
    if (!spec.flag || spec.secret) continue;
    for (const flag of [spec.flag, ...spec.aliases ?? []]) {
      byFlag.set(flag, spec);
      parseOptions[flag] = {
        type: spec.type === "boolean" ? "boolean" : "string",
        ...(spec.short && flag === spec.flag ? { short: spec.short } : {}),
        ...(spec.type === "list" ? { multiple: true } : {}),
      };
    }
  }
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(args, parseOptions);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    throw new UsageError(
      `${program}: ${flagProblem(error, [...byFlag.keys()])} (see ${program} --help)`,
    );
  }
  const flags = parsed.values as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  for (const spec of specs) {
    if (spec.default === undefined) continue;
    options[spec.key] = spec.default;
    origins[spec.key] = "default";
  }
  /** Sets `key`, or switches it off (its default again, or unset) for an empty value. */
  function setOrOff(key: string, value: unknown, origin: string): void {
    if (value !== OFF) {
      options[key] = value;
      origins[key] = origin;
      return;
    }
    const spec = specs.find((s) => s.key === key);
    if (spec?.default !== undefined) options[key] = spec.default;
    else delete options[key];
    origins[key] = `${origin} (empty: off)`;
  }

  const configPath = flags["config"] as string | undefined;
  if (configPath) {
    const values = fileValues
      ? await fileValues(configPath)
      : await readConfigFile(configPath, specs);
    for (const [key, value] of Object.entries(values)) {
      setOrOff(key, value, `file ${configPath}`);
    }
  }
  for (const spec of specs) {
    const value = spec.env ? Deno.env.get(spec.env) : undefined;
    if (value !== undefined && value !== "") {
      options[spec.key] = convert(spec, value, `$${spec.env}`, true);
      origins[spec.key] = `$${spec.env}`;
    }
  }
  for (const [flag, value] of Object.entries(flags)) {
    const spec = byFlag.get(flag);
    if (!spec) continue;
    const empty = value === "" || (Array.isArray(value) && value.length === 1 && value[0] === "");
    setOrOff(
      spec.key,
      empty ? OFF : convert(spec, value, `${program}: --${flag}`, true),
      `--${flag}`,
    );
  }
  // Each value was checked against its spec by `convert`: the table's types hold.
  return {
    options: options as Settings<T>,
    positionals: parsed.positionals,
    configFile: configPath,
    origins,
  };
}

/** What is wrong with the flags, with the flag meant when it is clear. */
function flagProblem(error: FlagError, known: string[]): string {
  if (error.problem !== "unknown") return error.message;
  const near = closestName(error.flag.replace(/^-+/, ""), known);
  return `${error.message}${near ? `; did you mean --${near}?` : ""}`;
}

/** Help lines are kept to this width, for an 80- or 100-column terminal. */
const HELP_WIDTH = 99;

/** `text` cut into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/** The placeholder of an option's value in `--help`: `URL`, `N`, `DURATION`, `a|b`. */
function placeholder(spec: OptionSpec): string {
  switch (spec.type) {
    case "boolean":
      return "";
    case "enum":
      return spec.values!.join("|");
    case "integer":
      return spec.placeholder ?? "N";
    case "duration":
      return "DURATION";
    case "bytes":
      return "BYTES";
    default:
      return spec.placeholder ?? "VALUE";
  }
}

/** A default as `--help` shows it: in units for durations and sizes. */
function shownDefault(spec: OptionSpec): string {
  if (spec.defaultText) return spec.defaultText;
  if (spec.default === undefined || spec.type === "boolean") return "";
  if (spec.type === "duration") return formatDuration(spec.default as number);
  if (spec.type === "bytes") return formatBytes(spec.default as number);
  return String(spec.default);
}

/**
 * `--help` text: usage, the options by section (in `order`, any other after) with their defaults
 * (lines under 100 columns), the configuration keys, and `epilogue` (examples, exit codes).
 */
export function helpText(
  usage: string,
  specs: readonly OptionSpec[],
  epilogue: string,
  order: readonly string[] = [],
): string {
  const NAME_WIDTH = 32;
  const sections = new Map<string, string[]>();
  for (const spec of specs) {
    if (!spec.flag || spec.secret) continue;
    const value = placeholder(spec);
    const name = (spec.short ? `-${spec.short}, ` : "    ") + `--${spec.flag}` +
      (value ? ` ${value}` : "");
    const def = shownDefault(spec);
    const help = wrap(
      `${spec.help}${def ? ` (default: ${def})` : ""}`,
      HELP_WIDTH - NAME_WIDTH - 3,
    );
    const first = name.length <= NAME_WIDTH
      ? [`  ${name.padEnd(NAME_WIDTH)} ${help.shift()}`]
      : [`  ${name}`];
    const rows = [...first, ...help.map((line) => `${" ".repeat(NAME_WIDTH + 3)}${line}`)];
    const section = spec.section ?? "options";
    sections.set(section, [...sections.get(section) ?? [], ...rows]);
  }
  const keys = specs.filter((s) => !s.flagOnly).map((s) =>
    s.secret
      ? `  ${s.key.padEnd(18)} only from the environment (${s.env}) or ${s.key}File`
      : `  ${s.key.padEnd(18)} ${
        s.type === "enum"
          ? s.values!.join("|")
          : s.type === "duration"
          ? 'duration (a number of ms, or "5s")'
          : s.type === "bytes"
          ? 'size (a number of bytes, or "1MiB")'
          : s.type
      }${s.env ? ` (env ${s.env})` : ""}`
  );
  const rank = (title: string) => (order.indexOf(title) + order.length + 1) % (order.length + 1);
  const body = [...sections].sort(([a], [b]) => rank(a) - rank(b))
    .map(([title, rows]) => `${title}:\n${rows.join("\n")}`);
  const fileKeys = specs.some((s) => s.key === "config")
    ? [
      `configuration file keys (--config FILE, JSON):\n${
        wrap(
          "A flag wins over the environment, which wins over the file. Durations and sizes take " +
            "units (5s, 1MiB) in flags and files alike.",
          HELP_WIDTH - 2,
        ).map((line) => `  ${line}`).join("\n")
      }\n${keys.join("\n")}`,
    ]
    : [];
  return [`usage: ${usage}`, ...body, ...fileKeys, epilogue].join("\n\n") + "\n";
}

/**
 * The effective options as JSON, secrets redacted, with a `$origin` member saying where each
 * value came from (a file given back as `--config` skips it). `origins` as
 * {@linkcode resolveOptions} gives them; values set by the caller say so in `extra`.
 */
export function printableConfig(
  specs: readonly OptionSpec[],
  options: Record<string, unknown>,
  origins: Record<string, string> = {},
): string {
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const spec of specs) {
    if (spec.flagOnly || options[spec.key] === undefined) continue;
    const value = options[spec.key];
    out[spec.key] = spec.secret
      ? "***"
      : typeof value === "string"
      ? redactUrl(value)
      : value === Infinity
      ? "forever"
      : value;
    from[spec.key] = origins[spec.key] ?? "default";
  }
  return JSON.stringify({ ...out, $origin: from }, null, 2);
}

/** The certificates of a private CA, from a PEM file; checked now, not at the first connection. */
export async function caCertsFrom(caFile: string | undefined): Promise<string[] | undefined> {
  if (!caFile) return undefined;
  try {
    const caCerts = [await Deno.readTextFile(caFile)];
    Deno.createHttpClient({ caCerts }).close(); // parses them
    return caCerts;
  } catch (error) {
    throw new UsageError(`cannot use --ca-file ${caFile}: ${(error as Error).message}`);
  }
}
