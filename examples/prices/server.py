"""A price service on grpcio, written as its users write one: the lab's worked example of
"your own server" (docs/your-service.md). It knows nothing of the lab.

    python examples/prices/server.py --port 50061

SIGTERM stops it gracefully (a second's grace for the calls under way), as a deployment's
stop does; server reflection is on, so a tool needs no .proto to call it.
"""

import argparse
import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402
from grpc_reflection.v1alpha import reflection  # noqa: E402

from shop.v1 import money_pb2, prices_pb2, prices_pb2_grpc  # noqa: E402

PRICES = {"tea": 450, "coffee": 390}


def quote(sku, seq, units=None):
    at = Timestamp()
    at.GetCurrentTime()
    return prices_pb2.Quote(
        sku=sku,
        price=money_pb2.Money(currency="EUR", units=PRICES.get(sku, 100) if units is None else units),
        at=at,
        seq=seq,
    )


class Prices(prices_pb2_grpc.PricesServicer):
    async def Watch(self, request, context):
        if not request.sku:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "sku is required")
        interval = (request.interval_ms or 500) / 1000
        seq = 0
        while request.count == 0 or seq < request.count:
            seq += 1
            yield quote(request.sku, seq)
            if request.count == 0 or seq < request.count:
                await asyncio.sleep(interval)

    async def Get(self, request, context):
        return quote(request.sku, 1)

    async def Haggle(self, request_iterator, context):
        seq = 0
        async for offer in request_iterator:
            seq += 1
            asking = PRICES.get(offer.sku, 100)
            yield quote(offer.sku, seq, max(offer.price.units, asking - 10 * seq))


async def serve(host, port, cert=None, key=None):
    server = grpc.aio.server()
    prices_pb2_grpc.add_PricesServicer_to_server(Prices(), server)
    reflection.enable_server_reflection(
        (prices_pb2.DESCRIPTOR.services_by_name["Prices"].full_name, reflection.SERVICE_NAME), server
    )
    if cert and key:
        # HTTP/2 over TLS with this certificate chain and key (PEM files).
        with open(cert, "rb") as c, open(key, "rb") as k:
            credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
        server.add_secure_port(f"{host}:{port}", credentials)
    else:
        server.add_insecure_port(f"{host}:{port}")
    await server.start()
    print(f"prices: serving on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await server.stop(grace=1.0)


def main():
    parser = argparse.ArgumentParser(description="a price service on grpcio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=50061)
    parser.add_argument("--cert", help="serve TLS with this PEM certificate chain (and --key)")
    parser.add_argument("--key", help="the PEM private key of --cert")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.cert, args.key))


if __name__ == "__main__":
    main()
