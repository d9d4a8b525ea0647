"""A FastAPI service with no aibos code at all: run under ``opentelemetry-instrument``.

It logs through the standard ``logging`` module only; everything else comes from the distro.
"""

import logging
import os

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
