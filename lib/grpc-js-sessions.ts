import type * as http2 from "node:http2";
import type { Server } from "@grpc/grpc-js";

/**
 * Calls `onSession` with every HTTP/2 session a grpc-js server accepts from
 * now on. grpc-js keeps its node:http2 servers in a private map
 * (`http2Servers`, grpc-js 1.14; pinned, and server-bad-input.test.ts fails
 * if an upgrade moves it): it offers no hook of its own, and a session Node
 * has given up on must be closed (lib/session-keepalive.ts, probeWhenIdle).
 */
export function onGrpcJsSessions(server: Server, onSession: (session: http2.ServerHttp2Session) => void): number {
  const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
  for (const http2Server of servers?.keys() ?? []) http2Server.on("session", onSession);
  return servers?.size ?? 0;
}
