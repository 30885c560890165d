"""What the suggestion model reads in a text: character n-grams of its Chinese runs and the
Latin words and numbers between them. Pure; training and serving share it, so the two can
never disagree about what a text contains.

Character n-grams rather than a word segmenter: reports are short, colloquial and full of
words no dictionary has (井盖翘起来, 飞线); n-grams of 1–3 characters match them by their
parts and need no dictionary to load (see bench/RESULTS.md for the comparison).
"""

from __future__ import annotations

import re
import unicodedata

NGRAM_SIZES = (1, 2, 3)
# Longer texts add nothing a report's first lines do not say, and cost time per character.
MAX_CHARS = 4000

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Full-width forms folded (ＫＴＶ → ktv), lower case, cut to ``MAX_CHARS``."""
    return unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()


def grams(text: str) -> list[str]:
    """The text's features, repeated as often as they occur."""
    text = normalize(text)
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        for n in NGRAM_SIZES:
            out.extend(run[i:i + n] for i in range(len(run) - n + 1))
    out.extend(_LATIN_WORD.findall(text))
    return out
