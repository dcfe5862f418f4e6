import { createServer } from "node:net";

/**
 * A loopback port nobody listened on a moment ago: for calls that must find
 * no server. (Servers the lab starts take --port 0 and report their own.)
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || address === null) throw new Error("no port from listen(0)");
  return address.port;
}
