import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { readIdentity } from "../../lib/source/identity.ts";
import { LogFile } from "../../lib/source/log_file.ts";
import {
  defaultRotatedGlobs,
  findRotated,
  globFiles,
  rotatedAfter,
  rotatedNames,
} from "../../lib/source/rotated.ts";

const open = (name: string) => LogFile.open(name).catch(() => null);

/** Writes `path` with `text`, its modification time `seconds` after the epoch. */
async function writtenAt(path: string, text: string | Uint8Array, seconds: number): Promise<void> {
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  await Deno.utime(path, seconds, seconds);
}

async function identityOf(path: string) {
  const file = await LogFile.open(path);
  try {
    return await readIdentity(file);
  } finally {
    file.close();
  }
}

/**
 * The names (in `dir`) of the files `rotatedAfter` finds after `since` (seconds) for `app.log`,
 * leaving out `read`; the files are closed.
 */
async function namesRotatedAfter(
  dir: string,
  since: number,
  read: Parameters<typeof rotatedAfter>[3],
  tiedAfter?: string,
): Promise<string[]> {
  const log = `${dir}/app.log`;
  const globs = defaultRotatedGlobs(log);
  const { files } = await rotatedAfter(log, globs, since * 1000, read, open, tiedAfter);
  for (const file of files) file.close();
  return files.map((f) => f.name.slice(dir.length + 1));
}

