"""`fts.stem` looks a word's suffix up by length; it must strip exactly what trying each of
`_SUFFIXES` in turn (its first definition, written out here) strips, on any word."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memory_core.recall import fts


def first_definition(word: str) -> str:
    for suffix in fts._SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def test_a_suffix_that_ends_another_is_listed_after_it() -> None:
    """What the look-up by length relies on: of two suffixes a word can both end with, the
    longer comes first, so the first one tried that fits is the longest that fits."""
    order = {suffix: index for index, suffix in enumerate(fts._SUFFIXES)}
    for longer in fts._SUFFIXES:
        for shorter in fts._SUFFIXES:
            if longer != shorter and longer.endswith(shorter):
                assert order[longer] < order[shorter], (longer, shorter)


letters = st.text(alphabet="abdeilmnorstyz'", max_size=9)


@settings(max_examples=1000, deadline=None)
@given(
    root=letters,
    suffix=st.sampled_from(("", *fts._SUFFIXES)),
    tail=st.sampled_from(("", *fts._SUFFIXES)),
)
def test_stem_is_its_first_definition(root: str, suffix: str, tail: str) -> None:
    word = root + suffix + tail
    assert fts.stem(word) == first_definition(word)


def test_surface_forms_are_what_stem_gives_back() -> None:
    for stemmed in ("deploy", "cach", "nation", "sing", "abc", "ab", "test", "kestrel"):
        forms = fts.surface_forms([stemmed])
        expected = [stemmed, *(stemmed + s for s in fts._SUFFIXES)]
        assert set(forms) == {w for w in expected if first_definition(w) == stemmed}
