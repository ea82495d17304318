/**
 * Verifying a tail-only capture, whose host cannot reach CouchDB: capture writes a manifest of
 * what the log holds (each file's identity, size and where it stops being captured yet;
 * kilobytes, whatever the log), hands it over like an extract (into the drop directory's
 * `manifests/` folder, or over HTTPS to the receiver, which puts it there), and `monitor verify`
 * checks it against CouchDB. A range still in an extract waiting in the drop directory is not
 * yet captured, not missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestOf, parseManifest, verifyManifest } from "./verify_manifest.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.log`, "line one\nline two\n");
 * const manifest = await manifestOf({ path: `${dir}/a.log`, source: "avl1", cachePath: `${dir}/c.json` });
 * const db = { allDocs: () => Promise.resolve([]), getDocument: () => Promise.resolve(null) };
 * const fileId = manifest.files[0].identity.id!;
 * const waiting = [{ source: "avl1", generation: 0, start: 9, end: 18, fileId }];
 * const report = await verifyManifest(parseManifest(JSON.stringify(manifest)), { db, mode: "feed", waiting });
 * assert.deepEqual(report.files[0].missing.map((r) => [r.start, r.end]), [[0, 9]]);
 * assert.equal(report.files[0].pending, 9);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { FileIdentity } from "../source/identity.ts";
import type { ExtractRange } from "../sink/batch.ts";
import {
  localFiles,
  type LogPlace,
  newCoverage,
  verifiedFile,
  verifyFiles,
  type VerifyReport,
  type VerifySettings,
} from "./verify.ts";

/** Where manifests wait in a drop directory: one a source, `SOURCE.json`. */
export const MANIFEST_FOLDER = "manifests";

/** A manifest holds a few lines a file of the log; more than this is not one. */
export const MAX_MANIFEST_BYTES = 1 << 20;

/** What a tail-only host knows of its log; see the module doc. */
export interface Manifest {
  /** The format's version. */
  version: 1;
  /** The source the documents name. */
  source: string;
  /** When it was written (ISO 8601). */
  written: string;
  /** The log's files, newest first. */
  files: {
    name: string;
    identity: FileIdentity;
    size: number;
    mtime: number;
    /** Where it stops being captured yet; `null`: all of it was. */
    pendingFrom: number | null;
  }[];
}

/** The manifest of the log (`capture verify` on a tail-only host). */
export async function manifestOf(settings: LogPlace & { source: string }): Promise<Manifest> {
  const files = await localFiles(settings);
  for (const file of files) file.log?.close();
  return {
    version: 1,
    source: settings.source,
    written: new Date().toISOString(),
    files: files.map((f) => ({
      name: f.coverage.name,
      identity: f.identity,
      size: f.coverage.size,
      mtime: f.mtime,
      pendingFrom: Number.isFinite(f.pendingFrom) ? f.pendingFrom : null,
    })),
  };
}

/** The manifest's file name in the `manifests/` folder: `SOURCE.json`. */
export function manifestName(source: string): string {
  return `${source}.json`;
}

/** A manifest's text, checked; throws an error saying what is wrong. */
export function parseManifest(text: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  const fileOk = (f: Manifest["files"][number]) =>
    typeof f?.name === "string" && typeof f.identity?.head === "string" &&
    Number.isSafeInteger(f.size) && Number.isFinite(f.mtime);
  if (
    manifest?.version !== 1 || typeof manifest.source !== "string" ||
    !Array.isArray(manifest.files) || !manifest.files.every(fileOk)
  ) {
    throw new Error("not a manifest of capture verify (version 1)");
  }
  return manifest;
}

/**
 * Verifies a manifest's files against what CouchDB holds (`monitor verify`); `waiting`: the
 * extracts still in the drop directory, whose ranges are not yet captured.
 */
export async function verifyManifest(
  manifest: Manifest,
  settings: Pick<VerifySettings, "db" | "mode" | "since"> & { waiting?: ExtractRange[] },
): Promise<VerifyReport> {
  const files = manifest.files.map((f) => {
    const file = verifiedFile(newCoverage(f.name, f.identity, f.size), null, f.identity, f.mtime);
    file.pendingFrom = f.pendingFrom ?? Infinity;
    file.waiting = (settings.waiting ?? [])
      .filter((w) => w.source === manifest.source && w.fileId === f.identity.id)
      .sort((a, b) => a.start - b.start);
    return file;
  });
  return await verifyFiles(files, { ...settings, source: manifest.source });
}
