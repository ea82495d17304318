/**
 * Waking on filesystem events, with a timeout as the safety net for missed events and network
 * filesystems: no busy loop, and an idle program sleeps until something happens in its folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FolderWatch } from "./watch.ts";
 * const dir = await Deno.makeTempDir();
 * const watch = new FolderWatch(dir, (path) => path.endsWith("spysocket.log"));
 * const started = Date.now();
 * await Promise.all([watch.wait(60_000), Deno.writeTextFile(`${dir}/spysocket.log`, "x\n")]);
 * assert.ok(Date.now() - started < 60_000); // woken by the event, not the minute
 * watch.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */

/** Watches one folder (not recursively) for events on paths that `matches` accepts. */
export class FolderWatch {
  #folder: string;
  #matches: (path: string) => boolean;
  #watcher: Deno.FsWatcher | null = null;
  #paused = false;
  #wake: (() => void) | null = null;
  #woken = false;

  /** Starts watching; when the folder cannot be watched, `wait` just waits for its timeout. */
  constructor(folder: string, matches: (path: string) => boolean = () => true) {
    this.#folder = folder;
    this.#matches = matches;
    this.#start();
  }

  #start(): void {
    try {
      this.#watcher = Deno.watchFs(this.#folder, { recursive: false });
    } catch {
      return; // no folder yet, or no inotify: the timeout still wakes the caller
    }
    const watcher = this.#watcher;
    (async () => {
      for await (const event of watcher) {
        if (event.kind !== "access" && event.paths.some(this.#matches)) {
          this.#woken = true;
          this.#wake?.();
        }
      }
    })().catch(() => {});
  }

  /**
   * Stops taking events until the next `wait`, for a caller that will look again at a time of its
   * own: a file written a line at a time sends an event per write, and taking a thousand events a
   * second cost more CPU than the capture itself.
   */
  pause(): void {
    if (this.#paused || !this.#watcher) return;
    this.#watcher.close();
    this.#watcher = null;
    this.#paused = true;
  }

  /** True when events can be had (else only the timeout wakes). */
  get watching(): boolean {
    return this.#watcher !== null;
  }

  /** Resolves at the next matching event (or at once if one came since the last wait), after `ms`, or on abort. */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#paused) {
      // What was written while paused raised no event: the caller looks once more first.
      this.#paused = false;
      this.#start();
      this.#woken = true;
    }
    if (!this.#woken && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          this.#wake = null;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
        this.#wake = done;
      });
    }
    this.#woken = false;
  }

  /** Stops watching; a `wait` in progress ends at its timeout. */
  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
    this.#paused = false;
  }
}
