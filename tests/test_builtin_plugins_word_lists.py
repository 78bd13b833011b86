"""Word lists of the built-in plugins as a shop writes them: what a listed word really catches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import kefu

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
