import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import type { HealthStatus } from "./health-status.ts";

/**
 * grpc.health.v1.Health on a Connect router: connect-es ships no health
 * service, so the Chat server serves its own, over all three protocols.
 */
export function addHealthService(router: ConnectRouter, health: HealthStatus): ConnectRouter {
  return router.service(Health, {
    check(request) {
      const status = health.check(request.service);
      // health-checking.md: an unknown service is NOT_FOUND for Check.
      if (status === undefined) throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      return { status };
    },
    async *watch(request, ctx) {
      for await (const status of health.watch(request.service, ctx.signal)) yield { status };
    },
  });
}
