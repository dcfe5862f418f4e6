"""A price watcher on grpcio, written as its users write one: the lab's worked example of
"your own client" (docs/your-service.md). It knows nothing of the lab.

    python examples/prices/client.py --addr 127.0.0.1:50061

It watches a price with a 5 s deadline per call and calls again, up to 3 times in all, when a
call fails UNAVAILABLE (a short pause between): the retry logic of many real clients. Its last
line is one JSON object: the code it ended with, its time, and its attempts; it exits 0 on OK.
"""

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402

from shop.v1 import prices_pb2, prices_pb2_grpc  # noqa: E402

DEADLINE_S = 5.0
ATTEMPTS = 3


async def watch(addr, sku):
    start = time.monotonic()
    code = grpc.StatusCode.UNKNOWN
    attempt = 0
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = prices_pb2_grpc.PricesStub(channel)
        while attempt < ATTEMPTS:
            attempt += 1
            try:
                request = prices_pb2.WatchRequest(sku=sku, interval_ms=300, count=3)
                async for quote in stub.Watch(request, timeout=DEADLINE_S):
                    print(f"{quote.sku}: {quote.price.units} {quote.price.currency} (#{quote.seq})", flush=True)
                code = grpc.StatusCode.OK
                break
            except grpc.aio.AioRpcError as e:
                code = e.code()
                print(f"attempt {attempt}: {code.name} {e.details()}", flush=True)
                if code != grpc.StatusCode.UNAVAILABLE:
                    break
                await asyncio.sleep(0.2 * attempt)
    ms = round((time.monotonic() - start) * 1000)
    print(json.dumps({"code": code.name, "ms": ms, "attempts": attempt}), flush=True)
    return code == grpc.StatusCode.OK


def main():
    parser = argparse.ArgumentParser(description="watch a price on the price service")
    parser.add_argument("--addr", default="127.0.0.1:50061")
    parser.add_argument("--sku", default="tea")
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(watch(args.addr, args.sku)) else 1)


if __name__ == "__main__":
    main()
