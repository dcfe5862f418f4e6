import { once } from "node:events";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
} from "../gen/grpc/health/v1/health_pb.ts";
import { healthServiceDefinition } from "./grpc-js-service.ts";
import type { HealthStatus } from "./health-status.ts";

/**
 * grpc.health.v1.Health on a grpc-js server, from the same status as the
 * Connect server's, so that both answer a health checker alike. (The
 * @grpc/grpc-health-check package would be a second implementation to
 * compare; one shared status keeps the two servers' answers identical.)
 */
export function addGrpcJsHealthService(server: grpc.Server, health: HealthStatus): void {
  server.addService(healthServiceDefinition, {
    check(
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ) {
      const status = health.check(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
      } else {
        callback(null, create(HealthCheckResponseSchema, { status }));
      }
    },
    async watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const abort = new AbortController();
      call.on("cancelled", () => abort.abort());
      try {
        for await (const status of health.watch(call.request.service, abort.signal)) {
          if (!call.write(create(HealthCheckResponseSchema, { status }))) await once(call, "drain", abort);
        }
      } catch (e) {
        // endWatches() passes a status object; a client that left needs none.
        if (!abort.signal.aborted) call.emit("error", e);
      }
    },
  });
}
