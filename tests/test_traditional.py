"""Traditional Chinese is folded to Simplified: a customer typing 運費 is answered like one typing 运费."""

from __future__ import annotations

import importlib.util
import json
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_BOT

import kefu
from kefu.entities import EntityExtractor
from kefu.model import meta_checksum
from kefu.normalize import fold, normalize
from kefu.spec import EntitySpec

SMP2017 = Path(__file__).resolve().parents[2] / "shared" / "data" / "smp2017"
TABLE_SCRIPT = Path(__file__).resolve().parent / "traditional_table.py"


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("運費多少", "运费多少"),  # shipping fee: fell back at 0.47 before folding
        ("包郵嗎", "包邮吗"),  # free shipping
        ("退貨", "退货"),  # a return
        ("訂單", "订单"),  # an order
        ("我要轉人工", "我要转人工"),  # a handoff
        ("發票怎麼開", "发票怎么开"),  # an invoice, with 麼 (never a Simplified character)
    ],
)
def test_the_demo_bot_answers_traditional_like_simplified(
    demo_engine: kefu.Engine, traditional: str, simplified: str
) -> None:
    expected = demo_engine.match(simplified)
    got = demo_engine.match(traditional)
    assert expected.intent is not None
    assert (got.intent, got.confidence) == (expected.intent, expected.confidence)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("運費多少？", "运费多少"),  # normalize folds along with NFKC and case
        ("ＡＢＣ訂單", "abc订单"),  # full-width letters and Traditional together
        ("以後再說", "以后再说"),  # 後 is folded, though GB 2312 lists it
        ("著名 乾坤 慰藉 瞭望", "著名 乾坤 慰藉 瞭望"),  # Simplified characters too: kept
        ("於是 夥伴 什麽 神祇", "於是 夥伴 什麽 神祇"),  # in GB 2312, so Simplified: kept
        ("麵條 頭髮 裡面", "面条 头发 里面"),  # Traditional-only forms of 面, 发, 里
    ],
)
def test_normalize_folds_traditional_and_keeps_simplified(text: str, expected: str) -> None:
    assert normalize(text) == expected


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def test_simplified_text_is_unchanged() -> None:
    # Every string of the demo bot (2,700 examples, replies and settings), and the SMP2017
    # train and dev texts where the shared data is there: folding changes none of them.
    texts = [
        s
        for file in sorted(DEMO_BOT.glob("*.yaml"))
        for s in _strings(yaml.safe_load(file.read_text("utf-8")))
    ]
    for split in ("train", "dev"):
        if (SMP2017 / f"{split}.jsonl").is_file():
            lines = (SMP2017 / f"{split}.jsonl").read_text("utf-8").splitlines()
            texts += [json.loads(line)["text"] for line in lines]
    assert len(texts) > 2000
    assert [t for t in texts if fold(t) != unicodedata.normalize("NFKC", t).casefold()] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("要紅色的", [("color", "红色", "紅色", 1, 3)]),  # a lookup value written Traditional
        (
            "ＮＡＶＹ或藍色",
            [("color", "深蓝色", "ＮＡＶＹ", 0, 4), ("color", "蓝色", "藍色", 5, 7)],
        ),  # widths too
        ("訂單號2024112712345678到了嗎", [("order_id", "2024112712345678", "2024112712345678", 3, 19)]),
        ("½個藍色", [("color", "蓝色", "藍色", 2, 4)]),  # NFKC lengthens ½: offsets still map back
    ],
)
def test_entities_in_traditional_text_keep_their_offsets(
    text: str, expected: list[tuple[str, str, str, int, int]]
) -> None:
    colors = EntitySpec("color", values=(("深蓝色", ("navy",)), ("蓝色", ()), ("红色", ())))
    values = EntityExtractor((colors, EntitySpec("order_id", builtin="order_id"))).extract(text)
    assert [(v.entity, v.value, v.text, v.start, v.end) for v in values] == expected
    assert all(text[v.start : v.end] == v.text for v in values)


def test_a_traditional_literal_in_a_pattern_is_refused(write_bot: Callable[..., Path]) -> None:
    folder = write_bot(
        **{"bot.yaml": "version: 1\nintents:\n  - name: fee\n    examples: [运费]\n    patterns: ['運費']\n"}
    )
    with pytest.raises(kefu.SpecError) as info:
        kefu.load_spec(folder)
    assert (
        "pattern '運費' can never match: patterns run on the normalized message, where '運' becomes '运'"
        in str(info.value)
    )


def test_a_model_saved_before_folding_is_retrained_not_reused(
    write_bot: Callable[..., Path], tmp_path: Path
) -> None:
    folder = write_bot(
        **{"bot.yaml": "version: 1\nintents:\n  - name: fee\n    examples: [運費多少, 邮费]\n"}
    )
    model_dir = kefu.save_model(kefu.train(kefu.load_spec(folder)), tmp_path / "model")
    meta_path = model_dir / "model.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    del meta["normalization"]  # as a kefu without folding wrote it
    meta["checksum"] = meta_checksum(meta)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    with pytest.raises(kefu.ModelError) as info:
        kefu.load_model(model_dir)
    assert str(info.value) == (
        f"{meta_path}: model trained on text normalized otherwise than this kefu does "
        "(it now folds Traditional Chinese to Simplified); retrain with `kefu train`"
    )


def test_the_table_is_opencc_s_less_simplified_characters() -> None:
    opencc = pytest.importorskip("opencc")
    spec = importlib.util.spec_from_file_location("traditional_table", TABLE_SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    if opencc.__version__ != script.OPENCC_VERSION:
        pytest.skip(f"the table comes from OpenCC {script.OPENCC_VERSION}, {opencc.__version__} is installed")
    pairs: list[tuple[str, str]] = script.pairs()
    # Regenerating it gives the shipped file, byte for byte.
    shipped = (Path(kefu.__file__).parent / "traditional.py").read_text("utf-8")
    assert script.module_text(pairs) == shipped
    # One for one, and no GB 2312 character but 後 is ever folded.
    assert all(len(t) == len(s) == 1 for t, s in pairs)
    assert [t for t, _ in pairs if script.in_gb2312(t)] == ["後"]
