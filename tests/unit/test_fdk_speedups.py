"""fdk's per-call tracing tuple is built once, and carries what it carried before."""

from __future__ import annotations

import importlib
from typing import Any

from fdk import context

from shared.fdk_speedups import memoize_tracing_tuple


def _attrs(enabled: bool) -> Any:
    return context.TracingContext(enabled, "http://collector", "trace-1", "span-1", None,
                                  1, "0").zipkin_attrs()


def test_the_zipkin_tuple_class_is_built_once_with_the_same_fields() -> None:
    before = _attrs(False)
    assert memoize_tracing_tuple() is True
    assert memoize_tracing_tuple() is True  # a second call does not wrap it again
    assert not hasattr(context.namedtuple.__wrapped__, "cache_info")
    first, second = _attrs(False), _attrs(False)
    assert type(first) is type(second)
    assert first == before and first._fields == before._fields
    assert first == ("trace-1", "span-1", None, True, "0")


def test_tracing_on_still_moves_the_span_to_the_parent() -> None:
    memoize_tracing_tuple()
    one, two = _attrs(True), _attrs(True)
    assert one.parent_span_id == "span-1" and one.span_id != "span-1"
    assert one.span_id != two.span_id  # each call still gets its own span id


def test_the_function_entry_point_applies_it() -> None:
    import functions.handler

    importlib.reload(functions.handler)
    assert hasattr(context.namedtuple, "cache_info")
