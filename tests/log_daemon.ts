/**
 * A log writer that behaves like a real daemon: it keeps its file descriptor open across a rename,
 * and reopens the log only when told (SIGHUP, which logrotate's `postrotate` sends), after a delay.
 * It writes spysocket lines numbered `--from` to `--to` (the number is the vehicle id, so every
 * line can be counted in CouchDB) at `--rate` lines a second, writes its PID to `--pid`, and exits
 * when done. With `--pause-at N` it writes `N` lines, then waits for a SIGUSR1 before going on.
 *
 * deno run -A tests/log_daemon.ts --log FILE --pid FILE --from 0 --to 1000 --rate 200 --reopen-after 1000
 */
import { parseArgs } from "node:util";
import { numberedLine } from "./helpers.ts";

const { values } = parseArgs({
  options: {
    log: { type: "string" },
    pid: { type: "string" },
    from: { type: "string", default: "0" },
    to: { type: "string", default: "1000" },
    rate: { type: "string", default: "200" },
    "reopen-after": { type: "string", default: "1000" },
    "pause-at": { type: "string" },
  },
});
const path = values.log!;
const from = Number(values.from), to = Number(values.to);
const intervalMs = 1000 / Number(values.rate);
const reopenAfterMs = Number(values["reopen-after"]);
const pauseAt = values["pause-at"] === undefined ? null : Number(values["pause-at"]);

const encoder = new TextEncoder();
let file = await Deno.open(path, { append: true, create: true });
let resume: (() => void) | null = null;
Deno.addSignalListener("SIGHUP", () => {
  setTimeout(() => {
    const old = file;
    file = Deno.openSync(path, { append: true, create: true });
    old.close();
  }, reopenAfterMs);
});
Deno.addSignalListener("SIGUSR1", () => resume?.());
if (values.pid) await Deno.writeTextFile(values.pid, `${Deno.pid}\n`);

const started = performance.now();
for (let n = from; n < to; n++) {
  if (pauseAt !== null && n - from === pauseAt) {
    await Deno.writeTextFile(`${values.pid ?? path}.paused`, `${n}\n`);
    await new Promise<void>((r) => (resume = r));
  }
  file.writeSync(encoder.encode(numberedLine(n)));
  const due = started + (n - from + 1) * intervalMs - performance.now();
  if (due > 0) await new Promise((r) => setTimeout(r, due));
}
file.close();
Deno.exit(0);
