import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type ChatResponse, ChatService } from "../gen/chat_pb.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import type { Caller } from "./caller.ts";
import type { ClientSettings } from "./client-flags.ts";
import { connectDynamicCall } from "./connect-dynamic-call.ts";
import { createConnectNodeCaller } from "./connect-node-caller.ts";
import { resolveDynamicMethod } from "./dynamic-call.ts";
import { ServingStatus, servingStatusName } from "./health-status.ts";

/** Calls with connect-node 2 on one transport, with this project's generated code (gen/). */
export function createConnectCaller(settings: ClientSettings): Caller {
  // The user's method and request, checked against its schema before any call: one line if wrong.
  if (settings.dynamic) resolveDynamicMethod(settings.dynamic);
  return createConnectNodeCaller(settings, {
    dynamicCall: connectDynamicCall,
    chat: ChatService,
    health: { service: Health, statusName: servingStatusName, serving: ServingStatus.SERVING },
    sentAt: (response) => {
      const { sentAt } = response as ChatResponse;
      return sentAt && timestampDate(sentAt);
    },
  });
}
