"""Importing Rasa, ChatterBot, CSV and JSONL data as kefu bots, and exporting JSONL.

Every import is written to a folder and read back with ``kefu.load_spec``: the result
must load as written, and the assertions are on the loaded bot.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import kefu
from kefu.chatterbot_import import read_chatterbot
from kefu.cli import build_app
from kefu.entities import EntityExtractor
from kefu.importers import BotDraft, ImportReport, export_jsonl, write_bot
from kefu.rasa_import import read_rasa
from kefu.spec import EntitySpec
from kefu.specdump import dump_spec
from kefu.table_import import read_csv, read_jsonl
from kefu.templates import render

DATA = Path(__file__).parent / "data"
DEMO_BOT = Path(str(resources.files("kefu.intents")))

Reader = Callable[[Path], BotDraft]
IntentSummary = tuple[str, tuple[str, ...], tuple[str, ...], tuple[tuple[str, str, bool], ...]]


def placeholder(name: str) -> tuple[str, ...]:
    return (f"（请为意图 {name} 填写回复）",)


def summary(spec: kefu.BotSpec) -> list[IntentSummary]:
    """Each intent as (name, examples, responses, slots as (name, entity, required))."""
    return [
        (i.name, i.examples, i.responses, tuple((s.name, s.entity, s.required) for s in i.slots))
        for i in spec.intents
    ]


def imported(reader: Reader, source: Path, out: Path) -> tuple[kefu.BotSpec, ImportReport]:
    report = write_bot(reader(source), out)
    return kefu.load_spec(out), report


# --- Rasa -----------------------------------------------------------------------------

RASA_INTENTS: list[IntentSummary] = [
    ("查询物流", ("我的快递到哪了", "帮我查一下顺丰的物流", "中通快递怎么还没到", "用圆通寄的怎么查"),
     placeholder("查询物流"), (("courier", "courier", False),)),
    ("修改 颜色", ("我想把颜色换成深蓝", "能换成红的吗", "换个白色的"),
     placeholder("修改 颜色"), (("color", "color", False),)),
    ("申请退款", ("我要退钱", "订单202411271234申请退款", "怎么退款"),
     placeholder("申请退款"), (("order_no", "order_no", False),)),
    ("greet", ("你好", "在吗"), placeholder("greet"), ()),
    ("转人工", ("转人工", "我要找人工客服"), placeholder("转人工"), ()),
]  # fmt: skip
RASA_ENTITIES = (
    # annotations first, then the lookup table (inline 韵达, then the file's 申通 and 极兔);
    # the synonym 中通速递 -> 中通 joins the value 中通 that `[中通快递](courier:中通)` created
    EntitySpec("courier", values=(("顺丰", ()), ("中通", ("中通快递", "中通速递")), ("圆通", ()),
                                  ("韵达", ()), ("申通", ()), ("极兔", ()))),
    EntitySpec("color", values=(("蓝色", ("深蓝",)), ("红色", ("红的",)), ("白色", ()), ("黑色", ()))),
    # `- regex: order_no` has the annotated entity's name, so the entity is that regex
    EntitySpec("order_no", regex=r"\d{12}"),
)  # fmt: skip
RASA_SYNONYMS = (("退钱", "退款"), ("返钱", "退款"), ("中通速递", "中通"))
RASA_WARNINGS = ("example '在吗' of intent '转人工' dropped: it is already in 'greet'",)


GREETING = ("您好，请问有什么可以帮您？",)


@pytest.mark.parametrize(
    ("source", "greet_responses"),
    [
        # a Rasa 3 project: data/nlu.yml, and greet's answer from domain.yml via data/stories.yml
        pytest.param(DATA / "rasa3", GREETING, id="rasa3-yaml-project"),
        # the same data as Rasa 1.x Markdown, with a comment, a stories.md and a `templates:` domain
        pytest.param(DATA / "rasa1", GREETING, id="rasa1-markdown"),
        # the same data as Rasa JSON, entities as start/end offsets, a lookup table as a file name;
        # one file, no domain: every intent gets the placeholder
        pytest.param(DATA / "rasa_json" / "data" / "nlu.json", placeholder("greet"), id="rasa-json"),
    ],
)
def test_rasa_formats_import_to_the_same_bot(
    source: Path, greet_responses: tuple[str, ...], tmp_path: Path
) -> None:
    spec, report = imported(read_rasa, source, tmp_path / "bot")
    expected = [(n, e, greet_responses if n == "greet" else r, s) for n, e, r, s in RASA_INTENTS]
    assert summary(spec) == expected
    assert [replace(e, file="", line=0) for e in spec.entities] == list(RASA_ENTITIES)  # where aside
    assert spec.nlp.synonyms == RASA_SYNONYMS
    assert report.warnings == RASA_WARNINGS
    assert (report.intents, report.examples, report.entities) == (5, 14, 3)


def test_imported_rasa_entities_are_found_in_messages(tmp_path: Path) -> None:
    spec, _ = imported(read_rasa, DATA / "rasa3", tmp_path / "bot")
    found = EntityExtractor(spec.entities).extract("中通速递的单号202411279999还没到，换成深蓝")
    assert [(v.entity, v.value, v.text) for v in found] == [
        ("courier", "中通", "中通速递"),
        ("order_no", "202411279999", "202411279999"),
        ("color", "蓝色", "深蓝"),
    ]


def annotated_only(entity: str, shown: str, advice: str = "add a lookup table or a regex") -> str:
    """The warning for an entity that has only the values annotated in examples."""
    return (
        f"entity {entity!r} has only the values annotated in examples ({shown}): kefu finds just those, "
        f"where Rasa's model learned to find others; {advice}"
    )


RASA_YAML_CASES = [
    # Rasa 3 also allows `examples` as a list of texts or `{text, metadata}`
    pytest.param(
        "- intent: 问价\n  examples:\n  - text: |\n      [这件](item)多少钱\n"
        "    metadata: {sentiment: neutral}\n  - 打折吗\n",
        [("问价", ("这件多少钱", "打折吗"))],
        {"item": (("这件", ()),)},
        [annotated_only("item", "这件")],
        id="rasa3-examples-as-a-list-with-metadata",
    ),
    # one span tagged with two entities; roles and groups have no kefu equivalent
    pytest.param(
        "- intent: 订票\n  examples: |\n"
        '    - 从[北京][{"entity": "city", "role": "from"}, {"entity": "place"}]出发\n',
        [("订票", ("从北京出发",))],
        {"city": (("北京", ()),), "place": (("北京", ()),)},
        [
            annotated_only("city", "北京"),
            annotated_only("place", "北京"),
            "nlu.yml:5: entity 'city' is annotated with role from: kefu fills one slot per entity "
            "and cannot tell its roles apart; give each role an entity of its own",
        ],
        id="annotation-with-a-list-of-entity-dicts",
    ),
    # Rasa warns about and skips such a line; the warning names its line
    pytest.param(
        "- intent: 问候\n  examples: |\n    - 你好\n    这行没有短横\n",
        [("问候", ("你好",))],
        {},
        ["nlu.yml:6: skipped '这行没有短横': examples are written `- example`"],
        id="a-line-without-a-dash-is-skipped-as-rasa-does",
    ),
    # a synonym's examples are its variants; a second target for one variant is reported
    pytest.param(
        "- intent: 退款\n  examples: |\n    - 退钱\n- synonym: 退款\n  examples: |\n    - 退钱\n"
        "- synonym: 退货\n  examples: |\n    - 退钱\n",
        [("退款", ("退钱",))],
        {},
        ["nlu.yml:11: synonym '退钱' -> '退货' ignored; it already means '退款'"],
        id="a-variant-keeps-its-first-synonym",
    ),
    # kefu entities have one kind: the regex, and annotated values it misses are reported
    pytest.param(
        "- intent: 查单\n  examples: |\n    - 订单[A123](order)\n    - 订单[二号](order)\n"
        "- regex: order\n  examples: |\n    - [A-Z]\\d+\n",
        [("查单", ("订单A123", "订单二号"))],
        {"order": r"[A-Z]\d+"},
        ["entity 'order' is a regex; values it does not match are not found: 二号"],
        id="a-regex-wins-over-annotated-values-it-does-not-match",
    ),
    # Rasa's model learned to find other phone numbers and dates from these; kefu finds just the
    # annotated ones, and said nothing. A built-in entity that finds each of them is suggested.
    pytest.param(
        "- intent: 预约\n  examples: |\n    - 电话[13800138000](phone)，[明天](day)上门\n"
        "    - [+86 139-0000-1111](phone)\n    - 要[两](count:2)台\n",
        [("预约", ("电话13800138000，明天上门", "+86 139-0000-1111", "要两台"))],
        {
            "phone": (("13800138000", ()), ("+86 139-0000-1111", ())),
            "day": (("明天", ()),),
            "count": (("2", ("两",)),),
        },
        [
            annotated_only(
                "phone", "13800138000, +86 139-0000-1111", "`builtin: mobile` finds any such value"
            ),
            annotated_only("day", "明天", "`builtin: date` finds any such value"),
            annotated_only("count", "2, 两"),
        ],
        id="entities-known-only-by-annotated-values",
    ),
    # 寄件 and 收件 cities filled one slot without a word: roles and groups are reported
    pytest.param(
        "- intent: 寄件\n  examples: |\n"
        '    - 从[北京]{"entity": "city", "role": "寄件"}寄到[上海]{"entity": "city", "role": "收件"}\n'
        '    - 两件[衣服]{"entity": "item", "group": "1"}\n'
        "- lookup: city\n  examples: |\n    - 广州\n- lookup: item\n  examples: |\n    - 鞋\n",
        [("寄件", ("从北京寄到上海", "两件衣服"))],
        {"city": (("北京", ()), ("上海", ()), ("广州", ())), "item": (("衣服", ()), ("鞋", ()))},
        [
            "nlu.yml:5: entity 'city' is annotated with role 寄件, role 收件: kefu fills one slot per entity "
            "and cannot tell its roles apart; give each role an entity of its own",
            "nlu.yml:6: entity 'item' is annotated with group 1: kefu fills one slot per entity "
            "and cannot tell its roles apart; give each role an entity of its own",
        ],
        id="roles-and-groups-are-reported",
    ),
    # two `- regex:` items of one name become one alternation
    pytest.param(
        "- intent: 查单\n  examples: |\n    - 订单[A123](order)\n"
        "- regex: order\n  examples: |\n    - [A-Z]\\d+\n- regex: order\n  examples: |\n    - \\d{12}\n",
        [("查单", ("订单A123",))],
        {"order": r"(?:[A-Z]\d+)|(?:\d{12})"},
        [],
        id="two-regexes-of-one-entity-are-alternatives",
    ),
    # Rasa matches regexes on the raw text, kefu on NFKC text: full-width literals are written
    # in NFKC form (the bot file would not load with them: they could never match)
    pytest.param(
        "- intent: 查单\n  examples: |\n    - 编号：[AB12](code)\n"
        "- regex: code\n  examples: |\n    - 编号：[Ａ-Ｚ]{2}\\d+\n",
        [("查单", ("编号：AB12",))],
        {"code": r"编号:[A-Z]{2}\d+"},
        [
            "entity 'code': regex '编号：[Ａ-Ｚ]{2}\\\\d+' written as '编号:[A-Z]{2}\\\\d+' "
            "(kefu matches it on NFKC text)",
            "entity 'code' is a regex; values it does not match are not found: AB12",
        ],
        id="full-width-regex-literals-are-written-in-nfkc-form",
    ),
    # every alternative of it too (an alternation was written raw, and never matched)
    pytest.param(
        "- intent: 查单\n  examples: |\n    - 编号：[123](code)\n"
        "- regex: code\n  examples: |\n    - 编号：\\d+\n    - ＮＯ\\d+\n",
        [("查单", ("编号：123",))],
        {"code": r"(?:编号:\d+)|(?:NO\d+)"},
        [
            "entity 'code': regex '(?:编号：\\\\d+)|(?:ＮＯ\\\\d+)' written as "
            "'(?:编号:\\\\d+)|(?:NO\\\\d+)' (kefu matches it on NFKC text)",
            "entity 'code' is a regex; values it does not match are not found: 123",
        ],
        id="full-width-regex-alternatives-are-written-in-nfkc-form",
    ),
    # words the extractor reads alike (case and width ignored) under one value: the bot file
    # refuses a word under two, and the import failed whole
    pytest.param(
        "- intent: 会员\n  examples: |\n    - 我是[VIP](level)\n    - 我是[vip](level)\n"
        "    - 要[ＸＬ](size)\n    - 要[XL](size)\n    - 要[深蓝](color:蓝色)\n    - 要[深蓝](color:青色)\n"
        "    - 要[ ](color:蓝色)\n",
        [("会员", ("我是VIP", "要ＸＬ", "要深蓝", "要"))],  # examples alike once normalized are one
        {
            "level": (("VIP", ()),),
            "size": (("ＸＬ", ()),),
            "color": (("蓝色", ("深蓝",)), ("青色", ())),
        },
        [
            annotated_only("level", "VIP, vip"),
            annotated_only("size", "ＸＬ, XL"),
            annotated_only("color", "蓝色, 深蓝,   …"),  # the third is the blank text
            "entity 'level': value 'vip' joins 'VIP', the same word as the extractor reads it",
            "entity 'size': value 'XL' joins 'ＸＬ', the same word as the extractor reads it",
            "entity 'color': a blank text of value '蓝色' left out",
            "entity 'color': '深蓝' left out of '青色': it already gives '蓝色'",
        ],
        id="words-read-alike-are-one-value",
    ),
    # names with an invisible character, which a bot file refuses: the import failed whole
    pytest.param(
        "- intent: 问\u200b候\n  examples: |\n    - 要[红色](co\u200blor)的\n",
        [("问候", ("要红色的",))],
        {"color": (("红色", ()),)},
        [
            annotated_only("co\u200blor", "红色"),
            "intent " + repr("问\u200b候") + " renamed to '问候'",
            "entity " + repr("co\u200blor") + " renamed to 'color': it names a slot, written {color}",
        ],
        id="invisible-characters-leave-names",
    ),
    # unless that would change the regex syntax: a full-width paren would open a group
    pytest.param(
        "- intent: 查单\n  examples: |\n    - 编号[AB12](code)\n"
        "- regex: code\n  examples: |\n    - （编号）\\d+\n",
        [("查单", ("编号AB12",))],
        {},
        ["entity 'code' dropped: regex '（编号）\\\\d+' holds full-width regex syntax"],
        id="full-width-regex-syntax-drops-the-entity",
    ),
]


@pytest.mark.parametrize(("body", "intents", "entities", "warnings"), RASA_YAML_CASES)
def test_rasa_yaml_details(
    tmp_path: Path,
    body: str,
    intents: list[tuple[str, tuple[str, ...]]],
    entities: dict[str, Any],
    warnings: list[str],
) -> None:
    nlu = tmp_path / "nlu.yml"
    nlu.write_text('version: "3.1"\nnlu:\n' + body, encoding="utf-8")
    spec, report = imported(read_rasa, nlu, tmp_path / "bot")
    assert [(i.name, i.examples) for i in spec.intents] == intents
    assert {e.name: e.regex or e.values for e in spec.entities} == entities
    assert [w.replace(f"{tmp_path}/", "") for w in report.warnings] == warnings


RASA_DOMAIN = """version: "3.1"
responses:
  utter_hello:
  - text: 您好！
  - text: 嗨，您好
  utter_ask_help:
  - text: 请问有什么可以帮您？
  - text: 需要什么帮助？
  utter_bye:
  - text: 再见，{name}
  - image: https://example.com/bye.png
  - text:
  utter_refund_policy:
  - text: 七天无理由退货
  utter_thanks:
  - text: 不客气
