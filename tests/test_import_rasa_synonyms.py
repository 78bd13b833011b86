"""Rasa synonyms of several words: kefu's `nlp.synonyms` replace one word of a message."""

from __future__ import annotations

from pathlib import Path

import kefu
from kefu.entities import EntityExtractor
from kefu.importers import write_bot
from kefu.rasa_import import read_rasa

NLU = """version: "3.1"
nlu:
- intent: 挂失
  examples: |
    - 我的[信用卡](card)丢了
    - [credit card](card) lost
- lookup: card
  examples: |
    - 信用卡
    - credit card
- synonym: credit card
  examples: |
    - credit cards
    - cc
- synonym: 七天无理由
  examples: |
    - 7天 无理由
"""


def test_multi_word_synonyms_are_reported_not_written(tmp_path: Path) -> None:
    # They were written to nlp.synonyms, loaded, and never applied: a message has no word
    # with a space in it. The entity still finds such a variant, as Rasa's synonyms do.
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(NLU, encoding="utf-8")
    report = write_bot(read_rasa(nlu), tmp_path / "bot")
    spec = kefu.load_spec(tmp_path / "bot")
    # cc -> credit card applies: the message's characters then read as credit card
    assert spec.nlp.synonyms == (("cc", "credit card"),)
    assert report.warnings == (
        f"{nlu}:13: synonym 'credit cards' -> 'credit card' not written to `nlp.synonyms`: kefu "
        "replaces one word of a message at a time, and 'credit cards' is 2 words once normalized "
        "('credit cards'), so it would never apply; entity 'card' still finds it as 'credit card'",
        f"{nlu}:17: synonym '7天 无理由' -> '七天无理由' not written to `nlp.synonyms`: kefu "
        "replaces one word of a message at a time, and '7天 无理由' is 2 words once normalized "
        "('7天 无理由'), so it would never apply",
    )
    found = EntityExtractor(spec.entities).extract("my credit cards are lost")
    assert [(v.entity, v.value, v.text) for v in found] == [("card", "credit card", "credit cards")]
