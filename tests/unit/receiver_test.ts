/**
 * The receiver's request handling in-process (issue 20 asks for it; issue 21's race is here): the
 * end-to-end receiver tests are in tests/twohost_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { storedHash } from "../../lib/run/receiver.ts";

const NAME = "t.0.0000000000000000-0000000000000002.log";

Deno.test("an extract moved to done/ between the lookup and the hash is hashed all the same (it was a 500)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/done`);
  await Deno.writeTextFile(`${dir}/${NAME}`, "a\n");
  // The monitor moves the extract just as the receiver goes to open it.
  const open = async (path: string) => {
    if (path === `${dir}/${NAME}`) await Deno.rename(path, `${dir}/done/${NAME}`);
    return await Deno.open(path);
  };
  const expected = createHash("sha256").update("a\n").digest("hex");
  assert.equal(await storedHash(dir, NAME, open), expected);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an extract opened before it moves is hashed whole", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/done`);
  await Deno.writeTextFile(`${dir}/${NAME}`, "a\n");
  const open = async (path: string) => {
    const file = await Deno.open(path);
    await Deno.rename(path, `${dir}/done/${NAME}`).catch(() => {});
    return file;
  };
  const expected = createHash("sha256").update("a\n").digest("hex");
  assert.equal(await storedHash(dir, NAME, open), expected);
  assert.equal(await storedHash(dir, "x.0.0000000000000000-0000000000000002.log"), null);
  await Deno.remove(dir, { recursive: true });
});