"""
RASA_RULES = """version: "3.1"
rules:
- rule: 打招呼
  steps:
  - intent: hello
  - slot_was_set:
    - name: 小王
  - action: utter_hello
  - action: utter_ask_help
- rule: 告别
  steps:
  - intent: bye
  - action: utter_bye
stories:
- story: 退款后查订单
  steps:
  - intent: refund
  - action: utter_refund_policy
  - intent: order_status
  - action: action_check_order
  - action: utter_refund_policy
- story: 投诉
  steps:
  - intent: complain
  - action: utter_sorry
"""


def test_rasa_responses_follow_rules_and_stories(tmp_path: Path) -> None:
    project = tmp_path / "rasa"
    (project / "data").mkdir(parents=True)
    (project / "domain.yml").write_text(RASA_DOMAIN, encoding="utf-8")
    (project / "data" / "rules.yml").write_text(RASA_RULES, encoding="utf-8")
    intents = ["hello", "bye", "refund", "order_status", "complain", "thanks"]
    nlu = "".join(f"- intent: {name}\n  examples: |\n    - {name} 一\n    - {name} 二\n" for name in intents)
    (project / "data" / "nlu.yml").write_text(f'version: "3.1"\nnlu:\n{nlu}', encoding="utf-8")
    spec, report = imported(read_rasa, project, tmp_path / "bot")
    assert {i.name: i.responses for i in spec.intents} == {
        # two actions in a row: each variation of the first, then the first text of the next
        "hello": ("您好！\n请问有什么可以帮您？", "嗨，您好\n请问有什么可以帮您？"),
        "bye": ("再见，{{name}}",),  # image and empty variations are skipped; braces are plain text
        "refund": ("七天无理由退货",),
        "order_status": placeholder("order_status"),  # a custom action answers first: unknown text
        "complain": placeholder("complain"),  # utter_sorry is not in the domain
        "thanks": ("不客气",),  # no rule or story: utter_<intent>, by Rasa's naming convention
    }
    assert report.warnings == (
        "intent 'bye': response '再见，{name}' names Rasa slots ({name}); "
        "they are kept as plain text (write kefu placeholders by hand)",
        f"{project}/data/rules.yml:20: intent 'order_status' is answered by the action action_check_order, "
        "which is not imported: its reply is not in the files (fill in the placeholder, or call your code "
        "from a plugin)",
        "intent 'complain': no text for utter_sorry in the domain",
        f"{project}/domain.yml:11: `image` of 1 response variation not imported (e.g. in utter_bye): "
        "kefu imports a response's text only",
    )
    engine = kefu.Engine.from_path(tmp_path / "bot", seed=0)
    assert engine.reply("bye 一").text == "再见，{name}"


RASA_DOMAIN_EXTRAS = """version: "3.1"
forms:
  order_form:
    required_slots: [order_id]
