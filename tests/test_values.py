"""The frozen values built on every message: hand-written constructors (for speed) that
must behave as the ones dataclasses would generate."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from kefu.values import Candidate, Match, Message, Reply


def _default(f: dataclasses.Field[object]) -> object:
    """What the generated constructor would take for ``f`` when it is left out."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default


@pytest.mark.parametrize("cls", [Candidate, Match, Message, Reply])
def test_constructor_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    fields = dataclasses.fields(cls)
    parameters = [p for p in inspect.signature(cls).parameters.values() if p.name != "self"]
    assert [p.name for p in parameters] == [f.name for f in fields]
    required = [f.name for f in fields if _default(f) is inspect.Parameter.empty]
    # Each left-out field takes its default; a factory's is a new value every time.
    made = cls(*required)
    again = cls(*required)
    for p, f in zip(parameters, fields, strict=True):
        expected = _default(f)
        if expected is inspect.Parameter.empty:
            assert p.default is inspect.Parameter.empty
        else:
            assert getattr(made, f.name) == expected
            assert type(getattr(made, f.name)) is type(expected)
            if f.default_factory is not dataclasses.MISSING:
                assert getattr(made, f.name) is not getattr(again, f.name)
            else:
                assert p.default == f.default


def test_a_factory_default_is_no_licence_for_none() -> None:
    """``Reply(slots=None)`` keeps None (which the hook checks refuse), as the generated
    constructor did: only a left-out argument becomes a new dict."""
    assert Reply("", None, 0.0, "respond", slots=None).slots is None  # type: ignore[arg-type]
    assert Message("在吗", "s", 1.0, None).metadata is None  # type: ignore[arg-type]


def test_values_are_frozen_and_replace_still_works() -> None:
    best = Candidate("order_status", 0.9)
    match = Match("快递到哪了", "order_status", 0.9, (best,))
    assert (match.ambiguous, match.rule, match.top) == (False, None, best)
    assert match == Match("快递到哪了", "order_status", 0.9, (Candidate("order_status", 0.9),))
    assert hash(match) == hash(Match("快递到哪了", "order_status", 0.9, (best,)))
    assert dataclasses.replace(match, text="在吗") == Match("在吗", "order_status", 0.9, (best,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.text = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        best.confidence = 1.0  # type: ignore[misc]
