"""Exercises one bridge per run: ``python bridges_app.py MODE`` (endpoint from AIBOS_ENDPOINT).

Prints the trace id of the span it logs in, so the test can check correlation.
"""

import asyncio
import gc
import sys
import threading
import time
import warnings

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import aibos_otel

trace.set_tracer_provider(TracerProvider())
tracer = trace.get_tracer("bridges-app")


def run_structlog() -> None:
    import structlog

    from aibos_otel.sdk.bridges.structlog import OTelProcessor

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            OTelProcessor(),
            structlog.processors.KeyValueRenderer(key_order=["event"]),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
    )
    log = structlog.get_logger().bind(logger="shop.structlog")
    with tracer.start_as_current_span("checkout") as span:
        print("TRACE_ID", format(span.get_span_context().trace_id, "032x"), flush=True)
        log.info("order placed", order={"id": 7, "total": 12.5}, user="bob")
    log.warning("stock low", sku="A-1", left=2)
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup failed", table="orders")
    log.critical("giving up")


def run_loguru() -> None:
    from loguru import logger

    from aibos_otel.sdk.bridges.loguru import install

    install(logger)
    with tracer.start_as_current_span("checkout") as span:
        print("TRACE_ID", format(span.get_span_context().trace_id, "032x"), flush=True)
        logger.bind(order=7, cart={"items": 3}).info("order placed")
    logger.trace("fine detail")
    logger.success("paid")
    try:
        print(1 / 0)
    except ZeroDivisionError:
        logger.exception("could not split the bill")
    logger.critical("giving up")


def run_uncaught() -> None:
    aibos_otel.get_logger("shop").info("about to fail")
    print("RAISING", time.time(), flush=True)
    raise RuntimeError("card processor returned 502 for order 7")


def run_thread() -> None:
    def work() -> None:
        raise ValueError("worker lost its connection")

    worker = threading.Thread(target=work, name="billing-worker")
    worker.start()
    worker.join()
    aibos_otel.get_logger("shop").info("main thread goes on")


def run_asyncio() -> None:
    async def fail() -> None:
        raise LookupError("no such order 9")

    async def main() -> None:
        task = asyncio.get_running_loop().create_task(fail())
        await asyncio.sleep(0.05)
        del task  # never retrieved: the loop reports it when the task is collected
        gc.collect()
        await asyncio.sleep(0.05)

    asyncio.run(main())


def run_warnings() -> None:
    warnings.warn("the v1 price API is deprecated, use v2", UserWarning, stacklevel=1)


if __name__ == "__main__":
    handle = aibos_otel.setup()
    {
        "structlog": run_structlog,
        "loguru": run_loguru,
        "uncaught": run_uncaught,
        "thread": run_thread,
        "asyncio": run_asyncio,
        "warnings": run_warnings,
    }[sys.argv[1]]()