responses:
  utter_greet:
  - text: 你好！有什么可以帮您？
    buttons:
    - {title: 查订单, payload: /check_order}
  - text: 您好～
    image: https://example.com/hi.png
  - text: 欢迎光临
    buttons:
    - {title: 问价格, payload: /ask_price}
  utter_check_order:
  - text: 您的订单正在配送中
  - text: VIP的订单
    condition:
    - {type: slot, name: vip, value: true}
  utter_ask_price:
  - custom:
      blocks: [{type: section, text: 价格卡片}]
"""


def test_rasa_content_kefu_does_not_import_is_reported(tmp_path: Path) -> None:
    # Buttons, images, custom payloads and forms were dropped without a word, and a conditional
    # variation became an answer for everyone.
    (tmp_path / "domain.yml").write_text(RASA_DOMAIN_EXTRAS, encoding="utf-8")
    nlu = "".join(
        f"- intent: {n}\n  examples: |\n    - {n} 一\n" for n in ("greet", "check_order", "ask_price")
    )
    (tmp_path / "nlu.yml").write_text(f'version: "3.1"\nnlu:\n{nlu}', encoding="utf-8")
    spec, report = imported(read_rasa, tmp_path, tmp_path / "bot")
    assert {i.name: i.responses for i in spec.intents} == {
        "greet": ("你好！有什么可以帮您？", "您好～", "欢迎光临"),
        "check_order": ("您的订单正在配送中",),
        "ask_price": placeholder("ask_price"),
    }
    domain = tmp_path / "domain.yml"
    assert report.warnings == (
        f"{domain}:3: 1 form not imported (e.g. order_form, which asks for order_id): in kefu an intent "
        "asks for a slot it marks `required: true` with a `prompt`; "
        "add those to the intents that start the form",
        f"{domain}:7: `buttons` of 2 response variations not imported (e.g. in utter_greet): "
        "kefu imports a response's text only",
        f"{domain}:10: `image` of 1 response variation not imported (e.g. in utter_greet): "
        "kefu imports a response's text only",
        f"{domain}:17: 1 response variation with `condition` skipped (e.g. in utter_check_order): "
        "kefu has no conditional responses and would say them in every conversation",
        f"{domain}:21: `custom` of 1 response variation not imported (e.g. in utter_ask_price): "
        "kefu imports a response's text only",
    )


# --- ChatterBot -----------------------------------------------------------------------

GREETINGS: IntentSummary = (
    "greetings",
    ("你好", "嗨", "欢迎!", "嗨，最近如何?", "你好吗?"),
    (
        "嗨",
        "你好",
        "欢迎!",
        "挺好",
        "挺好的",
        "不错",
        "很棒",
        "有待改善.",
        "不怎么好.",
        "挺好.",
        "很好，谢谢.",
    ),
    (),
)
PROFILE: IntentSummary = (
    "profile",
    ("你的兴趣是什么", "你的号码是多少", "你为什么不能吃", "你的位置是什么", "你有兄弟", "谁是你的父亲",
     "谁是你妈妈", "你几岁", "你怎么知道的呢"),
    ("我对各种事物感兴趣,我们可以谈论任何事情,我最喜欢的科目是机器人和计算机,自然语言处理。",
     "我没有任何数字", "我会消耗电力", "到处", "我没有任何兄弟,但我有很多克隆。", "一个人",
     "其实我没有妈妈。", "我还年轻", "我的主人每天都告诉我这一个"),
    (),
)  # fmt: skip


def mixed(file: str, line: int, intent: str, counts: tuple[int, int], example: tuple[str, str]) -> str:
    """The warning for a ChatterBot file whose questions have answers of their own."""
    return (
        f"{DATA / 'chatterbot' / file}:{line}: {counts[0]} questions with answers of their own became one "
        f"intent {intent!r}, which may give any of its {counts[1]} answers to any of them "
        f"(e.g. {example[0]!r} -> {example[1]!r}); "
        "split the file by question where an answer must fit its question"
    )


# 你的兴趣是什么 could be answered 我没有任何数字, without a word in the report
PROFILE_MIXED = mixed("botprofile.yml", 4, "profile", (9, 9), ("你的兴趣是什么", "我没有任何数字"))
GREETINGS_MIXED = mixed("greetings.yml", 4, "greetings", (5, 11), ("你好", "你好"))


@pytest.mark.parametrize(
    ("source", "expected", "warnings"),
    [
        # a folder: one intent per file, named by its category, files in name order
        pytest.param(
            DATA / "chatterbot", [PROFILE, GREETINGS], (PROFILE_MIXED, GREETINGS_MIXED), id="folder"
        ),
        # one file; repeated first utterances become one example, every answer a response
        pytest.param(DATA / "chatterbot" / "greetings.yml", [GREETINGS], (GREETINGS_MIXED,), id="file"),
    ],
)
def test_chatterbot_corpus(
    source: Path, expected: list[IntentSummary], warnings: tuple[str, ...], tmp_path: Path
) -> None:
    spec, report = imported(read_chatterbot, source, tmp_path / "bot")
    assert summary(spec) == expected
    assert report.warnings == warnings


def test_chatterbot_file_without_categories_is_named_after_the_file(tmp_path: Path) -> None:
    corpus = tmp_path / "售后.yml"
    corpus.write_text(
        "conversations:\n- - 怎么退货\n  - 七天内可以无理由退货\n- - 退货运费谁出\n", encoding="utf-8"
    )
    spec, _ = imported(read_chatterbot, corpus, tmp_path / "bot")
    assert summary(spec) == [("售后", ("怎么退货", "退货运费谁出"), ("七天内可以无理由退货",), ())]


def test_chatterbot_utterances_after_the_second_are_reported(tmp_path: Path) -> None:
    # 你吃了吗 -> 吃了 was dropped without a warning.
    corpus = tmp_path / "greet.yml"
    corpus.write_text(
        "categories: [问候]\nconversations:\n- - 你好\n  - 你好呀\n"
        "- - 早上好\n  - 早\n  - 你吃了吗\n  - 吃了\n- - 晚上好\n  - 晚上好呀\n  - 晚安\n",
        encoding="utf-8",
    )
    spec, report = imported(read_chatterbot, corpus, tmp_path / "bot")
    assert summary(spec) == [("问候", ("你好", "早上好", "晚上好"), ("你好呀", "早", "晚上好呀"), ())]
    assert report.warnings == (
        f"{corpus}:5: 2 conversations with more than two utterances: only the first two were imported, "
        "as example and response (e.g. '早上好' -> '早'; left out: '你吃了吗', '吃了'); "
        "put a later exchange in a conversation of its own to keep it",
        f"{corpus}:3: 3 questions with answers of their own became one intent '问候', which may give any "
        "of its 3 answers to any of them (e.g. '你好' -> '早'); split the file by question where an answer "
        "must fit its question",
    )


# --- CSV and JSONL --------------------------------------------------------------------

LABELED_CASES = [
    # responses kept in order; an intent without one gets the placeholder
    pytest.param(
        "text,intent,response\n我的快递到哪了,查物流,正在配送中\n物流到哪了,查物流,请稍等\n怎么退款,退款,\n",
        [("查物流", ("我的快递到哪了", "物流到哪了"), ("正在配送中", "请稍等"), ()),
         ("退款", ("怎么退款",), placeholder("退款"), ())],
        [],
        id="responses-and-a-placeholder-for-an-intent-without-one",
    ),
    # Excel-style CSV: BOM, capitalized header with spaces; blank and repeated rows
    pytest.param(
        "\ufeffIntent , Text\n查物流,快递到哪了\n\n查物流,快递到哪了\n",
        [("查物流", ("快递到哪了",), placeholder("查物流"), ())],
        [],
        id="header-any-order-and-case-bom-blank-lines-repeats",
    ),
    # kefu refuses one example in two intents: 在吗？ normalizes to 在吗 and stays in greet
    pytest.param(
        "text,intent\n在吗,greet\n在吗？,human\n转人工,human\n",
        [("greet", ("在吗",), placeholder("greet"), ()), ("human", ("转人工",), placeholder("human"), ())],
        ["example '在吗？' of intent 'human' dropped: it is already in 'greet'"],
        id="same-example-after-normalization-stays-in-the-first-intent",
    ),
    # an example without letters leaves 问号 empty; out_of_scope is kefu's test label
    pytest.param(
        "text,intent\n？？,问号\n天气怎么样,out_of_scope\n查 {订单},order status\n",
        [("imported_out_of_scope", ("天气怎么样",), placeholder("imported_out_of_scope"), ()),
         ("order status", ("查 {订单}",), placeholder("order status"), ())],
        ["example '？？' of intent '问号' dropped: it has no letters or digits",
         "intent '问号' dropped: it has no usable examples",
         "intent 'out_of_scope' renamed to 'imported_out_of_scope': kefu reserves it for test files"],
        id="empty-intent-reserved-name-and-spaces-in-names",
    ),
    # quoted values may hold commas, doubled quotes and line breaks: no quote is left open
    pytest.param(
        'text,intent,response\n"退款,怎么退",refund,"第一行\n第二行 ""引号"""\n',
        [("refund", ("退款,怎么退",), ('第一行\n第二行 "引号"',), ())],
        [],
        id="quoted-values-with-commas-quotes-and-line-breaks",
    ),
    # a brace would start a template placeholder in kefu
    pytest.param(
        'text,intent,response\n包邮吗,运费,"满{99}元包邮"\n',
        [("运费", ("包邮吗",), ("满{{99}}元包邮",), ())],
        [],
        id="braces-in-replies-are-escaped",
    ),
]  # fmt: skip


