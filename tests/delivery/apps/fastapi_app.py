"""A FastAPI service with no aibos code at all: run under ``opentelemetry-instrument``.

It logs through the standard ``logging`` module only; everything else comes from the distro.
"""

import logging
import os

import requests
import uvicorn
from fastapi import FastAPI

log = logging.getLogger("shop.orders")
app = FastAPI()


@app.get("/order/{number}")
async def order(number: int) -> dict[str, int]:
    log.log(5, "checking stock for order %d", number)  # TRACE: no name needed in stdlib
    log.info(
        "order %d placed by card 4111 1111 1111 1111",
        number,
        extra={"order_number": number, "password": "hunter2-secret"},
    )
    return {"order": number}


@app.get("/checkout/{number}")
def checkout(number: int) -> dict[str, int]:
    # A sync endpoint (thread pool) calling another service, here this one, with requests:
    # the requests instrumentation propagates the trace to the stock endpoint.
    port = os.environ["APP_PORT"]
    left = requests.get(f"http://127.0.0.1:{port}/stock/{number}", timeout=5).json()["left"]
    log.info("checkout %d done", number, extra={"checkout_number": number})
    return {"left": left}


@app.get("/stock/{number}")
async def stock(number: int) -> dict[str, int]:
    log.info("stock checked for %d", number, extra={"stock_number": number})
    return {"left": 3}


@app.get("/fatal")
async def fatal() -> dict[str, str]:
    log.critical("payment provider unreachable, giving up")
    return {"status": "degraded"}


@app.get("/boom")
async def boom() -> dict[str, str]:
    try:
        raise ValueError("order 7 has no lines")
    except ValueError:
        log.exception("could not price order")
    return {"status": "error"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["APP_PORT"]), log_level="info")
