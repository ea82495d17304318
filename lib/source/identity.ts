/**
 * File identity (a fingerprint, as Vector's file source calls it): a file is known by its text
 * (SPEC §3), a hash of its first bytes and, for a position in it, of the bytes before that
 * position ({@linkcode sameContent}). The device and inode it was first seen with are kept too:
 * its file id (SPEC §4) is made from them, and a file with no whole line yet is known by them alone.
 *
 * A file shorter than {@linkcode HEAD_BYTES} is hashed over what it has, and the length hashed is
 * kept, so that the same file can still be recognized after it grew.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headMatches, readIdentity } from "./identity.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "first line\n");
 * using file = await Deno.open(path);
 * const id = await readIdentity(file);
 * assert.equal(await headMatches(file, id), true);
 * await Deno.writeTextFile(path, "rewritten!\n"); // same inode, other first bytes
 * assert.equal(await headMatches(file, id), false);
 * await Deno.remove(path);
 * ```
 * @module
 */

import { sha256Hex } from "../base/sha256.ts";

/** Which file: device and inode, and the hash of its first `headLength` bytes. */
export interface FileIdentity {
  /** The device the file was first seen on. */
  dev: number;
  /** Its inode there. */
  ino: number;
  /** Hex SHA-256 (first 16 bytes) of the first `headLength` bytes. */
  head: string;
  /** How many of its first bytes the identity was taken over. */
  headLength: number;
  /**
   * The file id of SPEC §4 ({@linkcode fileIdOf}), once the first line is complete; it goes into
   * extract names. Absent in cache files of earlier versions.
   */
  id?: string;
}

/**
 * How a stored document names the file its lines came from: a full identity (capture, all-in-one)
 * or the file id alone (the monitor, from an extract's name).
 */
export type FileRef = FileIdentity | { id: string };

/** The identity the monitor gave extracts named without a file id (SPEC §4, the earlier form). */
export const LEGACY_EXTRACT_IDENTITY: FileIdentity = {
  dev: 0,
  ino: 0,
  head: "extract",
  headLength: 0,
};

/** How many bytes of the first line the file id covers. */
export const FILE_ID_LINE_BYTES = 256;

/**
 * The file id of SPEC §4: 16 hex digits, the first 64 bits of the SHA-256 of `DEV:INO:` and the
 * file's first line (without its newline, at most its first 256 bytes). `null` while that line
 * is neither complete nor 256 bytes long. `head` is the file's first bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileIdOf } from "./identity.ts";
 * const head = new TextEncoder().encode("07:04:42 02/15  V.1.2233\nmore");
 * assert.match(fileIdOf(2049, 1234567, head)!, /^[0-9a-f]{16}$/);
 * assert.equal(fileIdOf(2049, 1234567, head.subarray(0, 8)), null);
 * ```
 */
export function fileIdOf(dev: number, ino: number, head: Uint8Array): string | null {
  const newline = head.subarray(0, FILE_ID_LINE_BYTES).indexOf(10);
  if (newline < 0 && head.length < FILE_ID_LINE_BYTES) return null;
  const line = head.subarray(0, newline < 0 ? FILE_ID_LINE_BYTES : newline);
  const prefix = new TextEncoder().encode(`${dev}:${ino}:`);
  const text = new Uint8Array(prefix.length + line.length);
  text.set(prefix);
  text.set(line, prefix.length);
  return sha256Prefix(text, 8);
}

/** How many first bytes the head hash covers once the file has that many. */
export const HEAD_BYTES = 1024;

/** An open file, as much of it as identity needs. */
export interface IdentityFile {
  /** The file's size, device and inode. */
  stat(): Promise<Deno.FileInfo>;
  /** Reads from the current position into `buffer`: bytes read, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Moves the position; resolves with the new one. */
  seek(offset: number | bigint, whence: Deno.SeekMode): Promise<number>;
}

async function readHead(file: IdentityFile, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const buffer = new Uint8Array(length);
  // A separate position is not available on a Deno.FsFile, so the caller's position is restored.
  const position = await file.seek(0, Deno.SeekMode.Current);
  await file.seek(0, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null || n === 0) break;
    filled += n;
  }
  await file.seek(position, Deno.SeekMode.Start);
  return buffer.subarray(0, filled);
}

function hashHex(bytes: Uint8Array): string {
  return sha256Prefix(bytes, 16);
}

/** The first `bytes` bytes of the SHA-256 of `data`, in hex. */
function sha256Prefix(data: Uint8Array, bytes: number): string {
  return sha256Hex(data).slice(0, bytes * 2);
}

