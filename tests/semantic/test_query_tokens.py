"""A static query's token ids from its remembered chunks (query_tokens.py) are, for any text,
those of the whole text tokenized at once: the static embedding, and so a prompt hook's
answer, must not change because a query's words were seen before."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from memoryd.semantic.embedder import MAX_QUERY_TOKENS, load_tokenizer
from memoryd.semantic.model import packaged
from memoryd.semantic.query_tokens import QueryTokens, chunks_are_exact

# What a prompt may hold that could tell a chunk's tokens from the whole text's: whitespace
# of each kind (some of which BERT deletes as control characters, not splits), combining
# marks (NFD, stripped accents), cased letters, CJK (spaced out), the special tokens written
# out, words too long for WordPiece, punctuation, emoji, replacement and NUL characters.
PIECES = [
    *"abcdefghijklmnopqrstuvwxyz",
    "react", "coverage", "handle", "hupiab", "xind", "unaffable", "Σίσυφος", "İstanbul",
    "straße", "café", "cafe\u0301", "\u0301", "中文", "東京", "😀", "\ufffd", "\x00",
    " ", "  ", "\n", "\t", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
    "\u2028", "\u3000", "[SEP]", "[CLS]", "[PAD]", "[MASK]", "[UNK]", "[sep]",
    ".", ",", "?", "!", "'", '"', "-", "_", "/", "(", ")", "#", "##", "x" * 120,
    "a.b.c.d.e", "self.assertEqual(x,y)",  # one chunk, many tokens
]  # fmt: skip
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=120).map("".join)


def reference(tokenizer: Tokenizer, text: str) -> list[int]:
    """The query's ids as static.StaticQueries took them before: the whole text tokenized."""
    special = set(tokenizer.encode("").ids) | {tokenizer.token_to_id("[PAD]") or 0}
    return [i for i in tokenizer.encode(text).ids if i not in special]


def chunked(tokens: QueryTokens, tokenizer: Tokenizer, text: str) -> list[int]:
    special = set(tokenizer.encode("").ids) | {tokenizer.token_to_id("[PAD]") or 0}
    return [i for i in tokens.ids(text) if i not in special]


@pytest.fixture(scope="module", params=[MAX_QUERY_TOKENS, 9])
def tokenizer(request: pytest.FixtureRequest) -> Tokenizer:
    """The packaged model's, cut as queries are, and cut short (truncation inside chunks)."""
    return load_tokenizer(packaged(), request.param)


def test_the_packaged_tokenizer_is_taken_in_chunks(tokenizer: Tokenizer) -> None:
    assert chunks_are_exact(tokenizer)


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(texts, min_size=1, max_size=8), capacity=st.sampled_from([3, 50, 8192]))
def test_chunks_give_the_whole_texts_ids(
    tokenizer: Tokenizer, batch: list[str], capacity: int
) -> None:
    """Texts one after the other through one instance: chunks seen before and new ones, a
    small memory forgetting them, a text repeated (all known)."""
    tokens = QueryTokens(tokenizer, capacity)
    for text in [*batch, *batch]:
        assert chunked(tokens, tokenizer, text) == reference(tokenizer, text)


@pytest.mark.parametrize(
    "text", ["a.b.c.d.e a.b.c.d.e", "q a.b.c.d.e w a.b.c.d.e", "a.b.c.d.e" + " a.b" * 40]
)
def test_a_repeated_chunk_cut_by_truncation_keeps_its_first_place_whole(
    tokenizer: Tokenizer, text: str
) -> None:
    """Tokenized once for both places: the cut falls in its second copy, not its first."""
    tokens = QueryTokens(tokenizer)
    assert chunked(tokens, tokenizer, text) == reference(tokenizer, text)
    assert chunked(tokens, tokenizer, text) == reference(tokenizer, text)


def test_a_long_prompt_is_tokenized_only_up_to_the_limit(tokenizer: Tokenizer) -> None:
    words = [f"word{n}" for n in range(5000)]
    text = " ".join(words)
    tokens = QueryTokens(tokenizer)
    assert chunked(tokens, tokenizer, text) == reference(tokenizer, text)
    assert len(tokens._known) < 100  # the words past the limit were never looked at


def test_other_tokenizers_take_the_whole_text() -> None:
    """A tokenizer whose tokens may span a space (no pre-tokenizer here) is never chunked."""
    tokenizer = load_tokenizer(packaged(), MAX_QUERY_TOKENS)
    tokenizer.pre_tokenizer = None  # type: ignore[assignment]
    assert not chunks_are_exact(tokenizer)
    tokens = QueryTokens(tokenizer)
    text = "how do we handle the react coverage here?"
    assert tokens.ids(text) == tokenizer.encode(text).ids
