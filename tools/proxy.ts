/**
 * A TCP proxy on loopback, for tests and benchmarks: it makes a server unreachable and reachable
 * again, or slow, while the real server behind it keeps running.
 *
 * @example
 * ```ts
 * import { Proxy } from "./proxy.ts";
 * using proxy = new Proxy("http://127.0.0.1:5984");
 * proxy.urlFor("http://admin:pw@127.0.0.1:5984/db"); // http://admin:pw@127.0.0.1:PORT/db
 * proxy.delayMs = 200; // every request waits 200 ms
 * proxy.down(); proxy.up();
 * ```
 * @module
 */

/**
 * A TCP proxy on loopback in front of the test server, to make CouchDB unreachable (`down`) and
 * reachable again (`up`) from a program's point of view, or slow (`delayMs`), while the real
 * server behind it keeps its data.
 */
export class Proxy {
  readonly port: number;
  readonly #target: { hostname: string; port: number };
  #listener: Deno.Listener | null = null;
  #connections = new Set<Deno.Conn>();
  /** Delay before each chunk from the client is forwarded. */
  delayMs = 0;

  constructor(target: string, port = 0) {
    const url = new URL(target);
    this.#target = { hostname: url.hostname, port: Number(url.port) };
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#serve(listener);
  }

  /** The proxy's base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * `url` (of the server behind the proxy) as reached through the proxy: the same credentials and
   * path, the proxy's host and port. A secured CouchDB refuses a request without its credentials.
   */
  urlFor(url: string): string {
    return throughPort(url, this.port);
  }

  #serve(listener: Deno.Listener): void {
    this.#listener = listener;
    (async () => {
      for await (const conn of listener) {
        this.#connections.add(conn);
        this.#pipe(conn).catch(() => {}).finally(() => this.#connections.delete(conn));
      }
    })().catch(() => {});
  }

  async #pipe(client: Deno.Conn): Promise<void> {
    const server = await Deno.connect(this.#target);
    this.#connections.add(server);
    const forward = async (from: Deno.Conn, to: Deno.Conn, delay: boolean) => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          const n = await from.read(buffer);
          if (n === null) break;
          if (delay && this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
          for (let at = 0; at < n;) at += await to.write(buffer.subarray(at, n));
        }
      } catch {
        // closed
      }
      try {
        to.close();
      } catch {
        // closed
      }
    };
    await Promise.all([forward(client, server, true), forward(server, client, false)]);
    this.#connections.delete(server);
  }

  /** Refuses new connections and cuts the open ones. */
  down(): void {
    this.#listener?.close();
    this.#listener = null;
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
    this.#connections.clear();
  }

  /** Accepts connections again, on the same port. */
  up(): void {
    if (!this.#listener) this.#serve(Deno.listen({ hostname: "127.0.0.1", port: this.port }));
  }

  [Symbol.dispose](): void {
    this.down();
  }
}

/** `url` with the host and port of a proxy on loopback, its credentials and path kept. */
export function throughPort(url: string, port: number): string {
  const through = new URL(url);
  through.hostname = "127.0.0.1";
  through.port = String(port);
  return through.href.replace(/\/$/, "");
}