def as_jsonl(csv_text: str) -> str:
    """The CSV case as JSON lines, so both readers are held to the same table."""
    rows = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    rows.fieldnames = [f.strip().lower() for f in rows.fieldnames or []]
    lines = [json.dumps({k: v for k, v in row.items() if v}, ensure_ascii=False) for row in rows]
    return "\n".join(line if line != "{}" else "" for line in lines) + "\n"


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
@pytest.mark.parametrize(("text", "expected", "warnings"), LABELED_CASES)
def test_csv_and_jsonl(
    tmp_path: Path, kind: str, text: str, expected: list[IntentSummary], warnings: list[str]
) -> None:
    source = tmp_path / f"data.{kind}"
    source.write_text(text if kind == "csv" else as_jsonl(text), encoding="utf-8")
    spec, report = imported(read_csv if kind == "csv" else read_jsonl, source, tmp_path / "bot")
    assert summary(spec) == expected
    assert list(report.warnings) == warnings


def test_escaped_reply_renders_as_the_original_text(tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text('text,intent,response\n包邮吗,运费,"满{99}元包邮"\n', encoding="utf-8")
    spec, _ = imported(read_csv, source, tmp_path / "bot")
    assert render(spec.intent("运费").responses[0], {}) == "满{99}元包邮"


# Texts YAML reads specially when written bare: line breaks other than \n (U+0085 was folded to a
# space), comment and mapping marks, quotes, escapes, flow and tag indicators, YAML 1.1 booleans,
# null and numbers, invisible characters.
AWKWARD_TEXTS = [
    "第一行\u2028第二行", "退款\u0085多久到账", "发票\u2029抬头", "  前后有空格  ", "订单 #3 没到",
    "问题: 怎么退", "'单引号'", '"双引号"', "反斜杠\\n不是换行", "制表\t符", "表情😀", "yes", "no", "null",
    "1e3", "0x1F", "~波浪", "- 横线开头", "[方括号]", "{花括号}", "@at开头", "&锚点", "*别名", "!标签",
    "|竖线", ">大于号", "%百分号", "`反引号", "\ufeff零宽BOM", "不换行\u00a0空格", "回车\r\n换行",
]  # fmt: skip


def test_awkward_texts_come_back_from_the_yaml_written(tmp_path: Path) -> None:
    source = tmp_path / "data.jsonl"
    rows = [{"text": text, "intent": "a"} for text in AWKWARD_TEXTS]
    rows.append({"text": "\u0085换行开头", "intent": "b", "response": "您好\u0085请稍等\u2028马上来"})
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    spec, report = imported(read_jsonl, source, tmp_path / "bot")
    # An import strips the whitespace around a text, and U+0085 is whitespace (str.strip).
    assert summary(spec) == [
        ("a", tuple(text.strip() for text in AWKWARD_TEXTS), placeholder("a"), ()),
        ("b", ("换行开头",), ("您好\u0085请稍等\u2028马上来",), ()),
    ]
    assert report.warnings == ()


def test_dump_spec_keeps_awkward_texts_exactly(tmp_path: Path) -> None:
    # dump_spec writes a saved model's bot.yaml: its texts are not stripped, a leading U+0085 stays.
    examples = [*AWKWARD_TEXTS, "\u0085换行开头", "结尾换行\u0085"]
    bot = tmp_path / "bot.yaml"
    document = {"version": 1, "intents": [{"name": "a", "examples": examples, "responses": ["好\u2028的"]}]}
    bot.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML, with exact escapes
    spec = kefu.load_spec(bot)
    assert summary(spec) == [("a", tuple(examples), ("好\u2028的",), ())]
    dumped = tmp_path / "dumped" / "bot.yaml"
    dumped.parent.mkdir()
    dumped.write_text(dump_spec(spec), encoding="utf-8")
    assert summary(kefu.load_spec(dumped)) == summary(spec)


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("[]", ()),  # acknowledgements turned off: an empty list must not load back as the default
        ("[好的, 稍等]", ("好的", "稍等")),  # a bot's own list
    ],
)
def test_dump_spec_keeps_the_acknowledge_words(tmp_path: Path, written: str, words: tuple[str, ...]) -> None:
    bot = tmp_path / "bot.yaml"
    intents = "intents:\n  - name: a\n    examples: [你好]\n"
    bot.write_text(f"version: 1\nbot: {{acknowledge_words: {written}}}\n{intents}", encoding="utf-8")
    spec = kefu.load_spec(bot)
    assert spec.settings.acknowledge_words == words
    dumped = tmp_path / "dumped" / "bot.yaml"
    dumped.parent.mkdir()
    dumped.write_text(dump_spec(spec), encoding="utf-8")
    assert kefu.load_spec(dumped).settings == spec.settings


