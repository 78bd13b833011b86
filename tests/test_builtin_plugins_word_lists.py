"""Word lists of the built-in plugins as a shop writes them: what a listed word really catches."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import kefu
from kefu.plugins import sensitive_words

BOT = """
version: 1
bot: {name: 测试, threshold: 0.3}
intents:
  - name: product_stock
    examples: [有货吗, 还有货吗, 什么时候补货, 这款有现货吗, 库存还有吗]
    responses: [有货的，亲可以直接下单]
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
"""


def load_error(folder: Path) -> str:
    with pytest.raises(kefu.SpecError) as caught:
        kefu.load_spec(folder)
    return str(caught.value)


@pytest.mark.parametrize(
    ("plugin", "setting", "message"),
    [
        # `+V` (add me on WeChat) read as `v` blocked every question about a V领 sweater.
        (
            "risk_control",
            "words: [加微信, '+V']",
            "`plugins.risk_control.words[1]`: word '+V' reads as 'v' alone (symbols are skipped"
            " like padding), so ordinary messages holding that character would match; list the"
            " words it stands for instead",
        ),
        # The same for a Chinese character: `+微` blocked 微波炉.
        (
            "risk_control",
            "words: ['+微']",
            "`plugins.risk_control.words[0]`: word '+微' reads as '微' alone (symbols are skipped"
            " like padding), so ordinary messages holding that character would match; list the"
            " words it stands for instead",
        ),
        # `C++` read as `c` handed off every message about the C盘.
        (
            "handoff_keywords",
            "keywords: [投诉, C++]",
            "`plugins.handoff_keywords.keywords[1]`: keyword 'C++' reads as 'c' alone (normalizing"
            " drops symbols), so ordinary messages holding that character would be handed off;"
            " list the words it stands for instead",
        ),
    ],
)
def test_a_word_that_reads_as_one_character_is_reported_with_file_and_line(
    write_bot: Callable[..., Path], plugin: str, setting: str, message: str
) -> None:
    folder = write_bot(**{"bot.yaml": BOT + f"plugins:\n  {plugin}:\n    {setting}\n"})
    file = folder / "bot.yaml"
    line = file.read_text(encoding="utf-8").splitlines().index(f"    {setting}") + 1
    assert load_error(folder) == f"{file}:{line}: {message}"


def test_a_word_file_listing_a_word_that_reads_as_one_character_is_reported(
    write_bot: Callable[..., Path],
) -> None:
    folder = write_bot(
        **{
            "words.txt": "诈骗\n+Q\n",
            "bot.yaml": BOT + "plugins:\n  risk_control:\n    words_file: words.txt\n",
        }
    )
    assert load_error(folder).endswith(
        "`plugins.risk_control.words_file`: words.txt lists '+Q', which reads as 'q' alone"
        " (symbols are skipped like padding), so ordinary messages holding that character would"
        " match; list the words it stands for instead"
    )


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        # A file emptied by mistake left the bot serving without its word filter, unnoticed.
        (
            lambda path: path.write_text("# 敏感词\n\n  \n", encoding="utf-8"),
            "`plugins.risk_control.words_file`: words.txt lists no words (only blank lines and comments)",
        ),
        # A link to a device was read like a file: /dev/zero until memory ran out, /dev/null
        # as an empty list.
        (lambda path: path.symlink_to("/dev/null"), "{path}:1: cannot read word list: not a regular file"),
        # Opening a named pipe waited for a writer: the bot never started.
        (os.mkfifo, "{path}:1: cannot read word list: not a regular file"),
    ],
    ids=["empty", "/dev/null", "named pipe"],
)
def test_a_words_file_that_gives_no_words_is_reported(
    write_bot: Callable[..., Path],
    hang_guard: Callable[..., AbstractContextManager[None]],
    make_file: Callable[[Path], object],
    message: str,
) -> None:
    folder = write_bot(**{"bot.yaml": BOT + "plugins:\n  risk_control:\n    words_file: words.txt\n"})
    make_file(folder / "words.txt")
    with hang_guard():
        error = load_error(folder)
    file = folder / "bot.yaml"
    line = file.read_text(encoding="utf-8").splitlines().index("    words_file: words.txt") + 1
    assert error == f"{file}:{line}: {message.replace('{path}', str(folder / 'words.txt'))}"


def test_a_words_file_over_64_mib_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    with path.open("wb") as file:  # sparse: no disk is used
        file.truncate((64 << 20) + 1)
    with pytest.raises(sensitive_words.WordListError) as caught:
        sensitive_words.read_word_list(path)
    assert str(caught.value) == f"{path}:1: word list is larger than 64 MiB"
