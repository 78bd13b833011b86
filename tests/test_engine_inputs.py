"""The Engine API's less travelled inputs: explain's text and match's contexts. Each is refused
with an error saying what is wrong, never matched as something else."""

from __future__ import annotations

import re
from typing import Any

import pytest

import kefu

# -- kefu.explain ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        None,  # was explained as the message "None" (and "answered" an intent)
        "退款".encode(),  # was explained as "b'\\xe9\\x80...'", never as 退款
        5,  # a caller should say str(5)
    ],
)
def test_explain_refuses_text_that_is_not_a_str_like_match(demo_engine: kefu.Engine, text: Any) -> None:
    with pytest.raises(TypeError) as by_match:
        demo_engine.match(text)
    with pytest.raises(TypeError) as by_explain:
        kefu.explain(demo_engine, text)
    assert str(by_explain.value) == str(by_match.value)
    assert str(by_explain.value).startswith(f"text must be a str, not {type(text).__name__} (")


# -- match's contexts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contexts", "error"),
    [
        ([None], "contexts[0] must be a str, not NoneType (None)"),  # was a context that never opens
        (("order", 3), "contexts[1] must be a str, not int (3)"),  # the good one matched, 3 was dropped
        ([b"order"], "contexts[0] must be a str, not bytes (b'order'): decode it first"),  # never "order"
        (b"order", "contexts must be a str or a list of str, not bytes (b'order'): decode it first"),
        (5, "contexts must be a str or a list of str, not int (5)"),  # was "'int' object is not iterable"
    ],
)
def test_contexts_that_are_not_names_are_a_type_error_naming_the_item(
    demo_engine: kefu.Engine, contexts: Any, error: str
) -> None:
    with pytest.raises(TypeError, match=f"^{re.escape(error)}"):
        demo_engine.match("那运费呢", contexts=contexts)
    with pytest.raises(TypeError, match=f"^{re.escape(error)}"):
        kefu.explain(demo_engine, "那运费呢", contexts)