@pytest.mark.parametrize("key", ["nothing_to_cancel_reply", "give_up_reply"])
def test_dump_spec_keeps_the_bots_own_replies(tmp_path: Path, key: str) -> None:
    bot = tmp_path / "bot.yaml"
    intents = "intents:\n  - name: a\n    examples: [你好]\n"
    bot.write_text(f"version: 1\nbot: {{{key}: 好嘞}}\n{intents}", encoding="utf-8")
    spec = kefu.load_spec(bot)
    assert getattr(spec.settings, key) == "好嘞"
    dumped = tmp_path / "dumped" / "bot.yaml"
    dumped.parent.mkdir()
    dumped.write_text(dump_spec(spec), encoding="utf-8")
    assert kefu.load_spec(dumped).settings == spec.settings


# --- export ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_bot",
    [
        # the bundled demo bot, with contexts, slots and patterns
        pytest.param(lambda tmp: DEMO_BOT, id="demo-bot"),
        # a bot imported from Rasa, exported and imported again
        pytest.param(lambda tmp: write_bot(read_rasa(DATA / "rasa3"), tmp / "rasa").folder, id="rasa-import"),
    ],
)
def test_export_jsonl_round_trip(make_bot: Callable[[Path], Path], tmp_path: Path) -> None:
    original = kefu.load_spec(make_bot(tmp_path))
    exported = tmp_path / "examples.jsonl"
    exported.write_text("".join(line + "\n" for line in export_jsonl(original)), encoding="utf-8")
    spec, report = imported(read_jsonl, exported, tmp_path / "again")
    assert [(i.name, i.examples) for i in spec.intents] == [(i.name, i.examples) for i in original.intents]
    assert report.warnings == ()


def test_export_jsonl_round_trip_keeps_intent_names(tmp_path: Path) -> None:
    # kefu takes any intent name; the import renamed these to order_status, a_b_ and 查_物流
    names = ["order status", "a{b}", "查\u3000物流"]
    document = {"version": 1, "intents": [{"name": n, "examples": [f"例句{i}"]} for i, n in enumerate(names)]}
    (tmp_path / "bot.yaml").write_text(json.dumps(document), encoding="utf-8")
    exported = tmp_path / "examples.jsonl"
    exported.write_text("".join(line + "\n" for line in export_jsonl(kefu.load_spec(tmp_path))), "utf-8")
    spec, report = imported(read_jsonl, exported, tmp_path / "again")
    assert [(i.name, i.examples) for i in spec.intents] == [(n, (f"例句{i}",)) for i, n in enumerate(names)]
    assert render(spec.intent("a{b}").responses[0], {}) == "（请为意图 a{b} 填写回复）"
    assert report.warnings == ()


def test_export_jsonl_lines() -> None:
    spec = kefu.load_spec(DEMO_BOT)
    lines = list(export_jsonl(spec))
    assert len(lines) == sum(len(i.examples) for i in spec.intents)
    first = spec.intents[0]
    assert json.loads(lines[0]) == {"text": first.examples[0], "intent": first.name}
    assert lines[0] == json.dumps({"text": first.examples[0], "intent": first.name}, ensure_ascii=False)


# --- bad input: SpecError naming file and line ----------------------------------------

UNCLOSED_QUOTE = (
    'unclosed quote: the text from this " to the end of the file would be one value; '
    'close it (a " inside a quoted value is written "")'
)

ANNOTATION = '[a]{"entity": "e", "value": '
"""The start of a Rasa entity annotation whose value the cases below make unreadable."""

