package lab.grpcjava;

import java.util.concurrent.TimeUnit;

/**
 * A training run for the JVM's class-data sharing archive (issue 29): a server and a client in
 * one JVM, a Chat call and a health check between them, then a normal exit, so that
 * -XX:ArchiveClassesAtExit writes the classes both programs load. The lab starts a JVM for every
 * fresh grpc-java server; with the archive each start loads its classes mapped from it, and costs
 * less CPU. The build runs it once (lab/engine/peer-builds.ts).
 */
public final class Train {
  private Train() {}

  public static void main(String[] args) throws Exception {
    io.grpc.Server server =
        io.grpc.netty.NettyServerBuilder.forAddress(
                new java.net.InetSocketAddress("127.0.0.1", 0), io.grpc.InsecureServerCredentials.create())
            .addService(new ChatServer.Chat(new ServerState(Flags.parse("train", "", ChatServer.specs(), java.util.List.of("--interval-ms", "0", "--quiet")))))
            .addService(new ChatServer.Health(new ServerState(Flags.parse("train", "", ChatServer.specs(), java.util.List.of()))))
            .build()
            .start();
    int port = ((java.net.InetSocketAddress) server.getListenSockets().get(0)).getPort();
    for (String method : new String[] {"--name", "--health"}) {
      java.util.List<String> flags = new java.util.ArrayList<>(java.util.List.of("--port", String.valueOf(port)));
      if (method.equals("--health")) flags.add("--health");
      ClientSettings s = ClientSettings.read(Flags.parse("train", "", ClientSettings.specs(), flags));
      Caller caller = new Caller(s);
      ChatClient.sequence(caller, s, new ChatClient.Interrupt(), line -> {}, (n, at) -> {}, (n, i, t, at) -> {});
      caller.close();
    }
    Json.write(Json.parse("{\"op\":\"stats\"}"));
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
