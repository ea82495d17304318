/**
 * File identity (a fingerprint, as Vector's file source calls it): device, inode and a hash of the
 * file's first bytes. Device and inode find a renamed file; the head hash notices a file truncated
 * and rewritten in place (copytruncate), or an inode number reused by a new file.
 *
 * A file shorter than {@linkcode HEAD_BYTES} is hashed over what it has, and the length hashed is
 * kept, so that the same file can still be recognized after it grew.
 *
 * @example
 * ```ts
 * import { readIdentity, matchesIdentity } from "./identity.ts";
 * using file = await Deno.open("app.log");
 * const id = await readIdentity(file);
 * await matchesIdentity(file, id); // true until the file is replaced or rewritten
 * ```
 * @module
 */

/** Which file: device and inode, and the hash of its first `headLength` bytes. */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** Hex SHA-256 (first 16 bytes) of the first `headLength` bytes. */
  head: string;
  headLength: number;
}

/** How many first bytes the head hash covers once the file has that many. */
export const HEAD_BYTES = 1024;

/** An open file, as much of it as identity needs. */
export interface IdentityFile {
  stat(): Promise<Deno.FileInfo>;
  read(buffer: Uint8Array): Promise<number | null>;
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

async function hashHex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The identity of an open file now. */
export async function readIdentity(file: IdentityFile): Promise<FileIdentity> {
  const info = await file.stat();
  const head = await readHead(file, Math.min(HEAD_BYTES, info.size));
  return {
    dev: info.dev ?? 0,
    ino: info.ino ?? 0,
    head: await hashHex(head),
    headLength: head.length,
  };
}

/**
 * Whether the open file is still the one `identity` describes: same device and inode, and the same
 * first `identity.headLength` bytes.
 */
export async function matchesIdentity(
  file: IdentityFile,
  identity: FileIdentity,
): Promise<boolean> {
  const info = await file.stat();
  if ((info.dev ?? 0) !== identity.dev || (info.ino ?? 0) !== identity.ino) return false;
  return await headMatches(file, identity);
}

/** Whether the first `identity.headLength` bytes of the file still hash to `identity.head`. */
export async function headMatches(file: IdentityFile, identity: FileIdentity): Promise<boolean> {
  const head = await readHead(file, identity.headLength);
  return head.length === identity.headLength && await hashHex(head) === identity.head;
}

/** Whether two identities name the same file (the shorter head is compared when they differ). */
export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino &&
    (a.headLength !== b.headLength || a.head === b.head);
}
