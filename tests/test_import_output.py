"""Where `kefu import -o` writes: a bot folder, or one .yaml file as `kefu train` and `chat` take."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import kefu
from kefu.cli import build_app
from kefu.importers import BotDraft, write_bot

CSV = "text,intent,response\n我的快递到哪了,查物流,正在查询\n怎么退款,退款,\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", ["mybot.yaml", "new/mybot.yml"])
def test_import_to_a_yaml_name_writes_that_one_file(tmp_path: Path, name: str) -> None:
    # -o mybot.yaml made a folder called mybot.yaml
    source = tmp_path / "faq.csv"
    source.write_text(CSV, encoding="utf-8")
    output = tmp_path / name
    assert run("import", "csv", str(source), "-o", str(output)) == (
        0,
        f"imported 2 intents, 2 examples, 0 entities -> {output}\n",
        "",
    )
    assert output.is_file()
    spec = kefu.load_spec(output)
    assert spec.settings.name == "mybot"
    assert [(i.name, i.responses) for i in spec.intents] == [
        ("查物流", ("正在查询",)),
        ("退款", ("（请为意图 退款 填写回复）",)),
    ]
    assert run("validate", str(output))[0] == 0


@pytest.mark.parametrize("name", ["\u3000", " .yaml"])
def test_an_output_named_only_with_spaces_names_the_bot_kefu(tmp_path: Path, name: str) -> None:
    """The bot was named after the output, "　", and the import failed: `bot.name` must not be empty."""
    source = tmp_path / "faq.csv"
    source.write_text(CSV, encoding="utf-8")
    assert run("import", "csv", str(source), "-o", str(tmp_path / name))[0] == 0
    assert kefu.load_spec(tmp_path / name).settings.name == "kefu"


@pytest.mark.parametrize("name", ["mybot.json", "mybot.CSV"])
def test_an_output_named_like_a_file_of_another_format_is_refused(tmp_path: Path, name: str) -> None:
    # -o mybot.json made a folder called mybot.json holding bot.yaml and intents.yaml
    source = tmp_path / "faq.csv"
    source.write_text(CSV, encoding="utf-8")
    output = tmp_path / name
    suffix = output.suffix
    assert run("import", "csv", str(source), "-o", str(output)) == (
        1,
        "",
        f"{output}:1: kefu writes a bot as a folder or one .yaml file, not {suffix}: name it mybot.yaml\n",
    )
    assert not output.exists()
    assert run("import", "csv", str(source), "-o", str(tmp_path / "mybot.v2"))[0] == 0  # a folder, as asked
    assert kefu.load_spec(tmp_path / "mybot.v2").example_count == 2


def test_an_existing_yaml_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(CSV, encoding="utf-8")
    output = tmp_path / "mybot.yaml"
    output.write_text("# 手写的机器人\n", encoding="utf-8")
    assert run("import", "csv", str(source), "-o", str(output)) == (
        1,
        "",
        f"{output}:1: output file already exists (use --force to replace it)\n",
    )
    assert output.read_text(encoding="utf-8") == "# 手写的机器人\n"
    assert run("import", "csv", str(source), "-o", str(output), "--force")[0] == 0
    assert kefu.load_spec(output).example_count == 2


def test_a_forced_import_never_writes_over_its_source(tmp_path: Path) -> None:
    # --force replaced the Rasa file being imported with the kefu bot
    nlu = tmp_path / "nlu.yml"
    text = "nlu:\n- intent: greet\n  examples: |\n    - 你好\n"
    nlu.write_text(text, encoding="utf-8")
    assert run("import", "rasa", str(nlu), "-o", str(nlu), "--force") == (
        1,
        "",
        f"{nlu}:1: is what is being imported: write the bot elsewhere\n",
    )
    assert nlu.read_text(encoding="utf-8") == text


def test_a_forced_single_file_import_that_does_not_load_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "mybot.yaml"
    output.write_text("# 旧的机器人\n", encoding="utf-8")
    draft = BotDraft()
    draft.intent("greet").examples.append("你好")

    def refuse(path: Path) -> None:  # stands in for any problem found in what was written
        raise kefu.SpecError.single(Path(path), 3, "not loadable")

    monkeypatch.setattr("kefu.importers.load_spec", refuse)
    with pytest.raises(kefu.SpecError, match="not loadable"):
        write_bot(draft, output, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["mybot.yaml"]
    assert output.read_text(encoding="utf-8") == "# 旧的机器人\n"
