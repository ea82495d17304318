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
 *
 * Given a certificate and its key, it is a TLS terminator: `https` in front of a plain-http server.
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
  readonly #tls?: ProxyTls;
  #listener: Deno.Listener | null = null;
  #connections = new Set<Deno.Conn>();
  /** Delay before each chunk from the client is forwarded. */
  delayMs = 0;

  /** A proxy of `target`, listening on `port` (0: any free one), over TLS when `tls` is given. */
  constructor(target: string, port = 0, tls?: ProxyTls) {
    const url = new URL(target);
    this.#target = { hostname: url.hostname, port: Number(url.port) };
    this.#tls = tls;
    const listener = this.#listen(port);
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#serve(listener);
  }

  #listen(port: number): Deno.Listener {
    const address = { hostname: "127.0.0.1", port };
    return this.#tls ? Deno.listenTls({ ...address, ...this.#tls }) : Deno.listen(address);
  }

  /** The proxy's base URL. */
  get url(): string {
    return `${this.#tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  /**
   * `url` (of the server behind the proxy) as reached through the proxy: the same credentials and
   * path, the proxy's host and port. A secured CouchDB refuses a request without its credentials.
   */
  urlFor(url: string): string {
    const through = throughPort(url, this.port);
    return this.#tls ? through.replace(/^http:/, "https:") : through;
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
    if (!this.#listener) this.#serve(this.#listen(this.port));
  }

  [Symbol.dispose](): void {
    this.down();
  }
}

/** A certificate and its private key, as PEM text. */
export interface ProxyTls {
  cert: string;
  key: string;
}

/** `url` with the host and port of a proxy on loopback, its credentials and path kept. */
export function throughPort(url: string, port: number): string {
  const through = new URL(url);
  through.hostname = "127.0.0.1";
  through.port = String(port);
  return through.href.replace(/\/$/, "");
}
