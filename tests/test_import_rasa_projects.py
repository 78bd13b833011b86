"""Whole Rasa projects as teams have them on disk: installed packages beside the data."""

from __future__ import annotations

from pathlib import Path

import pytest

import kefu
from kefu.importers import write_bot
from kefu.rasa_import import read_rasa

NLU = 'version: "3.1"\nnlu:\n- intent: 查物流\n  examples: |\n    - 我的快递到哪了\n    - 物流信息\n'
# Rasa's starter bot, which `pip install rasa` puts into every virtual environment
STARTER_NLU = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hey\n    - hello\n'


@pytest.mark.parametrize(
    "packages",
    [
        # Rasa's install guide makes the environment inside the project: python3 -m venv ./venv
        pytest.param("venv/lib/python3.10/site-packages", id="virtualenv"),
        # a conda environment created with --prefix inside the project
        pytest.param("env/lib/python3.10/site-packages", id="conda-prefix"),
        # a chat widget's npm packages
        pytest.param("webchat/node_modules", id="node-modules"),
    ],
)
def test_installed_packages_in_the_project_are_not_bot_data(tmp_path: Path, packages: str) -> None:
    project = tmp_path / "rasa"
    (project / "data").mkdir(parents=True)
    (project / "data" / "nlu.yml").write_text(NLU, encoding="utf-8")
    starter = project / packages / "rasa" / "cli" / "initial_project" / "data"
    starter.mkdir(parents=True)
    (starter / "nlu.yml").write_text(STARTER_NLU, encoding="utf-8")
    (project / packages / "broken.yml").write_text("key: [never closed\n", encoding="utf-8")
    (project / "venv" / "pyvenv.cfg").parent.mkdir(exist_ok=True)
    (project / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (project / "env" / "conda-meta").mkdir(parents=True, exist_ok=True)
    write_bot(read_rasa(project), tmp_path / "bot")
    spec = kefu.load_spec(tmp_path / "bot")
    assert [(i.name, i.examples) for i in spec.intents] == [("查物流", ("我的快递到哪了", "物流信息"))]


OR_NLU = "".join(
    f"- intent: {name}\n  examples: |\n    - {text}\n"
    for name, text in (("greet", "你好"), ("affirm", "好的"), ("thankyou", "谢谢"))
)
OR_DOMAIN = (
    'version: "3.1"\nresponses:\n  utter_greet:\n  - text: 您好\n  utter_noworries:\n  - text: 不客气\n'
)
OR_STORIES = {
    # Rasa 2/3: an `or` step lets any of its intents go on to the actions after it
    "rules.yml": 'version: "3.1"\nrules:\n- rule: 感谢\n  steps:\n'
    "  - intent: greet\n  - action: utter_greet\n"
    "  - or:\n    - intent: affirm\n    - intent: thankyou\n  - action: utter_noworries\n",
    # Rasa 1.x Markdown writes the same as `* affirm OR thankyou`
    "stories.md": "## 感谢\n* greet\n  - utter_greet\n* affirm OR thankyou\n  - utter_noworries\n",
}


@pytest.mark.parametrize("stories", list(OR_STORIES))
def test_an_or_step_answers_each_of_its_intents(tmp_path: Path, stories: str) -> None:
    # greet said 您好 and 不客气 in one reply; affirm and thankyou had placeholders
    project = tmp_path / "rasa"
    (project / "data").mkdir(parents=True)
    (project / "data" / "nlu.yml").write_text(f'version: "3.1"\nnlu:\n{OR_NLU}', encoding="utf-8")
    (project / "data" / stories).write_text(OR_STORIES[stories], encoding="utf-8")
    (project / "domain.yml").write_text(OR_DOMAIN, encoding="utf-8")
    report = write_bot(read_rasa(project), tmp_path / "bot")
    spec = kefu.load_spec(tmp_path / "bot")
    assert {i.name: i.responses for i in spec.intents} == {
        "greet": ("您好",),
        "affirm": ("不客气",),
        "thankyou": ("不客气",),
    }
    assert report.warnings == ()


@pytest.mark.parametrize("imported", ["data", "data/nlu.yml", "data/nlu", "data/nlu/faq.yml"])
def test_a_domain_left_out_of_the_import_is_named(tmp_path: Path, imported: str) -> None:
    # Every intent got a placeholder reply without a word about the domain next to data/.
    project = tmp_path / "rasa"
    (project / "data" / "nlu").mkdir(parents=True)
    (project / "data" / "nlu.yml").write_text(NLU, encoding="utf-8")
    (project / "data" / "nlu" / "faq.yml").write_text(NLU, encoding="utf-8")
    (project / "domain.yml").write_text(
        'version: "3.1"\nresponses:\n  utter_查物流:\n  - text: 正在查询\n', encoding="utf-8"
    )
    report = write_bot(read_rasa(project / imported), tmp_path / "bot")
    assert report.warnings == (
        f"{project / imported}: no responses imported, every intent gets a placeholder reply: "
        f"the domain {project / 'domain.yml'} is outside what was imported; "
        f"import {project} to take its responses",
    )


OTHER_DOMAIN = 'version: "3.1"\nresponses:\n  utter_greet:\n  - text: 你好\n'


@pytest.mark.parametrize(
    ("domain", "imported"),
    [
        # another project's domain in a parent folder of the project imported
        pytest.param("domain.yml", "shop/data", id="domain-above-the-project"),
        pytest.param("domain.yml", "shop/data/nlu.yml", id="domain-above-the-project-file"),
        # a domain beside a folder that is no project's data/ (an export, a download)
        pytest.param("rasa/domain.yml", "rasa/exports/nlu.yml", id="beside-another-folder"),
        pytest.param("domain/greet.yml", "exports/faq/nlu.yml", id="domain-folder-two-up"),
    ],
)
def test_a_domain_of_another_project_is_not_named(tmp_path: Path, domain: str, imported: str) -> None:
    # The report said to import the folder of whatever domain.yml lay up to three folders up.
    (tmp_path / domain).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / domain).write_text(OTHER_DOMAIN, encoding="utf-8")
    source = tmp_path / imported if imported.endswith(".yml") else tmp_path / imported / "nlu.yml"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(NLU, encoding="utf-8")
    report = write_bot(read_rasa(tmp_path / imported), tmp_path / "bot")
    assert report.warnings == ()


