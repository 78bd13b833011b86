"""Saving and loading models: same answers, and refusal of anything edited or foreign."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import kefu
from kefu.cli import build_app

DEMO_BOT = Path(str(resources.files("kefu.intents")))
HELDOUT = DEMO_BOT / "tests" / "heldout.jsonl"

SMALL_BOT = """
version: 1
bot: {name: 测试, threshold: 0.3}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款]
    responses: [好的，这就为您办理退款]
  - name: shipping
    examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到]
    responses: [一般48小时内发货]
"""


@pytest.fixture(scope="module")
def saved_demo(tmp_path_factory: pytest.TempPathFactory, demo_engine: kefu.Engine) -> Path:
    return demo_engine.save(tmp_path_factory.mktemp("models") / "demo")


def test_saved_model_gives_the_same_answers(demo_engine: kefu.Engine, saved_demo: Path) -> None:
    loaded = kefu.Engine.load(saved_demo)
    texts = [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    for text in texts:
        before, after = demo_engine.match(text), loaded.match(text)
        assert (before.intent, before.ambiguous) == (after.intent, after.ambiguous), text
        assert before.confidence == pytest.approx(after.confidence, abs=1e-12)


def test_model_directory_holds_only_json_numpy_and_yaml(saved_demo: Path) -> None:
    names = sorted(p.relative_to(saved_demo).as_posix() for p in saved_demo.rglob("*") if p.is_file())
    assert "model.json" in names and "arrays.npz" in names
    assert all(n.endswith((".json", ".npz", ".yaml", ".yml")) for n in names)
    assert sorted(n for n in names if n.startswith("bot/")) == sorted(
        f"bot/{p.name}" for p in DEMO_BOT.glob("*.yaml")
    )


def _copy(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "model"))


def _edit_meta(folder: Path, key: str, value: object) -> None:
    path = folder / "model.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta[key] = value
    path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # a hand edit of the metadata, even one that keeps valid JSON
        (lambda d: _edit_meta(d, "temperature", 99.0), "edited or damaged (checksum mismatch)"),
        # a truncated metadata file
        (
            lambda d: (d / "model.json").write_text('{"format": "kefu-mo', encoding="utf-8"),
            "damaged model file",
        ),
        # a flipped byte in the arrays
        (
            lambda d: (d / "arrays.npz").write_bytes((d / "arrays.npz").read_bytes()[:-10] + b"0123456789"),
            "model arrays were edited or damaged",
        ),
        # the bot file copy inside the model edited
        (
            lambda d: (d / "bot" / "bot.yaml").write_text(
                (d / "bot" / "bot.yaml").read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8"
            ),
            "were edited (fingerprint mismatch)",
        ),
        # no metadata at all
        (lambda d: (d / "model.json").unlink(), "not a kefu model (no model.json)"),
    ],
)
def test_damaged_or_edited_models_are_refused(
    saved_demo: Path, tmp_path: Path, edit: object, message: str
) -> None:
    folder = _copy(saved_demo, tmp_path)
    edit(folder)  # type: ignore[operator]
    with pytest.raises(kefu.ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kefu.Engine.load(folder)


def test_other_format_versions_are_refused(saved_demo: Path, tmp_path: Path) -> None:
    folder = _copy(saved_demo, tmp_path)
    path = folder / "model.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["format_version"] = 99
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(kefu.ModelError, match="model format version 99"):
        kefu.load_model(folder)


def test_pickled_arrays_are_never_loaded(saved_demo: Path, tmp_path: Path) -> None:
    """An object array needs pickle to load; it is refused even with valid checksums."""
    folder = _copy(saved_demo, tmp_path)
    _forge(folder, arrays=lambda a: a.update(x_data=np.array([{"boom": 1}], dtype=object)))
    with pytest.raises(kefu.ModelError, match="damaged model arrays"):
        kefu.load_model(folder)


def test_a_model_is_stale_when_its_bot_files_changed(write_bot: object, tmp_path: Path) -> None:
    bot = write_bot(**{"bot.yaml": SMALL_BOT})  # type: ignore[operator]
    engine = kefu.Engine.from_path(bot)
    model_dir = engine.save(tmp_path / "m")
    assert kefu.load_model(model_dir, bot=bot).fingerprint == engine.model.fingerprint
    (bot / "bot.yaml").write_text(SMALL_BOT.replace("申请退款", "退款申请"), encoding="utf-8")
    with pytest.raises(kefu.ModelError, match="model is stale"):
        kefu.load_model(model_dir, bot=bot)


def test_fingerprint_tracks_bot_bytes(write_bot: object) -> None:
    bot = write_bot(**{"bot.yaml": SMALL_BOT})  # type: ignore[operator]
    first = kefu.load_spec(bot).fingerprint
    assert kefu.load_spec(bot).fingerprint == first
    (bot / "bot.yaml").write_text(SMALL_BOT + "\n", encoding="utf-8")
    assert kefu.load_spec(bot).fingerprint != first


@pytest.fixture(scope="module")
def small_bot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SMALL_BOT's folder (bot.yaml plus a tests/ folder a wrong save could wipe)."""
    folder = tmp_path_factory.mktemp("small") / "bot"
    (folder / "tests").mkdir(parents=True)
    (folder / "bot.yaml").write_text(SMALL_BOT, encoding="utf-8")
    (folder / "tests" / "heldout.jsonl").write_text(
        '{"text": "退款", "intent": "refund"}\n', encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def small_model(small_bot: Path) -> kefu.Model:
    return kefu.train(kefu.load_spec(small_bot / "bot.yaml"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        # `kefu train mybot -o mybot`: the bot's own folder
        ("bot", "is a folder that is not a kefu model (it holds bot.yaml, tests)"),
        # an unrelated folder
        ("notes", "is a folder that is not a kefu model (it holds todo.txt)"),
        # a regular file
        ("report.txt", "is a file, not a model folder"),
        # a model folder someone added a file to: replacing it would lose that file
        ("model_plus", "is a folder that is not a kefu model (it holds readme.txt)"),
        # a symbolic link (to the unrelated folder)
        ("link", "is a symbolic link"),
    ],
)
def test_save_refuses_to_replace_what_is_not_a_model(
    small_bot: Path, small_model: kefu.Model, tmp_path: Path, target: str, message: str
) -> None:
    shutil.copytree(small_bot, tmp_path / "bot")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("买菜", encoding="utf-8")
    (tmp_path / "report.txt").write_text("报告", encoding="utf-8")
    kefu.save_model(small_model, tmp_path / "model_plus")
    (tmp_path / "model_plus" / "readme.txt").write_text("说明", encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "notes")
    before = _snapshot(tmp_path)
    with pytest.raises(
        kefu.ModelError, match=f"^{re.escape(str(tmp_path / target))} {re.escape(message)}; refusing"
    ):
        kefu.save_model(small_model, tmp_path / target)
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot", "link", "model_plus", "notes", "report.txt"]


def test_train_into_the_bot_folder_exits_1_with_the_reason(small_bot: Path, tmp_path: Path) -> None:
    bot = Path(shutil.copytree(small_bot, tmp_path / "bot"))
    result = CliRunner().invoke(build_app(), ["train", str(bot), "-o", str(bot)])
    assert result.exit_code == 1
    assert f"{bot} is a folder that is not a kefu model" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(_snapshot(bot)) == ["bot.yaml", "tests/heldout.jsonl"]


def test_train_refuses_the_output_before_training(
    small_bot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Training a big bot takes minutes: a refused -o must not cost them.
    bot = Path(shutil.copytree(small_bot, tmp_path / "bot"))
    trained: list[object] = []
    monkeypatch.setattr(kefu, "train", lambda *args, **kwargs: trained.append(args))
    result = CliRunner().invoke(build_app(), ["train", str(bot), "-o", str(bot)])
    assert (result.exit_code, trained) == (1, [])
    assert result.stderr == (
        f"{bot} is a folder that is not a kefu model (it holds bot.yaml, tests); "
        "refusing to replace it: save the model to a new or empty folder\n"
    )


@pytest.mark.parametrize(
    "there",
    [
        "nothing",  # a new folder
        "empty folder",
        "model",  # another bot's model, replaced
    ],
)
def test_save_writes_a_new_or_empty_folder_or_replaces_a_model(
    demo_engine: kefu.Engine, small_model: kefu.Model, tmp_path: Path, there: str
) -> None:
    folder = tmp_path / "model"
    if there == "empty folder":
        folder.mkdir()
    elif there == "model":
        demo_engine.save(folder)
    kefu.save_model(small_model, folder)
    assert [i.name for i in kefu.load_model(folder).spec.intents] == ["refund", "shipping"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging or backup folder left


def test_a_failed_save_keeps_the_old_model_and_leaves_no_staging_folder(
    write_bot: Callable[..., Path], small_model: kefu.Model, tmp_path: Path
) -> None:
    folder = kefu.save_model(small_model, tmp_path / "models" / "m")
    before = _snapshot(folder)
    bot = write_bot(**{"bot.yaml": SMALL_BOT})
    model = kefu.train(kefu.load_spec(bot))
    (bot / "bot.yaml").unlink()  # copying the bot files into the model fails midway
    with pytest.raises(
        kefu.KefuError, match=f"^{re.escape(str(folder))}: cannot save the model there: No such file"
    ):
        kefu.save_model(model, folder)
    assert _snapshot(folder) == before
    assert [p.name for p in folder.parent.iterdir()] == ["m"]


def test_saving_under_a_file_is_a_kefu_error(small_model: kefu.Model, tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text("报告", encoding="utf-8")
    with pytest.raises(kefu.KefuError, match=r"report\.txt/m: cannot save the model there: "):
        kefu.save_model(small_model, tmp_path / "report.txt" / "m")
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


@pytest.fixture(scope="module")
def small_saved(small_model: kefu.Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kefu.save_model(small_model, tmp_path_factory.mktemp("small-model") / "m")


Arrays = dict[str, Any]


def _forge(
    folder: Path,
    arrays: Callable[[Arrays], object] = lambda a: None,
    meta: Callable[[dict[str, Any]], object] = lambda m: None,
    data: Callable[[bytes], bytes] = lambda d: d,
) -> None:
    """Edit a model and recompute both checksums, as anyone can: they are plain sha256."""
    with np.load(folder / "arrays.npz") as npz:
        stored = {name: npz[name] for name in npz.files}
    arrays(stored)
    buffer = io.BytesIO()
    np.savez(buffer, **stored)
    written = data(buffer.getvalue())
    (folder / "arrays.npz").write_bytes(written)
    path = folder / "model.json"
    values = json.loads(path.read_text(encoding="utf-8"))
    meta(values)
    values["arrays_sha256"] = hashlib.sha256(written).hexdigest()
    body = {k: v for k, v in values.items() if k != "checksum"}
    values["checksum"] = hashlib.sha256(
        json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    path.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")


def _rezip(
    data: bytes, edit: Callable[[str, bytes], tuple[str, bytes]], method: int = zipfile.ZIP_STORED
) -> bytes:
    """The archive with each member's name and bytes passed through ``edit``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", method) as target:
        for info in source.infolist():
            target.writestr(*edit(info.filename, source.read(info)))
    return out.getvalue()


def _npy_header(member: str, old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    """A ``data`` edit: ``old`` replaced by ``new`` in the .npy header of ``member``."""
    return lambda data: _rezip(
        data, lambda name, raw: (name, raw.replace(old, new, 1) if name == member else raw)
    )


def _flip_byte_inside(data: bytes) -> bytes:
    at = data.index(b"word_idf.npy") + 200  # inside the first array's data: a bad CRC
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        # fewer weight rows than features: an IndexError when matching, before
        (
            {"arrays": lambda a: a.update(weights=a["weights"][:3])},
            "arrays.npz: damaged model arrays: weights is float64 of shape (3, 2), not float64 of shape (",
        ),
        # the bias of one intent only
        (
            {"arrays": lambda a: a.update(bias=a["bias"][:1])},
            "arrays.npz: damaged model arrays: bias is float64 of shape (1,), not float64 of shape (2,)",
        ),
        # NaN weights answer nonsense
        (
            {"arrays": lambda a: a["weights"].fill(np.nan)},
            "arrays.npz: damaged model arrays: weights holds a value that is not a finite number",
        ),
        # a row pointer past the end of the data
        (
            {"arrays": lambda a: a["x_indptr"].__setitem__(-1, 10**6)},
            "arrays.npz: damaged model arrays: x_indptr does not run from 0 to",
        ),
        # examples out of intent order (the matcher takes each intent's examples as a block)
        (
            {"arrays": lambda a: a.update(example_intent=a["example_intent"][::-1].copy())},
            "arrays.npz: damaged model arrays: example_intent does not number the intents' examples in order",
        ),
        # big-endian floats are not what save_model writes
        (
            {"arrays": lambda a: a.update(word_idf=a["word_idf"].astype(">f8"))},
            "arrays.npz: damaged model arrays: word_idf.npy holds >f8 of shape",
        ),
        # an extra array
        (
            {"arrays": lambda a: a.update(extra=np.zeros(1))},
            "arrays.npz: damaged model arrays: unexpected set of arrays",
        ),
        # half an archive: BadZipFile, before
        ({"data": lambda d: d[: len(d) // 2]}, "arrays.npz: damaged model arrays: BadZipFile"),
        # an empty file: EOFError, before
        ({"data": lambda d: b""}, "arrays.npz: damaged model arrays: not an npz archive"),
        # a changed byte inside an array: a bad CRC, BadZipFile before
        ({"data": _flip_byte_inside}, "arrays.npz: damaged model arrays: BadZipFile: Bad CRC-32"),
        # a compressed member: np.load inflated any declared size before its shape was checked
        # (2 MB on disk took 2 GB of memory), and other methods raised NotImplementedError
        (
            {"data": lambda d: _rezip(d, lambda name, raw: (name, raw), zipfile.ZIP_DEFLATED)},
            "arrays.npz: damaged model arrays: word_idf.npy is compressed or encrypted",
        ),
        # a .npy header numpy cannot parse: tokenize.TokenError, before
        (
            {"data": _npy_header("bias.npy", b"'shape': (", b"'shape': ((")},
            "arrays.npz: damaged model arrays: bias.npy: bad .npy header (",
        ),
        # a shape that is not numbers: TypeError, before
        (
            {"data": _npy_header("bias.npy", b"'shape': (2,)", b"'shape': (True,)")},
            "arrays.npz: damaged model arrays: bias.npy holds float64 of shape (True,)",
        ),
        # a header whose shape needs more bytes than the member has
        (
            {"data": _npy_header("bias.npy", b"'shape': (2,)", b"'shape': (9,)")},
            "arrays.npz: damaged model arrays: bias.npy holds 16 bytes, not the 72 its shape needs",
        ),
        # a member that is not a .npy file (np.load gave its bytes: AttributeError, before)
        (
            {"data": lambda d: _rezip(d, lambda name, raw: (name.removesuffix(".npy"), raw))},
            "arrays.npz: damaged model arrays: word_idf is not one .npy array",
        ),
        # an array every model has, left out: KeyError, before
        (
            {"arrays": lambda a: a.pop("word_idf"), "meta": lambda m: m["arrays"].remove("word_idf")},
            "arrays.npz: damaged model arrays: arrays ['word_idf'] are missing",
        ),
        # an example of intent -1 first: it loaded, then kefu lint raised and the cosine
        # head never counted that example
        (
            {"arrays": lambda a: a["example_intent"].__setitem__(0, -1)},
            "arrays.npz: damaged model arrays: example_intent does not number the intents' examples in order",
        ),
        # finite weights so large that the scores overflow to infinity
        (
            {"arrays": lambda a: a["weights"].fill(1e300)},
            "arrays.npz: damaged model arrays: weights holds a value that is not a finite number of at most",
        ),
        # no fingerprint: KeyError, before
        (
            {"meta": lambda m: m.pop("fingerprint")},
            "model.json: damaged model file: 'fingerprint' is missing",
        ),
        # a longer vocabulary than idf values: IndexError when matching, before
        (
            {"meta": lambda m: m["features"]["word_terms"].append("多余")},
            "arrays.npz: damaged model arrays: word_idf is float64 of shape",
        ),
        # a vocabulary with a term twice
        (
            {"meta": lambda m: m["features"]["char_terms"].append(m["features"]["char_terms"][0])},
            "model.json: damaged model file: 'features.char_terms' repeats a term",
        ),
        # an absurd document count: OverflowError, before
        (
            {"meta": lambda m: m["features"].update(n_docs=10**400)},
            "model.json: damaged model file: 'features.n_docs' is not the number of examples (8)",
        ),
        # features of the wrong JSON type
        (
            {"meta": lambda m: m.update(features=[1])},
            "model.json: damaged model file: 'features' is not an object",
        ),
        # an infinite calibration
        (
            {"meta": lambda m: m.update(calibration=[1e400, 0.0])},
            "model.json: damaged model file: 'calibration' is not two finite numbers",
        ),
    ],
)
def test_forged_models_with_valid_checksums_are_refused(
    small_saved: Path, tmp_path: Path, forge: dict[str, Any], message: str
) -> None:
    folder = _copy(small_saved, tmp_path)
    _forge(folder, **forge)
    with pytest.raises(kefu.ModelError, match=f"^{re.escape(str(folder))}/{re.escape(message)}"):
        kefu.load_model(folder)


@pytest.mark.parametrize("renamed", [False, True])
def test_a_model_whose_intents_are_not_its_bots_says_how(
    small_saved: Path, tmp_path: Path, renamed: bool
) -> None:
    """The message was wrapped twice and named nothing: "model is incomplete or inconsistent
    (ModelError: model arrays or intents do not match the bot (missing: []))"."""
    folder = _copy(small_saved, tmp_path)
    first = json.loads((folder / "model.json").read_text(encoding="utf-8"))["intents"][0]
    if renamed:
        _forge(folder, meta=lambda m: m["intents"].__setitem__(0, "zz"))
        how = f"{first}, zz differ"
    else:
        _forge(folder, meta=lambda m: m["intents"].reverse())
        how = "in another order"
    expected = f"{folder}: the model's intents are not the bot's ({how}); retrain it"
    with pytest.raises(kefu.ModelError, match=f"^{re.escape(expected)}$"):
        kefu.load_model(folder)


@pytest.mark.parametrize(
    "shift",
    [
        -100_000,  # negative column indices
        10**9,  # column indices far past the last feature
    ],
)
def test_out_of_range_example_indices_are_refused_not_a_crash(
    small_saved: Path, tmp_path: Path, shift: int
) -> None:
    """scipy's C code reads out of bounds with such indices (a segmentation fault, before),
    so the load runs in a child process that cannot take this one down."""
    folder = _copy(small_saved, tmp_path)
    _forge(folder, arrays=lambda a: a.update(x_indices=a["x_indices"] + shift))
    code = (
        "import sys, kefu\ntry:\n    kefu.load_model(sys.argv[1])\nexcept kefu.ModelError as e:\n    print(e)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    last = _n_features(folder) - 1
    assert (
        result.stdout
        == f"{folder}/arrays.npz: damaged model arrays: x_indices has a column outside 0..{last}\n"
    )


def _n_features(folder: Path) -> int:
    features = json.loads((folder / "model.json").read_text(encoding="utf-8"))["features"]
    return len(features["word_terms"]) + len(features["char_terms"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a lone surrogate: UnicodeEncodeError while checksumming, before
        (
            lambda t: t.replace('"format": "kefu-model"', '"format": "kefu-model", "note": "\\ud800"'),
            "damaged model file: UnicodeEncodeError",
        ),
        # deep nesting: RecursionError, before
        (lambda t: "[" * 100_000, "damaged model file: RecursionError"),
    ],
)
def test_unreadable_model_json_is_refused(
    small_saved: Path, tmp_path: Path, text: Callable[[str], str], message: str
) -> None:
    folder = _copy(small_saved, tmp_path)
    path = folder / "model.json"
    path.write_text(text(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(kefu.ModelError, match=f"^{re.escape(str(path))}: {message}"):
        kefu.load_model(folder)


GUARD = (
    "import kefu\n\n@kefu.hookimpl\ndef message_received(message):\n"
    "    if '退款' in message.text:\n"
    "        return kefu.Block(reason='guard', reply='BLOCKED')\n"
)


def test_a_saved_model_never_imports_plugin_files_and_asks_for_its_bots_plugins(
    write_bot: Callable[..., Path], tmp_path: Path
) -> None:
    """The bot copy inside a model resolved `plugins: {dir: plugins}` to model/bot/plugins:
    a .py dropped there ran on load (also by `kefu predict`), and the bot's own guard was
    silently gone from the served model."""
    bot = write_bot(**{"bot.yaml": SMALL_BOT + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "guard.py").write_text(GUARD, encoding="utf-8")
    model = kefu.Engine.from_path(bot).save(tmp_path / "model")
    (model / "bot" / "plugins").mkdir()
    marker = tmp_path / "ran"
    (model / "bot" / "plugins" / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8"
    )

    for load in (kefu.Engine.load, kefu.Engine.from_path):
        with pytest.raises(kefu.PluginError, match=r"plugins: \{dir: plugins\}.*plugins_dir"):
            load(model)
        served = load(model, plugins_dir=bot / "plugins")
        assert served.reply("我要退款", session_id="s").text == "BLOCKED"
    result = CliRunner().invoke(build_app(), ["predict", "我要退款", "--bot", str(model)])
    assert result.exit_code == 0 and result.stdout.startswith("refund")
    data = tmp_path / "dev.jsonl"
    data.write_text('{"text": "我要退款", "intent": "refund"}\n', encoding="utf-8")
    for command in (["test", str(model), "--data", str(data)], ["explain", str(model), "我要退款"]):
        assert CliRunner().invoke(build_app(), command).exit_code == 0  # matching only: no plugins
    assert not marker.exists()


def test_a_saved_model_carries_the_risk_control_words_file(
    write_bot: Callable[..., Path], tmp_path: Path
) -> None:
    """The model kept only the YAML files, so the copy's `words_file` was missing and a
    model of the documented risk-control setup could never be loaded."""
    bot = write_bot(**{"bot.yaml": SMALL_BOT + "plugins:\n  risk_control: {words_file: lists/敏感词.txt}\n"})
    (bot / "lists").mkdir()
    (bot / "lists" / "敏感词.txt").write_text("诈骗\n", encoding="utf-8")
    model = kefu.Engine.from_path(bot).save(tmp_path / "model")
    (bot / "lists" / "敏感词.txt").unlink()  # served from the model alone
    engine = kefu.Engine.load(model)
    assert engine.reply("你们是诈骗吧", session_id="s").action == "blocked"
    assert engine.reply("我要退款", session_id="s").intent == "refund"


def test_a_words_file_outside_the_bot_folder_is_named_when_saving(
    write_bot: Callable[..., Path], tmp_path: Path
) -> None:
    bot = write_bot(**{"bot.yaml": SMALL_BOT + "plugins:\n  risk_control: {words_file: ../shared.txt}\n"})
    (bot.parent / "shared.txt").write_text("诈骗\n", encoding="utf-8")
    engine = kefu.Engine.from_path(bot)  # served from the bot files (and kefu's cache) as before
    assert engine.reply("你们是诈骗吧", session_id="s").action == "blocked"
    with pytest.raises(kefu.ModelError, match=r"words_file: \.\./shared\.txt is outside the bot's folder"):
        engine.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("name", ["model.json", "arrays.npz", "bot/bot.yaml"])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_model_file_that_is_a_device_or_a_pipe_is_refused_at_once(
    small_model: kefu.Model, tmp_path: Path, name: str, kind: str
) -> None:
    """A link to /dev/zero was read until memory ran out; a named pipe hung the load."""
    model = kefu.save_model(small_model, tmp_path / "model")
    (model / name).unlink()
    if kind == "fifo":
        os.mkfifo(model / name)
    else:
        (model / name).symlink_to(kind)
    with pytest.raises(kefu.ModelError, match="not a regular file"):
        kefu.load_model(model)
