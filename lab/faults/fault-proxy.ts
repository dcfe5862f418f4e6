import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * What the proxy does with the bytes between client and server:
 * - forward: pass them on both ways;
 * - blackhole: pass nothing either way and keep both connections open, like
 *   an unplugged cable or a middlebox that lost its state (no FIN, no RST);
 * - reset: reset both TCP connections (RST), like a load balancer that drops them.
 */
export type ProxyMode = "forward" | "blackhole" | "reset";

export interface FaultProxyOptions {
  /** Where the server listens. */
  targetHost?: string;
  targetPort: number;
  /** Address the proxy listens on. Default: 127.0.0.1, port chosen by the OS. */
  host?: string;
}

export interface FaultProxy {
  /** The port clients connect to. */
  readonly port: number;
  readonly mode: ProxyMode;
  /** Switches every connection, open and future, to a mode. */
  setMode(mode: ProxyMode): void;
  /** Connections open now (pairs of sockets). */
  readonly connections: number;
  /** Stops listening and destroys every socket. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket;
}

/**
 * A TCP proxy on loopback that the lab places between a client and a server
 * to inject network faults: tc netem is not available on these kernels, and
 * a proxy works anywhere without privileges.
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let mode: ProxyMode = "forward";

  const apply = (pair: Pair) => {
    if (mode === "reset") {
      pair.client.resetAndDestroy();
      pair.server.resetAndDestroy();
    } else if (mode === "blackhole") {
      // Stop reading both sides: nothing gets through, and nothing closes.
      pair.client.unpipe(pair.server);
      pair.server.unpipe(pair.client);
      pair.client.pause();
      pair.server.pause();
    }
  };

  const server: Server = createServer((client) => {
    if (mode === "reset") {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: options.targetHost ?? "127.0.0.1", port: options.targetPort });
    const pair = { client, server: upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // One side failing or closing ends the pair, as a real connection through a proxy would.
    client.on("error", end).on("close", end);
    upstream.on("error", (e) => {
      // The server refused or reset: the client sees a reset too.
      if ((e as NodeJS.ErrnoException).code) client.resetAndDestroy();
      end();
    });
    upstream.on("close", end);
    if (mode === "blackhole") {
      apply(pair);
      return;
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on("error", () => {});

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("fault proxy: no port");

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    get connections() {
      return pairs.size;
    },
    setMode(next) {
      mode = next;
      for (const pair of [...pairs]) apply(pair);
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