UNUSED_DOMAIN = """version: "3.1"
responses:
  utter_查物流:
  - text: 正在为您查询
  utter_default:
  - text: 抱歉，我没听懂
  utter_ask_order_id:
  - text: 请提供订单号
  utter_happy:
  - image: https://example.com/happy.png
"""


def test_domain_responses_no_intent_says_are_reported(tmp_path: Path) -> None:
    # utter_default and utter_ask_order_id were left out without a word
    project = tmp_path / "rasa"
    (project / "data").mkdir(parents=True)
    (project / "data" / "nlu.yml").write_text(NLU, encoding="utf-8")
    (project / "domain.yml").write_text(UNUSED_DOMAIN, encoding="utf-8")
    report = write_bot(read_rasa(project), tmp_path / "bot")
    assert kefu.load_spec(tmp_path / "bot").intents[0].responses == ("正在为您查询",)
    assert report.warnings[0] == (
        f"{project / 'domain.yml'}:6: 2 responses not imported, "
        "as no rule, story or intent name leads to them (utter_default, utter_ask_order_id); "
        "a form's utter_ask_<slot> is a slot's `prompt`; utter_default is the bot's `fallback`"
    )


def test_roles_in_rasa_json_are_reported(tmp_path: Path) -> None:
    nlu = tmp_path / "nlu.json"
    nlu.write_text(
        '{"rasa_nlu_data": {"common_examples": [\n'
        '  {"text": "北京寄到上海", "intent": "寄件", "entities": [\n'
        '    {"start": 0, "end": 2, "entity": "city", "role": "寄件"},\n'
        '    {"start": 4, "end": 6, "entity": "city", "role": "收件"}]}],\n'
        '  "lookup_tables": [{"name": "city", "elements": ["广州"]}]}}\n',
        encoding="utf-8",
    )
    report = write_bot(read_rasa(nlu), tmp_path / "bot")
    assert report.warnings == (
        f"{nlu}:2: entity 'city' is annotated with role 寄件, role 收件: kefu fills one slot per entity "
        "and cannot tell its roles apart; give each role an entity of its own",
    )


