import traceback

from aibos_otel.fingerprint import fingerprint, normalize_message


def _fp(exc: BaseException) -> str:
    return fingerprint(type(exc).__name__, "".join(traceback.format_exception(exc)), str(exc))


def _load_user(user_id: int) -> None:
    raise LookupError(f"user {user_id} not found (request 0x{user_id * 7919:x})")


def _load_order(order_id: int) -> None:
    raise LookupError(f"order {order_id} not found")


def _caller_a(i: int) -> None:
    _load_user(i)


def _caller_b(i: int) -> None:
    _load_user(i)


def _capture(fn: object, *args: object) -> BaseException:
    try:
        fn(*args)  # type: ignore[operator]
    except Exception as exc:
        return exc
    raise AssertionError("did not raise")


def test_same_error_in_a_loop_with_different_numbers_is_one_fingerprint() -> None:
    fingerprints = {_fp(_capture(_load_user, i)) for i in range(50)}
    assert len(fingerprints) == 1
    assert len(next(iter(fingerprints))) == 32


def test_different_call_paths_give_different_fingerprints() -> None:
    assert _fp(_capture(_caller_a, 1)) != _fp(_capture(_caller_b, 1))
    assert _fp(_capture(_load_user, 1)) != _fp(_capture(_load_order, 1))


def test_different_exception_type_at_same_place_differs() -> None:
    stack = "".join(traceback.format_exception(_capture(_load_user, 1)))
    assert fingerprint("LookupError", stack, "x") != fingerprint(
        "KeyError", stack.replace("LookupError", "KeyError"), "x"
    )


def test_line_numbers_do_not_matter() -> None:
    stack = "".join(traceback.format_exception(_capture(_caller_a, 3)))
    moved = stack.replace(", line ", ", line 1")
    assert fingerprint("LookupError", stack, "m") == fingerprint("LookupError", moved, "m")


def _wrap_key_error() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc


def _wrap_value_error() -> None:
    try:
        int("x")
    except ValueError as exc:
        raise RuntimeError("lookup failed") from exc


def test_chained_exceptions_include_the_cause() -> None:
    key_chain = _capture(_wrap_key_error)
    value_chain = _capture(_wrap_value_error)
    assert _fp(key_chain) == _fp(_capture(_wrap_key_error))
    assert _fp(key_chain) != _fp(value_chain)
    # Same outer type and message but no cause: a different bug.
    assert _fp(key_chain) != fingerprint("RuntimeError", "", "lookup failed")


def test_without_a_stack_the_normalised_message_groups() -> None:
    assert fingerprint("TimeoutError", "", "upstream 10.0.0.7 timed out after 30s") == fingerprint(
        "TimeoutError", "", "upstream 10.0.0.9 timed out after 31s"
    )
    assert fingerprint("TimeoutError", "", "a") != fingerprint("TimeoutError", "", "b")
    assert normalize_message("id 'abc' 42 0xff") == "id <*> <*> <*>"


def test_library_frames_are_ignored_when_in_app_frames_exist() -> None:
    stack = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/handlers.py", line 10, in handle\n'
        '  File "/usr/lib/python3.11/site-packages/lib/core.py", line 99, in call\n'
        "ValueError: boom\n"
    )
    upgraded = stack.replace("line 99, in call", "line 120, in call_impl")
    assert fingerprint("ValueError", stack, "boom") == fingerprint("ValueError", upgraded, "boom")