BAD_INPUTS = [
    # YAML syntax: the line PyYAML stopped at
    pytest.param(
        read_rasa,
        "nlu.yml",
        "nlu:\n- intent: a\n  examples: |\n    - x\n  - y: [\n",
        "nlu.yml:5: invalid YAML: expected <block end>, but found '-'",
        id="rasa-malformed-yaml",
    ),
    # the line inside the `|` block (a blank line counts)
    pytest.param(
        read_rasa,
        "nlu.yml",
        'nlu:\n- intent: a\n  examples: |\n    - x\n\n    - [y]{"entity": e}\n',
        "nlu.yml:6: invalid entity annotation '[y]{\"entity\": e}': Expecting value",
        id="rasa-annotation-that-is-not-json",
    ),
    pytest.param(
        read_rasa,
        "nlu.yml",
        "nlu:\n- regex: code\n  examples: |\n    - '[A-Z'\n",
        "nlu.yml:4: invalid regex \"'[A-Z'\": unterminated character set at position 6",
        id="rasa-invalid-regex",
    ),
    pytest.param(
        read_rasa,
        "nlu.yml",
        "nlu:\n- lookup: city\n  examples: |\n    - 北京\n    - cities.txt\n",
        "nlu.yml:5: lookup file 'cities.txt' not found next to this file or above it",
        id="rasa-missing-lookup-file",
    ),
    pytest.param(
        read_rasa,
        "nlu.yml",
        "nlu:\n- intent: a\n- intent: b\n  examples: |\n    - x\n",
        "nlu.yml:2: intent 'a' has no `examples`",
        id="rasa-intent-without-examples",
    ),
    # YAML also breaks lines at U+2028 (pasted from web pages): lines are counted as editors show them
    pytest.param(
        read_rasa,
        "nlu.yml",
        "nlu:\n- synonym: 'credit\u2028card'\n  examples: |\n    - cc\n- intent: a\n",
        "nlu.yml:5: intent 'a' has no `examples`",
        id="rasa-line-after-a-line-separator",
    ),
    pytest.param(
        read_rasa,
        "nlu.yml",
        "nlu:\n- examples: |\n    - x\n",
        "nlu.yml:2: an `nlu` item needs intent, synonym, regex or lookup",
        id="rasa-unknown-item",
    ),
    # a file named on its own with a suffix no Rasa reader knows (was a KeyError)
    pytest.param(
        read_rasa,
        "nlu.txt",
        "## intent:a\n- x\n",
        "nlu.txt:1: not a Rasa file: the name must end in .yml, .yaml, .md, .json (it ends in '.txt')",
        id="rasa-file-with-unknown-suffix",
    ),
    pytest.param(
        read_rasa,
        "nlu",
        "## intent:a\n- x\n",
        "nlu:1: not a Rasa file: the name must end in .yml, .yaml, .md, .json (it ends in '')",
        id="rasa-file-without-suffix",
    ),
    # a domain file given on its own holds nothing to import
    pytest.param(
        read_rasa,
        "domain.yml",
        "intents: [greet]\nresponses: {}\n",
        "domain.yml:1: no Rasa NLU data "
        "(YAML with `nlu:`, Markdown with `## intent:`, JSON with `rasa_nlu_data`)",
        id="rasa-file-without-nlu",
    ),
    # Rasa 1.x: a bare line in a lookup section names a file
    pytest.param(
        read_rasa,
        "nlu.md",
        "## intent:a\n- x\n\n## lookup:city\ndata/cities.txt\n",
        "nlu.md:5: lookup file 'data/cities.txt' not found next to this file or above it",
        id="rasa1-markdown-missing-lookup-file",
    ),
    pytest.param(
        read_rasa,
        "nlu.json",
        '{"rasa_nlu_data": {\n  "common_examples": [\n    {"text": "x",}\n]}}\n',
        "nlu.json:3: invalid JSON: Expecting property name enclosed in double quotes",
        id="rasa-malformed-json",
    ),
    # JSON structure problems point at the example's text
    pytest.param(
        read_rasa,
        "nlu.json",
        '{"rasa_nlu_data": {"common_examples": [\n {"text": "查顺丰", "intent": "a",\n'
        '  "entities": [{"start": 1, "end": 9, "entity": "courier"}]}]}}\n',
        "nlu.json:2: entity start/end 1/9 do not fit '查顺丰'",
        id="rasa-json-entity-out-of-range",
    ),
    pytest.param(
        read_chatterbot,
        "ai.yml",
        "categories: [AI]\nconversations:\n- - 你好\n  - 嗨\n- 什么是ai\n",
        "ai.yml:5: a conversation must be a list",
        id="chatterbot-conversation-not-a-list",
    ),
    pytest.param(
        read_chatterbot,
        "ai.yml",
        "categories: [AI]\n",
        "ai.yml:1: not a ChatterBot corpus: no `conversations`",
        id="chatterbot-without-conversations",
    ),
    pytest.param(
        read_csv,
        "data.csv",
        "question,label\n你好,greet\n",
        "data.csv:1: CSV header needs columns text,intent[,response] or 问题,意图[,回复] "
        "(got question,label)",
        id="csv-missing-columns",
    ),
    pytest.param(
        read_csv,
        "data.csv",
        "text,intent\n你好,greet\n在吗\n",
        "data.csv:3: row has no `intent`",
        id="csv-row-without-intent",
    ),
    # 你好 saved as GBK
    pytest.param(
        read_csv,
        "data.csv",
        b"text,intent\n\xc4\xe3\xba\xc3,greet\n",
        "data.csv:2: file is not UTF-8 (byte 0xc4); it reads as GB18030 (GBK), what Chinese Windows saves "
        "by default: convert it to UTF-8, e.g. iconv -f GB18030 -t UTF-8 (Excel: save as 'CSV UTF-8'; "
        "Big5 files: -f BIG5)",
        id="csv-in-gbk",
    ),
    # half a character in Rasa JSON or ChatterBot YAML is reported in the source, not in the bot written
    pytest.param(
        read_rasa,
        "nlu.json",
        '{"rasa_nlu_data": {"common_examples": [\n{"text": "你好", "intent": "a"},\n'
        '{"text": "在\\ud800吗", "intent": "b"}]}}',
        "nlu.json:3: lone surrogate \\ud800 (half of a character): write the character itself",
        id="rasa-json-lone-surrogate",
    ),
    pytest.param(
        read_chatterbot,
        "corpus.yml",
        'categories:\n- 售后\nconversations:\n- - "怎么\\udfff退货"\n  - 七天内可以退\n',
        "corpus.yml:4: lone surrogate \\udfff (half of a character): write the character itself",
        id="chatterbot-lone-surrogate",
    ),
    pytest.param(
        read_rasa,
        "nlu.json",
        "[" * 100_000,
        "nlu.json:1: invalid JSON: nested too deeply",
        id="rasa-json-too-deep",
    ),
    # numbers Python will not read (json.loads raised ValueError out of the importers), and
    # an annotation nested past the recursion limit
    pytest.param(
        read_rasa,
        "nlu.json",
        '{"rasa_nlu_data": {"common_examples": [\n {"text": "a", "intent": "b", "entities": '
        '[{"start": 0, "end": ' + "9" * 5000 + "}]}]}}",
        "nlu.json:2: invalid JSON: a number of more than 4,300 digits (Python reads no longer ones)",
        id="rasa-json-long-number",
    ),
    pytest.param(
        read_jsonl,
        "data.jsonl",
        '{"text": "你好", "intent": "greet"}\n{"text": "a", "intent": ' + "9" * 5000 + "}\n",
        "data.jsonl:2: invalid JSON: a number of more than 4,300 digits (Python reads no longer ones)",
        id="jsonl-long-number",
    ),
    pytest.param(
        read_rasa,
        "nlu.yml",
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好 ' + ANNOTATION + "9" * 5000 + "}\n",
        f"nlu.yml:5: invalid entity annotation {(ANNOTATION + '9' * 60)[:60]!r}...: "
        "a number of more than 4,300 digits",
        id="rasa-annotation-long-number",
    ),
    pytest.param(
        read_rasa,
        "nlu.yml",
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好 '
        + ANNOTATION
        + "[" * 100_000
        + "]" * 100_000
        + "}\n",
        f"nlu.yml:5: invalid entity annotation {(ANNOTATION + '[' * 60)[:60]!r}...: nested too deeply",
        id="rasa-annotation-too-deep",
    ),
    # an invisible character in an intent name is the source's problem, at its row (it was
    # reported in the written intents.yaml)
    pytest.param(
        read_csv,
        "data.csv",
        'text,intent\n你好,greet\n在吗,"a\tb"\n',
        "data.csv:3: intent name 'a\\tb' holds an invisible character (U+0009): write it without",
        id="csv-invisible-intent-name",
    ),
    # text after a closing quote: read leniently, "你"好" became the example 你好"
    pytest.param(
        read_csv,
        "data.csv",
        'text,intent\n你好,greet\n"你"好",greet\n',
        "data.csv:3: invalid CSV: ',' expected after '\"' (a \" inside a quoted value is written \"\")",
        id="csv-text-after-a-closing-quote",
    ),
    # a header over the csv module's field limit is an error at line 1 (csv.Error escaped)
    pytest.param(
        read_csv,
        "data.csv",
        "x" * 200_000 + "\ntext,intent\n你好,greet\n",
        "data.csv:1: invalid CSV: field larger than field limit (131072)",
        id="csv-header-too-long",
    ),
    # a field over the csv module's limit is reported at its own line
    pytest.param(
        read_csv,
        "data.csv",
        "text,intent\n你好,greet\n" + "退" * 140_000 + ",refund\n",
        "data.csv:3: invalid CSV: field larger than field limit (131072)",
        id="csv-field-over-the-limit",
    ),
    # an unclosed quote: the rows after it became one multi-line response, and the import succeeded
    pytest.param(
        read_csv,
        "data.csv",
        'text,intent,response\n我要退款,refund,"退款1-3天到账\n怎么发货,shipping,48小时内发货\n运费多少,fee,满99包邮\n',
        "data.csv:2: " + UNCLOSED_QUOTE,
        id="csv-unclosed-quote-in-a-response",
    ),
    # the same in an intent, after a quoted value that rightly spans two lines (CRLF counted once)
    pytest.param(
        read_csv,
        "data.csv",
        'text,intent\r\n"第一行\r\n第二行",refund\r\n我要退款,"refund\r\n怎么发货,shipping\r\n',
        "data.csv:4: " + UNCLOSED_QUOTE,
        id="csv-unclosed-quote-after-a-multi-line-value",
    ),
    # a quote opening a row: it was blamed on the last line, as a row without an intent
    pytest.param(
        read_csv,
        "data.csv",
        'text,intent\n我要退款,refund\n"未闭合,refund\n发货,ship\n',
        "data.csv:3: " + UNCLOSED_QUOTE,
        id="csv-unclosed-quote-at-a-row-start",
    ),
    # an unquoted comma made 你好 an example of the intent 请问怎么退款, and refund was dropped
    pytest.param(
        read_csv,
        "data.csv",
        "text,intent\n在吗,greet\n你好,请问怎么退款,refund\n",
        "data.csv:3: row has 3 fields, the header 2: put a text that contains a comma in double quotes",
        id="csv-row-with-more-fields-than-the-header",
    ),
    # the last `text` column was read, the first silently ignored
    pytest.param(
        read_csv,
        "data.csv",
        "Text,intent,text\n你好,greet,在吗\n",
        "data.csv:1: CSV header has the column `text` twice (Text, text): keep one",
        id="csv-column-twice",
    ),
    # blank lines are skipped but still counted
    pytest.param(
        read_jsonl,
        "data.jsonl",
        '{"text": "你好", "intent": "greet"}\n\n{"text": "在吗", "intent": }\n',
        "data.jsonl:3: invalid JSON: Expecting value",
        id="jsonl-malformed-line",
    ),
    # json.loads kept the last of the two: the example was imported as 在吗 without a word
    pytest.param(
        read_jsonl,
        "data.jsonl",
        '{"text": "你好", "intent": "greet", "text": "在吗"}\n',
        "data.jsonl:1: invalid JSON: duplicate key 'text'",
        id="jsonl-key-twice",
    ),
    pytest.param(
        read_jsonl,
        "data.jsonl",
        '{"text": "你好", "intent": ["greet"]}\n',
        "data.jsonl:1: `intent` must be text, not list",
        id="jsonl-intent-not-text",
    ),
    pytest.param(
        read_jsonl,
        "data.jsonl",
        '["你好", "greet"]\n',
        "data.jsonl:1: each line must be a JSON object",
        id="jsonl-line-not-an-object",
    ),
    # half of a character (a JSON \u escape) cannot be written to the bot's YAML file
    pytest.param(
        read_jsonl,
        "data.jsonl",
        '{"text": "你好\\ud83d\\ude00", "intent": "greet"}\n{"text": "在\\ud83d吗", "intent": "greet"}\n',
        "data.jsonl:2: `text`: lone surrogate \\ud83d (half of a character): write the character itself",
        id="jsonl-lone-surrogate",
    ),
]