def test_a_renamed_entity_is_reported(tmp_path: Path) -> None:
    # The slot became 快递_公司 while the report spoke of '快递 公司' only
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(
        "nlu:\n- intent: 查物流\n  examples: |\n    - [顺丰](快递 公司)到哪了\n"
        "- lookup: 快递 公司\n  examples: |\n    - 中通\n",
        encoding="utf-8",
    )
    report = write_bot(read_rasa(nlu), tmp_path / "bot")
    assert [s.name for s in kefu.load_spec(tmp_path / "bot").intents[0].slots] == ["快递_公司"]
    assert report.warnings == (
        "entity '快递 公司' renamed to '快递_公司': it names a slot, written {快递_公司}",
    )


SPLIT_DOMAIN = 'version: "3.1"\nresponses:\n  utter_查物流:\n  - text: 正在查询\n'
HELD_OUT_FILES = {
    # `rasa data split nlu`: the training part repeats data/, the test part is held out
    "train_test_split/training_data.yml": NLU,
    "train_test_split/test_data.yml": "nlu:\n- intent: 查物流\n  examples: |\n    - 快递怎么还没到\n",
    # rasa test's end-to-end stories: an intent only tests have, and a reply the bot never gives
    "tests/test_stories.yml": "stories:\n- story: 测试\n  steps:\n  - user: 你好\n    intent: greet\n"
    "  - action: utter_greet\n",
    "tests/nlu/test_nlu.yml": "nlu:\n- intent: greet\n  examples: |\n    - 你好\n",
}


def test_rasa_test_data_is_not_imported(tmp_path: Path) -> None:
    # Examples Rasa holds out of training became training data, and tests/ added an intent.
    project = tmp_path / "rasa"
    for name, text in {"data/nlu.yml": NLU, "domain.yml": SPLIT_DOMAIN, **HELD_OUT_FILES}.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    report = write_bot(read_rasa(project), tmp_path / "bot")
    spec = kefu.load_spec(tmp_path / "bot")
    assert [(i.name, i.examples, i.responses) for i in spec.intents] == [
        ("查物流", ("我的快递到哪了", "物流信息"), ("正在查询",))
    ]
    assert report.warnings == (
        f"{project / 'tests'}: not imported: Rasa tests the bot with it (`rasa test`) and does not "
        "train on it; import the folder on its own to use it",
        f"{project / 'train_test_split'}: not imported: `rasa data split nlu` wrote it: its training "
        "part repeats the NLU data, and Rasa keeps its test part out of training; "
        "import the folder on its own to use it",
    )
    # named on its own, the folder is read
    write_bot(read_rasa(project / "train_test_split"), tmp_path / "split")
    assert kefu.load_spec(tmp_path / "split").example_count == 3


def test_a_project_with_nlu_data_only_in_tests_says_so(tmp_path: Path) -> None:
    project = tmp_path / "rasa"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_nlu.yml").write_text(NLU, encoding="utf-8")
    (project / "domain.yml").write_text(SPLIT_DOMAIN, encoding="utf-8")
    with pytest.raises(kefu.SpecError) as caught:
        read_rasa(project)
    assert str(caught.value) == (
        f"{project}:1: no Rasa NLU data outside tests/ "
        "(YAML with `nlu:`, Markdown with `## intent:`, JSON with `rasa_nlu_data`)"
    )
