"""Context binding: attributes bound with ``bind()`` land on every record emitted inside.

Built on ``contextvars`` like structlog's contextvars API: bindings survive ``await``, are
isolated between asyncio tasks (each task runs in a copy of the context) and between threads
(a new thread starts with an empty context). To carry them into a thread pool, wrap the
callable with :func:`with_bound_context`.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from aibos_otel.sdk.attributes import flatten

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_bound: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("aibos_bound", default=_EMPTY)

P = ParamSpec("P")
R = TypeVar("R")


def bound_attributes() -> Mapping[str, Any]:
    """The attributes bound in the current context (flattened, read-only)."""
    return _bound.get()


def bound_attributes_getter() -> Callable[[], Mapping[str, Any]]:
    """:func:`bound_attributes` as the context variable's own ``get`` (for the pipeline's hot
    path: a C method, no Python frame per log call)."""
    return _bound.get


class bind:  # noqa: N801 - used like a function: ``with bind(...)`` / ``@bind(...)``
    """Bind attributes for the duration of a ``with`` block or of each call of a function.

    ``with bind(request_id="r-1", user={"id": 7}):`` adds ``request_id`` and ``user.id`` to every
    record emitted inside, including in coroutines awaited there. As a decorator it works on
    plain and ``async`` functions; each call gets its own binding. Inner bindings override
    outer ones for the same key and are undone on exit.
    """

    def __init__(self, **attributes: Any) -> None:
        self._attributes = flatten(attributes)
        self._tokens: list[contextvars.Token[Mapping[str, Any]]] = []

    def _push(self) -> contextvars.Token[Mapping[str, Any]]:
        merged = {**_bound.get(), **self._attributes}
        return _bound.set(MappingProxyType(merged))

    def __enter__(self) -> Mapping[str, Any]:
        self._tokens.append(self._push())
        return _bound.get()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _bound.reset(self._tokens.pop())

    async def __aenter__(self) -> Mapping[str, Any]:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        import inspect  # only decorators need it; keeps `import aibos_otel` light

        if inspect.iscoroutinefunction(func):
            async_func = cast(Callable[P, Awaitable[Any]], func)

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                token = self._push()
                try:
                    return await async_func(*args, **kwargs)
                finally:
                    _bound.reset(token)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            token = self._push()
            try:
                return func(*args, **kwargs)
            finally:
                _bound.reset(token)

        return wrapper


def with_bound_context(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap ``func`` to run in a copy of the *current* context (bindings and active span).

    Use it to hand work to a thread pool: ``pool.submit(with_bound_context(work), item)``.
    """
    context = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.copy().run(func, *args, **kwargs)

    return run
