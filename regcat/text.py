"""Text normalisation shared by the index, search and matching."""

from __future__ import annotations

import re
import unicodedata

# Letters that Unicode does not decompose into base + accent, so NFKD alone keeps them.
_FOLD = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "å": "a", "Å": "a", "ß": "ss"})
_MARKS = re.compile(r"[\u0300-\u036f]")


def fold(text: str | None) -> str:
    """Lower-case, strip diacritics and fold ø/æ/å, so "Østrogen" matches "ostrogen"."""
    if not text:
        return ""
    text = text.translate(_FOLD)
    return _MARKS.sub("", unicodedata.normalize("NFKD", text)).lower()


def slug(text: str) -> str:
    """An ASCII identifier: lower-case, folded, non-alphanumerics as single `_`."""
    return re.sub(r"[^a-z0-9]+", "_", fold(text)).strip("_")
