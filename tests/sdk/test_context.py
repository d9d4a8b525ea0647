import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aibos_otel
from aibos_otel import bind, bound_attributes, with_bound_context


def test_bind_as_context_manager_nests_and_restores() -> None:
    assert dict(bound_attributes()) == {}
    with bind(request_id="r-1", user={"id": 7, "roles": ["a", "b"]}):
        assert dict(bound_attributes()) == {"request_id": "r-1", "user.id": 7, "user.roles": ("a", "b")}
        with bind(request_id="r-2", step=3):
            assert bound_attributes()["request_id"] == "r-2"
            assert bound_attributes()["step"] == 3
        assert dict(bound_attributes()) == {"request_id": "r-1", "user.id": 7, "user.roles": ("a", "b")}
    assert dict(bound_attributes()) == {}


def test_bind_as_decorator_on_sync_and_async_functions() -> None:
    @bind(job="sync")
    def work() -> dict[str, Any]:
        return dict(bound_attributes())

    @bind(job="async")
    async def awork() -> dict[str, Any]:
        await asyncio.sleep(0)
        return dict(bound_attributes())

    assert work() == {"job": "sync"}
    assert asyncio.run(awork()) == {"job": "async"}
    assert dict(bound_attributes()) == {}


def test_context_is_isolated_between_100_concurrent_tasks_and_survives_await() -> None:
    async def task(i: int) -> tuple[int, list[Any]]:
        seen = []
        async with bind(task_id=i):
            for _ in range(5):
                await asyncio.sleep(0.001 * (i % 3))
                seen.append(bound_attributes().get("task_id"))
        return i, seen

    async def main() -> list[tuple[int, list[Any]]]:
        return await asyncio.gather(*(task(i) for i in range(100)))

    for i, seen in asyncio.run(main()):
        assert seen == [i] * 5


def test_context_is_isolated_between_threads() -> None:
    barrier = threading.Barrier(8)
    results: dict[int, list[Any]] = {}

    def worker(i: int) -> None:
        with bind(thread=i):
            barrier.wait()
            results[i] = [bound_attributes().get("thread") for _ in range(100)]

    with bind(outer="main"):
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for i in range(8):
        assert results[i] == [i] * 100
    # A new thread does not inherit the starting thread's bindings...
    assert all("outer" not in r for r in results.values())


def test_bound_context_is_copied_into_a_thread_pool_explicitly() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool, bind(request_id="r-9"):
        carried = pool.submit(with_bound_context(lambda: dict(bound_attributes()))).result()
        plain = pool.submit(lambda: dict(bound_attributes())).result()
    assert carried == {"request_id": "r-9"}
    assert plain == {}


def test_bind_is_exported_from_the_package() -> None:
    assert aibos_otel.bind is bind
