"""An Aho-Corasick automaton: every occurrence of many keys in one pass over a text.

Pure Python on purpose. ``pyahocorasick`` 2.3.1 (wheels for 3.10-3.13) was measured on the
same folded text and a 10,000-word Chinese list: its scan took 8-50 us per message against
1-4 us here, because its nodes search their children linearly and the root of a Chinese
list has thousands of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

__all__ = ["Automaton"]


class Automaton:
    """Aho-Corasick automaton over ``keys`` (found by their index); state 0 is the root."""

    def __init__(self, keys: Sequence[str]) -> None:
        goto: list[dict[str, int]] = [{}]
        own: list[list[int]] = [[]]
        for key_id, key in enumerate(keys):
            state = 0
            for char in key:
                nxt = goto[state].get(char)
                if nxt is None:
                    nxt = goto[state][char] = len(goto)
                    goto.append({})
                    own.append([])
                state = nxt
            own[state].append(key_id)
        self.goto = goto
        self.fail = [0] * len(goto)
        # Each state's outputs include its fail chain's, so a scan never walks the chain.
        self.out: list[tuple[int, ...]] = [()] * len(goto)
        self._link(own)

    def _link(self, own: list[list[int]]) -> None:
        goto, fail, out = self.goto, self.fail, self.out
        queue = deque(goto[0].values())
        while queue:  # breadth first: a fail target is always shallower, hence done
            state = queue.popleft()
            out[state] = (*own[state], *out[fail[state]])
            for char, child in goto[state].items():
                back = fail[state]
                while back and char not in goto[back]:
                    back = fail[back]
                fail[child] = goto[back].get(char, 0)
                queue.append(child)

    def scan(self, text: str) -> Iterator[tuple[int, int]]:
        """Yield ``(index of last character, key id)`` for every key occurrence in ``text``."""
        goto, fail, out = self.goto, self.fail, self.out
        state = 0
        for index, char in enumerate(text):
            nxt = goto[state].get(char)
            while nxt is None and state:
                state = fail[state]
                nxt = goto[state].get(char)
            state = nxt or 0
            if out[state]:
                for key_id in out[state]:
                    yield index, key_id