Deno.test("globs match in the file-name part only, and a missing folder has no files", async () => {
  const dir = await Deno.makeTempDir();
  for (const name of ["app.log", "app.log.1", "app.log-2026", "app.logger", "other.log.1"]) {
    await Deno.writeTextFile(`${dir}/${name}`, "x\n");
  }
  const found = (await Promise.all(defaultRotatedGlobs(`${dir}/app.log`).map(globFiles))).flat();
  assert.deepEqual(found.map((p) => p.slice(dir.length + 1)), ["app.log.1", "app.log-2026"]);
  assert.deepEqual(await globFiles(`${dir}/nowhere/app.log.*`), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("only logrotate's names are rotated files: a writer's .written, a .bak or a .swp are not", async () => {
  const dir = await Deno.makeTempDir();
  const names = [
    "app.log.1",
    "app.log.2.gz",
    "app.log-20121101",
    "app.log-20121102.bz2",
    "app.log.written",
    "app.log.bak",
    "app.log.swp",
    "app.log.1.bak",
  ];
  for (const name of names) await Deno.writeTextFile(`${dir}/${name}`, "x\n");
  const found = await rotatedNames(`${dir}/app.log`, defaultRotatedGlobs(`${dir}/app.log`));
  assert.deepEqual(found.map((p) => p.slice(dir.length + 1)).sort(), [
    "app.log-20121101",
    "app.log-20121102.bz2",
    "app.log.1",
    "app.log.2.gz",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the rotated file that holds the text sought is found by its content, not its name or inode", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/app.log`, "mine\nsecond\n");
  await Deno.writeTextFile(`${dir}/app.log.1`, "another file\n");
  const identity = await identityOf(`${dir}/app.log`);
  await Deno.rename(`${dir}/app.log`, `${dir}/app.log.2`);
  const globs = defaultRotatedGlobs(`${dir}/app.log`);
  const renamed = await findRotated(`${dir}/app.log`, globs, identity, {}, open);
  assert.equal(renamed.found?.name, `${dir}/app.log.2`);
  renamed.found?.close();
  // Compressed (another inode, its text gzip-encoded): the same file.
  const text = await Deno.readFile(`${dir}/app.log.2`);
  await Deno.remove(`${dir}/app.log.2`);
  await Deno.writeFile(`${dir}/app.log.2.gz`, gzipSync(text));
  const compressed = await findRotated(`${dir}/app.log`, globs, identity, { offset: 5 }, open);
  assert.equal(compressed.found?.name, `${dir}/app.log.2.gz`);
  assert.equal(compressed.found?.compression, "gzip");
  compressed.found?.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a file with the same first bytes but other text before the position is not the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/app.log`, "# header\none\n");
  const log = await LogFile.open(`${dir}/app.log`);
  const identity = await readIdentity(log);
  const { beforeHash } = await import("../../lib/source/identity.ts");
  const before = await beforeHash(log, 13);
  log.close();
  await Deno.writeTextFile(`${dir}/app.log.1`, "# header\ntwo\n");
  const globs = defaultRotatedGlobs(`${dir}/app.log`);
  const { found } = await findRotated(
    `${dir}/app.log`,
    globs,
    identity,
    { offset: 13, before },
    open,
  );
  assert.equal(found, null);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a compressor capture cannot read is named, not read", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/app.log`, "mine\n");
  const identity = await identityOf(`${dir}/app.log`);
  await Deno.remove(`${dir}/app.log`);
  await Deno.writeFile(`${dir}/app.log.1.bz2`, new Uint8Array([0x42, 0x5a, 0x68, 0x39, 1, 2]));
  const globs = defaultRotatedGlobs(`${dir}/app.log`);
  const { found, unreadable } = await findRotated(`${dir}/app.log`, globs, identity, {}, open);
  assert.equal(found, null);
  assert.deepEqual(unreadable, [{ name: `${dir}/app.log.1.bz2`, compression: "bzip2", bytes: 6 }]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("files rotated after a time come oldest first; compressed ones are read, older ones left out, a file and its compressed twin count once", async () => {
  const dir = await Deno.makeTempDir();
  const at = (name: string, text: string | Uint8Array, seconds: number) =>
    writtenAt(`${dir}/${name}`, text, seconds);
  const gz = (text: string) => gzipSync(new TextEncoder().encode(text));
  await at("app.log.5", "oldest\n", 1000);
  await at("app.log.4.gz", gz("found\n"), 2000);
  await at("app.log.3.gz", gz("second\n"), 3000);
  await at("app.log.2", "", 3200); // an empty rotation: a file, numbered as it was while running
  await at("app.log.2.gz", "", 3300); // a compression that has not begun
  await at("app.log.1", "third\n", 4000);
  await at("app.log.1.gz", gz("third\n"), 4000); // being compressed: the same text
  await at("app.log", "at the path\n", 5000);
  const found = await identityOf(`${dir}/app.log.4.gz`);
  assert.deepEqual(await namesRotatedAfter(dir, 2000, [{ identity: found, size: 6 }]), [
    "app.log.3.gz",
    "app.log.2",
    "app.log.1",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a file written in the same clock tick as the one drained comes after it when logrotate numbered it so", async () => {
  const dir = await Deno.makeTempDir();
  for (
    const [name, text] of [["app.log.3", "older\n"], ["app.log.2", "drained\n"], [
      "app.log.1",
      "after\n",
    ]]
  ) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
    await Deno.utime(`${dir}/${name}`, 3000, 3000); // one tick for all three
  }
  const drained = await identityOf(`${dir}/app.log.2`);
  const read = [{ identity: drained, size: "drained\n".length }];
  assert.deepEqual(await namesRotatedAfter(dir, 3000, read), []);
  assert.deepEqual(await namesRotatedAfter(dir, 3000, read, `${dir}/app.log.2`), ["app.log.1"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("two plain rotated files of one text (a blank line each) are two files; the drained file's own text is left out only by its inode or a compressed copy", async () => {
  // Found by the tail model: a file of one blank line, rotated, then another; with the cache file
  // set back, the second was taken for a copy of the first and its line never stored.
  const dir = await Deno.makeTempDir();
  const at = (name: string, text: string | Uint8Array, seconds: number) =>
    writtenAt(`${dir}/${name}`, text, seconds);
  await at("app.log.3", "\n", 1000);
  await at("app.log.2", "\n", 2000);
  await at("app.log.2.gz", gzipSync(new TextEncoder().encode("\n")), 2000);
  await at("app.log.1", "\n", 3000);
  const drained = await identityOf(`${dir}/app.log.3`);
  assert.deepEqual(await namesRotatedAfter(dir, 1000, [{ identity: drained, size: 1 }]), [
    "app.log.2",
    "app.log.1",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a rotated file at the inode of the file drained, with other text, is a new file (a freed inode given back)", async () => {
  // Found by the tail model (seed -1194115722): the drained file was compressed, which freed its
  // inode; copytruncate's copy of the next file got it back, and was left out as the drained file.
  const dir = await Deno.makeTempDir();
  await writtenAt(`${dir}/app.log.2.gz`, gzipSync(new TextEncoder().encode("first\n")), 1000);
  await writtenAt(`${dir}/app.log.1`, "second\n", 2000);
  const drained = {
    ...await identityOf(`${dir}/app.log.2.gz`),
    ino: (await Deno.stat(`${dir}/app.log.1`)).ino!,
  };
  assert.deepEqual(await namesRotatedAfter(dir, 1000, [{ identity: drained, size: 6 }]), [
    "app.log.1",
  ]);
  await Deno.remove(dir, { recursive: true });
});
