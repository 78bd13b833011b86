"""Rasa synonyms of several words become `nlp.synonyms` that apply."""

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


def test_multi_word_synonyms_are_written_and_apply(tmp_path: Path) -> None:
    # kefu replaces a variant of several words as a phrase, so Rasa's synonyms of several
    # words work as written; the entity finds such a variant too, as Rasa's synonyms do.
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(NLU, encoding="utf-8")
    report = write_bot(read_rasa(nlu), tmp_path / "bot")
    spec = kefu.load_spec(tmp_path / "bot")
    assert dict(spec.nlp.synonyms) == {
        "credit cards": "credit card",
        "cc": "credit card",
        "7天 无理由": "七天无理由",
    }
    assert not [w for w in report.warnings if "synonym" in w]
    engine = kefu.Engine(kefu.train(spec), load_entry_points=False)
    assert engine.segment("my credit cards are lost") == engine.segment("my credit card are lost")
    assert engine.segment("7天 无理由") == ["七天无理由"]
    found = EntityExtractor(spec.entities).extract("my credit cards are lost")
    assert [(v.entity, v.value, v.text) for v in found] == [("card", "credit card", "credit cards")]


def test_synonyms_a_bot_file_may_not_hold_are_left_out_with_a_warning(tmp_path: Path) -> None:
    """Since bot files refuse a variant jieba never gives whole, a variant written twice once
    normalized and a circle of synonyms, importing a Rasa project with one failed whole."""
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(
        'version: "3.1"\nnlu:\n- intent: 咖啡\n  examples: |\n    - 来杯coffee\n    - 我要咖啡\n'
        "- synonym: coffee\n  examples: |\n    - café\n    - kaffee\n"
        "- synonym: 会员\n  examples: |\n    - VIP\n- synonym: 贵宾\n  examples: |\n    - vip\n"
        "- synonym: 发货\n  examples: |\n    - 寄出\n- synonym: 寄出\n  examples: |\n    - 发货\n",
        encoding="utf-8",
    )
    report = write_bot(read_rasa(nlu), tmp_path / "bot")
    spec = kefu.load_spec(tmp_path / "bot")
    assert dict(spec.nlp.synonyms) == {"kaffee": "coffee", "vip": "会员", "寄出": "发货"}
    assert [w for w in report.warnings if "synonym" in w] == [
        "synonym 'café' -> 'coffee' left out: jieba never gives 'café' whole (it splits words at 'é')",
        "synonym 'vip' -> '贵宾' left out: it is 'VIP' again once normalized",
        "synonym '发货' -> '寄出' left out: it would close a circle of synonyms",
    ]
