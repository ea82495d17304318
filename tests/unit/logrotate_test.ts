import assert from "node:assert/strict";
import { logrotateFor, rotationRisks } from "../../lib/source/logrotate.ts";

async function setup(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${name}`, text.replaceAll("DIR", dir));
  }
  return dir;
}

Deno.test("the stanza that covers a log is found through include, with the globals before it", async () => {
  const dir = await setup({
    "logrotate.conf": "weekly\ncompress\ninclude DIR/logrotate.d\n",
    "logrotate.d/other": "DIR/other.log {\n  rotate 0\n}\n",
    "logrotate.d/avl": "DIR/*.log DIR/extra.log\n{\n  rotate 7\n  nocompress\n}\n",
    "logrotate.d/avl.dpkg-old": "DIR/spysocket.log {\n  rotate 0\n}\n",
  });
  const found = await logrotateFor(`${dir}/spysocket.log`, [`${dir}/logrotate.conf`]);
  assert.equal(found?.directives.get("rotate"), "7");
  assert.equal(found?.directives.has("compress"), false, "nocompress undoes the global compress");
  assert.equal(found?.directives.get("weekly"), "");
  assert.equal(await logrotateFor(`${dir}/elsewhere/x.txt`, [`${dir}/logrotate.conf`]), null);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("scripts are skipped, braces in them too", async () => {
  const dir = await setup({
    "lr.conf": [
      "DIR/spysocket.log {",
      "  postrotate",
      "    echo '}' > /dev/null",
      "    copytruncate",
      "  endscript",
      "  rotate 0",
      "}",
    ].join("\n"),
  });
  const found = await logrotateFor(`${dir}/spysocket.log`, [`${dir}/lr.conf`]);
  assert.equal(found?.directives.has("copytruncate"), false);
  const risks = rotationRisks(`${dir}/spysocket.log`, found!, [`${dir}/spysocket.log.*`]);
  assert.deepEqual(risks.map((r) => r.directive), ["rotate"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the settings that lose data are named, each with its fix; a covered olddir and gzip are fine", () => {
  const where = "test:1";
  const stanza = (entries: [string, string][]) => ({ where, directives: new Map(entries) });
  const log = "/var/log/spysocket.log";
  const all = rotationRisks(
    log,
    stanza([
      ["olddir", "old"],
      ["compress", ""],
      ["compresscmd", "/usr/bin/bzip2"],
      ["copytruncate", ""],
      ["rotate", "0"],
    ]),
    [`${log}.*`],
  );
  assert.deepEqual(all.map((r) => r.directive), [
    "olddir",
    "compresscmd",
    "copytruncate",
    "rotate",
  ]);
  assert.match(all[0].fix, /--rotated '\/var\/log\/old\/spysocket\.log\*'/);
  const fine = rotationRisks(log, stanza([["olddir", "/var/log/old"], ["compress", ""]]), [
    "/var/log/old/spysocket.log*",
  ]);
  assert.deepEqual(fine, []);
});
