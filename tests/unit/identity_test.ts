/**
 * File identity (`lib/source/identity.ts`) on real files: a file is known by its first bytes and
 * the bytes before a position, whatever its inode; the file id is fixed once the first line is
 * whole; stored documents compare files by id, else by device, inode and head.
 */
import assert from "node:assert/strict";
import {
  BEFORE_BYTES,
  beforeHash,
  beforeHashOf,
  type FileIdentity,
  headMatches,
  LEGACY_EXTRACT_IDENTITY,
  readIdentity,
  sameContent,
  sameFile,
  sameIdentity,
} from "../../lib/source/identity.ts";
import { LogFile } from "../../lib/source/log_file.ts";

const LINES = Array.from({ length: 40 }, (_, i) => `line ${i} of the log\n`).join("");

async function withFiles(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function identityOf(path: string, as?: { dev: number; ino: number }): Promise<FileIdentity> {
  using file = await Deno.open(path);
  return await readIdentity(file, as);
}

Deno.test("a copy of a file (another inode) has its text: sameContent, but not sameIdentity", async () => {
  await withFiles(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.log`, LINES);
    await Deno.copyFile(`${dir}/a.log`, `${dir}/a.log.1`);
    const original = await identityOf(`${dir}/a.log`);
    const copy = await identityOf(`${dir}/a.log.1`);
    assert.equal(sameIdentity(original, copy), false, "another inode");
    const at = {
      offset: 200,
      before: beforeHashOf(new TextEncoder().encode(LINES).subarray(200 - BEFORE_BYTES, 200)),
    };
    const file = await LogFile.open(`${dir}/a.log.1`);
    assert.equal(await sameContent(file, original, at), true);
    assert.equal(await headMatches(file, original), true);
    file.close();
  });
});

Deno.test("the same first bytes but other text before the position is another file", async () => {
  await withFiles(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.log`, LINES);
    const original = await identityOf(`${dir}/a.log`);
    const read = await LogFile.open(`${dir}/a.log`);
    const before = await beforeHash(read, 700);
    // Rewritten: the same head (the first 1 KiB is not all of it), other lines after.
    await Deno.writeTextFile(`${dir}/b.log`, LINES.slice(0, 300) + LINES.slice(300).toUpperCase());
    const other = await LogFile.open(`${dir}/b.log`);
    assert.equal(await sameContent(other, original, { offset: 700, before }), false);
    assert.equal(await sameContent(read, original, { offset: 700, before }), true);
    read.close();
    other.close();
  });
});

Deno.test("a young file's identity taken again keeps its device and inode, and gains a file id once a line is whole", async () => {
  await withFiles(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.log`, "partial");
    const young = await identityOf(`${dir}/a.log`);
    assert.equal(young.id, undefined, "no whole line: no file id yet");
    await Deno.writeTextFile(`${dir}/a.log`, " line\nmore\n", { append: true });
    const grown = await identityOf(`${dir}/a.log`, { dev: young.dev, ino: young.ino });
    assert.match(grown.id ?? "", /^[0-9a-f]{16}$/);
    assert.equal(sameIdentity(grown, young), true, "the head grew: the same file");
    assert.equal(sameFile(young, grown), true);
  });
});

Deno.test("a new file that got an old inode back is not the file that inode held, whichever is known by more bytes", async () => {
  // Found by the tail model (seed 844269095): a log replaced by a copy of itself freed its inode,
  // the empty file logrotate then created got it back, and a batch of the renamed copy (still
  // named by the inode first seen) took the empty file's text for its own.
  await withFiles(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.log`, "first line\n");
    const old = await identityOf(`${dir}/a.log`);
    await Deno.writeTextFile(`${dir}/b.log`, "");
    const empty = await identityOf(`${dir}/b.log`, old);
    assert.equal(sameIdentity(empty, old), false, "known by fewer bytes than the old file was");
    await Deno.writeTextFile(`${dir}/b.log`, "other\n");
    const other = await identityOf(`${dir}/b.log`, old);
    assert.equal(sameIdentity(other, old), false, "another first line: another file id");
    assert.equal(sameIdentity(old, old), true);
  });
});

Deno.test("stored files compare by file id where both have one, else by device, inode and head", () => {
  const a: FileIdentity = { dev: 1, ino: 2, head: "aaaa", headLength: 4, id: "00000000000000aa" };
  assert.equal(sameFile(a, { id: "00000000000000aa" }), true);
  assert.equal(sameFile(a, { id: "00000000000000bb" }), false);
  assert.equal(sameFile(a, { ...a, id: undefined }), true);
  assert.equal(sameFile(a, { ...a, id: undefined, ino: 3 }), false);
  assert.equal(
    sameFile({ id: "00000000000000aa" }, { dev: 1, ino: 2, head: "x", headLength: 1 }),
    false,
  );
  // Extracts of the earlier form name no file: one file per source and generation, as before.
  assert.equal(sameFile(LEGACY_EXTRACT_IDENTITY, a), true);
});
