/**
 * What does a grpc-js client read when its deadline passes while a grpc-go
 * server's handler waits? The lab's stall+deadline against grpc-go, grpc-js
 * and grpc-go alone: the server (docs/repro/go/grpc-go-deadline-reset) sends
 * one message, then waits until the call's context ends. grpc-go enforces the
 * deadline the client sent (grpc-timeout) on its own timer and resets the
 * stream, RST_STREAM(CANCEL); the client's own timer runs out at about the
 * same moment. The gRPC rules (statuscodes.md) call for DEADLINE_EXCEEDED.
 * It prints how many of the calls ended with each code.
 *
 *   (cd docs/repro/go && go build -o /tmp/grpc-go-deadline-reset ./grpc-go-deadline-reset)
 *   node --import tsx docs/repro/grpc-js-deadline-vs-grpc-go.mts /tmp/grpc-go-deadline-reset
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";

const server = spawn(process.argv[2] ?? "/tmp/grpc-go-deadline-reset", { stdio: ["ignore", "pipe", "inherit"] });
try {
  const [port] = await createInterface({ input: server.stdout })
    [Symbol.asyncIterator]()
    .next()
    .then((r) => [r.value]);
  const codes = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    // A client per call: each its own connection, as the lab's runs.
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const end = await new Promise<string>((resolve) => {
      const call = client.makeServerStreamRequest(
        "/repro.Stall/Watch",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from("hello"),
        new grpc.Metadata(),
        { deadline: Date.now() + 800 },
      );
      call.on("data", () => {});
      // By code: grpc-js's own deadline message carries its timings, different each call.
      call.on("error", (e: grpc.ServiceError) =>
        resolve(`${grpc.status[e.code]} ${JSON.stringify(e.details.replace(/ after .*/, " after ..."))}`),
      );
      call.on("end", () => resolve("OK"));
    });
    client.close();
    codes.set(end, (codes.get(end) ?? 0) + 1);
  }
  const { version } = (await import("@grpc/grpc-js/package.json", { with: { type: "json" } })).default;
  console.log(`grpc-js ${version}, 100 calls, deadline 800 ms:`);
  for (const [code, n] of [...codes].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(4)}  ${code}`);
} finally {
  server.kill();
}
