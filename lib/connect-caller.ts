import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type ChatResponse, ChatService } from "../gen/chat_pb.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import type { Caller } from "./caller.ts";
import type { ClientSettings } from "./client-flags.ts";
import { createConnectNodeCaller } from "./connect-node-caller.ts";
import { ServingStatus, servingStatusName } from "./health-status.ts";

/** Calls with connect-node 2 on one transport, with this project's generated code (gen/). */
export function createConnectCaller(settings: ClientSettings): Caller {
  return createConnectNodeCaller(settings, {
    chat: ChatService,
    health: { service: Health, statusName: servingStatusName, serving: ServingStatus.SERVING },
    sentAt: (response) => {
      const { sentAt } = response as ChatResponse;
      return sentAt && timestampDate(sentAt);
    },
  });
}
