import assert from "node:assert/strict";
import { readIdentity } from "../../lib/source/identity.ts";
import {
  defaultRotatedGlobs,
  findRotated,
  globFiles,
  rotatedAfter,
} from "../../lib/source/rotated.ts";

const open = (name: string) => Deno.open(name).catch(() => null);

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

Deno.test("the rotated file that is the file sought is found by identity, not by name", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/app.log`, "mine\n");
  await Deno.writeTextFile(`${dir}/app.log.1`, "another file\n");
  using mine = await Deno.open(`${dir}/app.log`);
  const identity = await readIdentity(mine);
  await Deno.rename(`${dir}/app.log`, `${dir}/app.log.2`);
  const found = await findRotated(defaultRotatedGlobs(`${dir}/app.log`), identity, open);
  assert.equal(found?.name, `${dir}/app.log.2`);
  found?.file.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("files rotated after the one found come oldest first; compressed ones and older ones are left out", async () => {
  const dir = await Deno.makeTempDir();
  const at = (name: string, text: string | Uint8Array, seconds: number) =>
    (typeof text === "string"
      ? Deno.writeTextFile(`${dir}/${name}`, text)
      : Deno.writeFile(`${dir}/${name}`, text))
      .then(() => Deno.utime(`${dir}/${name}`, seconds, seconds));
  await at("app.log.4", "oldest\n", 1000);
  await at("app.log.3", "found\n", 2000);
  await at("app.log.2", "second\n", 3000);
  await at("app.log.2.gz", new Uint8Array([0x1f, 0x8b, 8, 0]), 3500);
  await at("app.log.1", "third\n", 4000);
  await at("app.log", "at the path\n", 5000);
  using found = await Deno.open(`${dir}/app.log.3`);
  using atPath = await Deno.open(`${dir}/app.log`);
  const later = await rotatedAfter(defaultRotatedGlobs(`${dir}/app.log`), found, atPath, open);
  assert.deepEqual(later.map((f) => f.name.slice(dir.length + 1)), ["app.log.2", "app.log.1"]);
  for (const { file } of later) file.close();
  await Deno.remove(dir, { recursive: true });
});
