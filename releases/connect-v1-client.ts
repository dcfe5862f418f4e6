// @ts-nocheck: bundled with connect-node 1 and @bufbuild/protobuf 1 under their own names
// (lab/engine/build.ts, issue 18); the project's types are those of the 2.x releases.
/**
 * The lab's client agent on connect-node 1.x: the same agent, flags and
 * transport code as client.ts (lib/connect-node-caller.ts), with the Chat
 * service described the way protobuf-es 1 describes messages. No health
 * service: its calls end unimplemented.
 */
import { MethodKind, proto3, ScalarType, Timestamp } from "@bufbuild/protobuf";
import { parseFlags, runCli } from "../lib/cli.ts";
import { runClientAgent } from "../lib/client-agent.ts";
import { clientFlags, protocols, readClientSettings, refuseGrpcOnlyFlags } from "../lib/client-flags.ts";
import { createConnectNodeCaller } from "../lib/connect-node-caller.ts";
import { runCalls } from "../lib/run-calls.ts";

/** chat.proto's messages, field by field, in protobuf-es 1's runtime form. */
const ChatRequest = proto3.makeMessageType("chat.v1.ChatRequest", () => [
  { no: 1, name: "name", kind: "scalar", T: ScalarType.STRING },
  { no: 2, name: "text", kind: "scalar", T: ScalarType.STRING },
]);
const ChatResponse = proto3.makeMessageType("chat.v1.ChatResponse", () => [
  { no: 1, name: "index", kind: "scalar", T: ScalarType.UINT32 },
  { no: 2, name: "text", kind: "scalar", T: ScalarType.STRING },
  { no: 3, name: "sent_at", kind: "message", T: Timestamp },
]);
const ChatService = {
  typeName: "chat.v1.ChatService",
  methods: { chat: { name: "Chat", I: ChatRequest, O: ChatResponse, kind: MethodKind.ServerStreaming } },
};

const createCaller = (settings) =>
  createConnectNodeCaller(settings, {
    chat: ChatService,
    sentAt: (response) => response.sentAt?.toDate(),
    grpcHttpVersion: true,
  });

runCli("client", async () => {
  const settings = readClientSettings(
    parseFlags({ program: "client", summary: "one Chat call with connect-node 1.x", flags: clientFlags }),
  );
  if (settings.agent) {
    runClientAgent({
      client: "connect",
      program: "client",
      protocols,
      createCaller,
      refuse: (s) => refuseGrpcOnlyFlags(s, "connect-node"),
    });
    return;
  }
  await runCalls({ client: "connect", settings, caller: createCaller(settings) });
});
