"""Saving and loading models: same answers, and refusal of anything edited or foreign."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import kefu

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
    with np.load(folder / "arrays.npz") as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["x_data"] = np.array([{"boom": 1}], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    (folder / "arrays.npz").write_bytes(data)
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    meta["arrays_sha256"] = hashlib.sha256(data).hexdigest()
    body = {k: v for k, v in meta.items() if k != "checksum"}
    meta["checksum"] = hashlib.sha256(
        json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    (folder / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
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
