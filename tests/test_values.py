"""The frozen values built on every message: hand-written constructors (for speed) that
must behave as the ones dataclasses would generate."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from kefu.values import Candidate, Match


@pytest.mark.parametrize("cls", [Candidate, Match])
def test_constructor_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    parameters = [(p.name, p.default) for p in inspect.signature(cls).parameters.values() if p.name != "self"]
    fields = [
        (
            f.name,
            inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default,
        )
        for f in dataclasses.fields(cls)
    ]
    assert parameters == fields


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
