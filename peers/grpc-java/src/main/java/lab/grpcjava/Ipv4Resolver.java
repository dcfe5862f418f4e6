package lab.grpcjava;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves "ipv4:127.0.0.1:P1,127.0.0.2:P2" (the target form of gRPC core and grpc-js,
 * naming several backends) to that list: grpc-java's own schemes are dns and unix, and
 * its users write a NameResolverProvider like this one for a static list.
 */
final class Ipv4Resolver extends NameResolverProvider {
  static void register() {
    NameResolverRegistry.getDefaultRegistry().register(new Ipv4Resolver());
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public String getDefaultScheme() {
    return "ipv4";
  }

  @Override
  public List<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }

  @Override
  public NameResolver newNameResolver(URI target, NameResolver.Args args) {
    if (!"ipv4".equals(target.getScheme())) return null;
    String list = target.getSchemeSpecificPart();
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (String a : list.split(",")) {
      a = a.trim();
      int colon = a.lastIndexOf(':');
      if (colon <= 0) continue;
      groups.add(new EquivalentAddressGroup(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)))));
    }
    return new NameResolver() {
      @Override
      public String getServiceAuthority() {
        return "localhost";
      }

      @Override
      public void start(Listener2 listener) {
        if (groups.isEmpty()) {
          listener.onError(Status.UNAVAILABLE.withDescription("no address in the ipv4: target"));
          return;
        }
        listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(io.grpc.StatusOr.fromValue(groups)).setAttributes(Attributes.EMPTY).build());
      }

      @Override
      public void shutdown() {}
    };
  }
}
