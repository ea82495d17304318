import assert from "node:assert/strict";
import { nextTurn } from "../../lib/base/turn.ts";

Deno.test("the event loop handles a finished read while a loop only waits for next turns", async () => {
  let read = false;
  void Deno.readFile(import.meta.filename!).then(() => read = true);
  let turns = 0;
  while (!read && turns < 10_000) {
    await nextTurn();
    turns++;
  }
  assert.ok(read, `not read after ${turns} turns`);
});

Deno.test("microtasks alone never let it (what nextTurn is for)", async () => {
  let read = false;
  void Deno.readFile(import.meta.filename!).then(() => read = true);
  for (let i = 0; i < 10_000; i++) await Promise.resolve();
  assert.equal(read, false);
  while (!read) await nextTurn(); // leaves nothing running
});

Deno.test("a next turn keeps no program alive: its channel is closed", async () => {
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { nextTurn } from "${
        import.meta.resolve("../../lib/base/turn.ts")
      }"; await nextTurn();`,
    ],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000), // a program kept alive fails here rather than hang
  }).output();
  assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
});