/** A file read by the offsets of its text: a plain file, or a compressed one ({@linkcode LogFile}). */
export interface TextFile {
  /** The device the file was first seen on. */
  dev: number;
  /** Its inode there. */
  ino: number;
  /** The size of its text. */
  size(): Promise<number>;
  /** Up to `length` bytes of its text from `offset`, leaving the file's read position alone. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
}

function isTextFile(file: IdentityFile | TextFile): file is TextFile {
  return "readAt" in file;
}

/**
 * The identity of an open file now (for a compressed one, of its text, under its own inode); `as`
 * gives the device and inode it was first seen with, which a copy of it keeps.
 */
export async function readIdentity(
  file: IdentityFile | TextFile,
  as?: { dev: number; ino: number },
): Promise<FileIdentity> {
  let dev: number, ino: number, head: Uint8Array<ArrayBuffer>;
  if (isTextFile(file)) {
    ({ dev, ino } = file);
    head = (await file.readAt(0, HEAD_BYTES)).slice();
  } else {
    const info = await file.stat();
    head = await readHead(file, Math.min(HEAD_BYTES, info.size));
    dev = info.dev ?? 0;
    ino = info.ino ?? 0;
  }
  if (as) ({ dev, ino } = as);
  const id = fileIdOf(dev, ino, head);
  return { dev, ino, head: hashHex(head), headLength: head.length, ...(id ? { id } : {}) };
}

/** Whether the first `identity.headLength` bytes of the file still hash to `identity.head`. */
export async function headMatches(
  file: IdentityFile | TextFile,
  identity: FileIdentity,
): Promise<boolean> {
  const head = isTextFile(file)
    ? (await file.readAt(0, identity.headLength)).slice()
    : await readHead(file, identity.headLength);
  return head.length === identity.headLength && hashHex(head) === identity.head;
}

/** How many bytes before a position are compared, to tell a file from another with the same head. */
export const BEFORE_BYTES = 64;

/**
 * The hash of the (up to {@linkcode BEFORE_BYTES}) bytes before `offset`: with the head, what says
 * that a file holds the text a position was taken in, however it was copied, restored or renamed.
 */
export async function beforeHash(file: TextFile, offset: number): Promise<string> {
  const from = Math.max(0, offset - BEFORE_BYTES);
  return beforeHashOf(await file.readAt(from, offset - from));
}

/** {@linkcode beforeHash} of bytes at hand: `bytes` ends at the position. */
export function beforeHashOf(bytes: Uint8Array): string {
  return hashHex(bytes.slice(Math.max(0, bytes.length - BEFORE_BYTES)));
}

/**
 * Whether `file` holds the text `identity` was taken from (a fingerprint, as Vector's file source
 * has it): the same first bytes and, where `at` says so, at least `at.offset` bytes with the same
 * bytes before it. Device and inode do not count: a copy, a restore from a backup, the copy
 * `copytruncate` leaves and the file compressed after its rotation are the same file, while a new
 * file that got an old inode back is not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogFile } from "./log_file.ts";
 * import { beforeHash, readIdentity, sameContent } from "./identity.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/app.log`, "first\nsecond\n");
 * const original = await LogFile.open(`${dir}/app.log`);
 * const identity = await readIdentity(original);
 * const at = { offset: 13, before: await beforeHash(original, 13) };
 * await Deno.copyFile(`${dir}/app.log`, `${dir}/app.log.1`); // another inode, the same text
 * const copy = await LogFile.open(`${dir}/app.log.1`);
 * assert.equal(await sameContent(copy, identity, at), true);
 * await Deno.writeTextFile(`${dir}/app.log.1`, "first\nsecond\nthird\n"); // grown: still it
 * assert.equal(await sameContent(copy, identity, at), true);
 * await Deno.writeTextFile(`${dir}/app.log.1`, "first\nsecant\n"); // the same head, not the same text
 * assert.equal(await sameContent(copy, identity, at), false);
 * original.close();
 * copy.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function sameContent(
  file: TextFile,
  identity: FileIdentity,
  at?: { offset: number; before?: string },
): Promise<boolean> {
  // An empty file's identity has no text to know it by: only its own inode is it.
  if (identity.headLength === 0) return file.dev === identity.dev && file.ino === identity.ino;
  if (!await headMatches(file, identity)) return false;
  if (!at || at.offset <= identity.headLength) return true;
  if (at.before === undefined) return true;
  return await beforeHash(file, at.offset) === at.before;
}

/**
 * Whether `now` can be the file `then` named: an identity of one file is taken again only over
 * more of its bytes, so `now` knows at least as many, and the same first line where both have a
 * whole one. The device and inode alone do not tell: a new file can get a freed inode back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sameIdentity } from "./identity.ts";
 * const young = { dev: 1, ino: 7, head: "9a", headLength: 3 };
 * const grown = { dev: 1, ino: 7, head: "5c", headLength: 40, id: "00000000000000aa" };
 * assert.equal(sameIdentity(grown, young), true);
 * assert.equal(sameIdentity(young, grown), false); // fewer bytes than it had: a new file
 * ```
 */
export function sameIdentity(now: FileIdentity, then: FileIdentity): boolean {
  if (now.dev !== then.dev || now.ino !== then.ino) return false;
  if (now.id !== undefined && then.id !== undefined) return now.id === then.id;
  if (now.headLength === then.headLength) return now.head === then.head;
  return now.headLength > then.headLength && then.id === undefined;
}

function isLegacyExtract(file: FileRef): boolean {
  return "head" in file && file.head === LEGACY_EXTRACT_IDENTITY.head && file.dev === 0;
}

/**
 * Whether two files as stored documents name them are the same (the identity rule of SPEC §3):
 * by file id where both have one, else by device, inode and head. Extracts named without a file
 * id count as one file per source and generation, as they always did.
 */
export function sameFile(a: FileRef, b: FileRef): boolean {
  if (isLegacyExtract(a) || isLegacyExtract(b)) return true;
  if (a.id !== undefined && b.id !== undefined) return a.id === b.id;
  return "dev" in a && "dev" in b && (sameIdentity(a, b) || sameIdentity(b, a));
}