@pytest.mark.parametrize("reader", [read_csv, read_jsonl, read_chatterbot, read_rasa])
@pytest.mark.parametrize("name", ["data\x00.csv", "data\ud800.csv"], ids=["nul-byte", "lone-surrogate"])
def test_a_source_name_no_file_can_have_is_a_spec_error(reader: Reader, name: str) -> None:
    with pytest.raises(kefu.SpecError) as caught:
        reader(Path(name))
    assert str(caught.value).startswith(f"{name}:1: cannot read file: ")


@pytest.mark.parametrize(
    "name", ["out\x00", "out\ud800", "x" * 5000], ids=["nul-byte", "lone-surrogate", "too-long"]
)
def test_an_output_name_no_folder_can_have_is_a_spec_error(name: str) -> None:
    draft = BotDraft()
    draft.intent("greet").examples.append("你好")
    with pytest.raises(kefu.SpecError) as caught:
        write_bot(draft, name)
    assert str(caught.value).startswith(f"{name}:1: cannot write the bot: ")


@pytest.mark.parametrize(("reader", "name", "content", "expected"), BAD_INPUTS)
def test_bad_input_names_file_and_line(
    tmp_path: Path, reader: Reader, name: str, content: str | bytes, expected: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(kefu.SpecError) as caught:
        reader(source)
    assert str(caught.value) == f"{tmp_path}/{expected}"


def test_a_failed_import_leaves_no_folder_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The written bot failed to load (it was an intent name with a zero-width space, from
    # Rasa, which is now renamed): its files were removed, but the folder made for them
    # stayed, empty. Any bot the importer's checks miss fails the same way.
    source = tmp_path / "nlu.yml"
    source.write_text('version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - 你好\n', encoding="utf-8")

    def refuse(path: Path) -> kefu.BotSpec:
        raise kefu.SpecError.single(path, 1, "a problem the importer did not foresee")

    monkeypatch.setattr(kefu.importers, "load_spec", refuse)
    out = tmp_path / "bot"
    with pytest.raises(kefu.SpecError, match="did not foresee"):
        write_bot(read_rasa(source), out)
    assert not out.exists()


@pytest.mark.parametrize(
    ("existing", "overwrite", "expected"),
    [
        # a folder that is already a bot is only replaced on request
        (
            {"bot.yaml": "", "intents.yaml": ""},
            False,
            "output folder already holds bot.yaml, intents.yaml (use --force)",
        ),
        # another YAML file would silently become part of the imported bot
        (
            {"intents.yaml": "", "extra.yml": ""},
            True,
            "output folder already holds other bot files: extra.yml",
        ),
    ],
)
def test_write_bot_refuses_a_folder_in_use(
    tmp_path: Path, existing: dict[str, str], overwrite: bool, expected: str
) -> None:
    folder = tmp_path / "bot"
    folder.mkdir()
    for name, text in existing.items():
        (folder / name).write_text(text)
    draft = BotDraft()
    draft.intent("greet").examples.append("你好")
    with pytest.raises(kefu.SpecError) as caught:
        write_bot(draft, folder, overwrite=overwrite)
    assert str(caught.value) == f"{folder}:1: {expected}"


def test_escaped_emoji_pairs_import_as_one_character(tmp_path: Path) -> None:
    # PyYAML reads "\\ud83d\\udc4d" as two halves; JSON tools write emoji that way
    source = tmp_path / "corpus.yml"
    source.write_text(
        'categories: [评价]\nconversations:\n- - "好评\\ud83d\\udc4d"\n  - 谢谢亲\n', encoding="utf-8"
    )
    spec, _ = imported(read_chatterbot, source, tmp_path / "bot")
    assert spec.intents[0].examples == ("好评👍",)


def test_a_forced_import_that_does_not_load_leaves_the_old_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bot"
    folder.mkdir()
    (folder / "intents.yaml").write_text("version: 1\n# 旧的机器人\n", encoding="utf-8")
    draft = BotDraft()
    draft.intent("greet").examples.append("你好")

    def refuse(path: Path) -> None:  # stands in for any problem found in what was written
        raise kefu.SpecError.single(Path(path) / "intents.yaml", 3, "not loadable")

    monkeypatch.setattr("kefu.importers.load_spec", refuse)
    with pytest.raises(kefu.SpecError, match="not loadable"):
        write_bot(draft, folder, overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["intents.yaml"]
    assert (folder / "intents.yaml").read_text(encoding="utf-8") == "version: 1\n# 旧的机器人\n"


def test_a_forced_import_interrupted_between_its_files_leaves_the_old_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only OSError and SpecError put the old files back: Ctrl-C after bot.yaml was written
    left the new bot.yaml beside the old intents.yaml."""
    folder = tmp_path / "bot"
    folder.mkdir()
    old = {"bot.yaml": "version: 1\nbot: {name: 旧}\n", "intents.yaml": "version: 1\n# 旧的机器人\n"}
    for name, text in old.items():
        (folder / name).write_text(text, encoding="utf-8")
    draft = BotDraft()
    draft.intent("greet").examples.append("你好")
    dump = kefu.importers._dump

    def interrupted(path: Path, data: dict[str, Any]) -> None:
        if path.name == "intents.yaml":
            raise KeyboardInterrupt
        dump(path, data)

    monkeypatch.setattr("kefu.importers._dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_bot(draft, folder, overwrite=True)
    assert {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} == old


def test_write_bot_with_nothing_left_to_write(tmp_path: Path) -> None:
    draft = BotDraft()
    draft.intent("符号").examples.append("？！")
    with pytest.raises(kefu.SpecError) as caught:
        write_bot(draft, tmp_path / "bot")
    assert str(caught.value) == f"{tmp_path / 'bot'}:1: nothing to import: no intent has a usable example"


# --- the command line -----------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("kind", "source", "counts"),
    [
        pytest.param("rasa", DATA / "rasa3", (5, 14, 3), id="rasa"),
        pytest.param("chatterbot", DATA / "chatterbot", (2, 14, 0), id="chatterbot"),
        pytest.param("jsonl", DEMO_BOT / "tests" / "heldout.jsonl", None, id="jsonl"),
    ],
)
def test_cli_import_writes_a_bot_that_validates(
    tmp_path: Path, kind: str, source: Path, counts: tuple[int, int, int] | None
) -> None:
    out = tmp_path / "bot"
    code, stdout, _ = run("import", kind, str(source), "-o", str(out), "--json")
    assert code == 0
    report = json.loads(stdout)
    assert set(report) == {"output", "intents", "examples", "entities", "warnings"}
    spec = kefu.load_spec(out)
    assert (report["intents"], report["examples"], report["entities"]) == (
        len(spec.intents),
        sum(len(i.examples) for i in spec.intents),
        len(spec.entities),
    )
    if counts is not None:
        assert (report["intents"], report["examples"], report["entities"]) == counts
    code, stdout, _ = run("validate", str(out))
    assert code == 0 and stdout.startswith("ok: ")


def test_cli_import_csv_text_output_and_force(tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text("text,intent\n在吗,greet\n在吗,human\n转人工,human\n", encoding="utf-8")
    out = tmp_path / "bot"
    code, stdout, stderr = run("import", "csv", str(source), "-o", str(out))
    assert code == 0
    assert stdout == f"imported 2 intents, 2 examples, 0 entities -> {out}\n"
    assert stderr == "warning: example '在吗' of intent 'human' dropped: it is already in 'greet'\n"
    code, _, stderr = run("import", "csv", str(source), "-o", str(out))
    assert (code, stderr) == (
        1,
        f"{out}:1: output folder already holds bot.yaml, intents.yaml (use --force)\n",
    )
    code, _, _ = run("import", "csv", str(source), "-o", str(out), "--force")
    assert code == 0


def test_cli_import_csv_refuses_an_unclosed_quote(tmp_path: Path) -> None:
    # It imported 1 intent and exit 0: the two rows after the quote were one response.
    source = tmp_path / "faq.csv"
    source.write_text(
        'text,intent,response\n我要退款,refund,"退款1-3天到账\n怎么发货,shipping,48小时内发货\n运费多少,fee,满99包邮\n',
        encoding="utf-8",
    )
    code, stdout, stderr = run("import", "csv", str(source), "-o", str(tmp_path / "bot"))
    assert (code, stdout, stderr) == (1, "", f"{source}:2: {UNCLOSED_QUOTE}\n")
    assert not (tmp_path / "bot").exists()


@pytest.mark.parametrize(
    ("args", "expected_stderr"),
    [
        # a malformed input file: one red line naming file and line, no traceback
        (["import", "jsonl", "{bad}", "-o", "{out}"], "{bad}:2: invalid JSON: Expecting value\n"),
        # an unknown format is a usage error (exit code 2)
        (["import", "dialogflow", "{bad}", "-o", "{out}"], None),
        # -o is required
        (["import", "jsonl", "{bad}"], None),
    ],
)
def test_cli_import_errors(tmp_path: Path, args: list[str], expected_stderr: str | None) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "你好", "intent": "greet"}\n{"text": \n', encoding="utf-8")
    values = {"bad": str(bad), "out": str(tmp_path / "bot")}
    code, _, stderr = run(*(arg.format(**values) for arg in args))
    if expected_stderr is None:
        assert code == 2
    else:
        assert (code, stderr) == (1, expected_stderr.format(**values))
    assert not (tmp_path / "bot").exists()


def test_cli_export_jsonl(tmp_path: Path) -> None:
    spec = kefu.load_spec(DEMO_BOT)
    expected = "".join(line + "\n" for line in export_jsonl(spec))
    examples = sum(len(i.examples) for i in spec.intents)
    code, stdout, stderr = run("export", "jsonl", str(DEMO_BOT))
    assert code == 0 and stdout == expected
    assert stderr.endswith(
        f"exported {examples} examples of {len(spec.intents)} intents -> standard output\n"
    )
    target = tmp_path / "out.jsonl"
    code, stdout, _ = run("export", "jsonl", str(DEMO_BOT), "-o", str(target), "--json")
    assert code == 0 and target.read_text(encoding="utf-8") == expected
    assert json.loads(stdout) == {
        "output": str(target),
        "intents": len(spec.intents),
        "examples": examples,
        "entities": 0,
        "warnings": [f"{len(spec.entities)} entities are not exported: JSONL holds only text and intent"],
    }
