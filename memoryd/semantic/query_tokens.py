"""A query's token ids for the static query embedding (static.py), the tokenizer run only on
the words it has not seen before.

Tokenizing was most of a static query's own CPU: ~25 us for a 17-word prompt (~1.3 us a word,
~3 us a call), and a long prompt paid for every word although only the first MAX_QUERY_TOKENS
count (~280 us for 150 words). Here each space-separated chunk's ids are remembered, so a
prompt made of known words costs a lookup a word (~5 us for the same 17), and a long one stops
at the limit; the words not seen yet are tokenized in one call.

Exact for the BERT WordPiece tokenizers (BertNormalizer, BertPreTokenizer, WordPiece: the
packaged model's): their normaliser acts a character at a time (NFD never joins across a
space) and their pre-tokeniser splits at every whitespace character, so a text's tokens are
its chunks' tokens one after the other, each the same wherever it stands, and truncation keeps
the first of them. Any other tokenizer runs on the whole text, as before.
"""

from __future__ import annotations

import sys

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

# Whitespace that BERT's tokenizer and str.split(" ") must agree on: these become spaces
# first. (Not str.split(): it also splits at "\x0b", "\x1c" or "\x85", control characters
# that BERT's normaliser deletes, joining what is around them.)
SEPARATORS = str.maketrans("\t\n\r", "   ")
CAPACITY = 8_192  # chunks remembered (<= ~3 MB, measured); past it all are forgotten at once


def chunks_are_exact(tokenizer: Tokenizer) -> bool:
    """Whether `tokenizer` tokenizes a text as its space-separated chunks one after the other
    (see the module's docstring)."""
    truncation = tokenizer.truncation
    return (
        isinstance(tokenizer.normalizer, normalizers.BertNormalizer)
        and isinstance(tokenizer.pre_tokenizer, pre_tokenizers.BertPreTokenizer)
        and isinstance(tokenizer.model, models.WordPiece)
        and isinstance(tokenizer.post_processor, processors.BertProcessing)
        and (truncation is None or truncation["direction"] == "right")
        and not any(
            any(c.isspace() for c in added.content)
            for added in tokenizer.get_added_tokens_decoder().values()
        )
    )


class QueryTokens:
    """`ids(text)`: the ids of `tokenizer.encode(text)` but perhaps the special tokens it
    puts around the text (the static embedding drops those anyway). Used from one thread at
    a time or several: each dictionary operation is atomic."""

    def __init__(self, tokenizer: Tokenizer, capacity: int = CAPACITY) -> None:
        self._tokenizer = tokenizer
        self._chunked = chunks_are_exact(tokenizer)
        truncation = tokenizer.truncation
        # An encoding's most ids, the special ones included, and of them the text's own.
        self._width = truncation["max_length"] if truncation else sys.maxsize
        self._limit = self._width - tokenizer.num_special_tokens_to_add(False)
        self._capacity = capacity
        self._known: dict[str, tuple[int, ...]] = {}

    def ids(self, text: str) -> list[int]:
        if not self._chunked:
            return list(self._tokenizer.encode(text).ids)
        chunks = text.translate(SEPARATORS).split(" ")
        ids: list[int] = []
        start = 0
        while start < len(chunks) and len(ids) < self._limit:
            start = self._add(chunks, start, ids)
        return ids[: self._limit]

    def _add(self, chunks: list[str], start: int, ids: list[int]) -> int:
        """The ids of `chunks[start:]` onto `ids`, until they are at least the limit (counting
        an unknown chunk as one: it may be more); returns where it stopped."""
        parts: list[tuple[int, ...] | str] = []
        count = len(ids)
        at = start
        while at < len(chunks) and count < self._limit:
            chunk = chunks[at]
            at += 1
            if not chunk:
                continue
            known = self._known.get(chunk)
            parts.append(chunk if known is None else known)
            count += 1 if known is None else len(known)
        # Each once, in the order first seen (on which _tokenize's truncation relies).
        unknown = list(dict.fromkeys(part for part in parts if isinstance(part, str)))
        found = self._tokenize(unknown) if unknown else {}
        for part in parts:
            ids.extend(found.get(part, ()) if isinstance(part, str) else part)
        return at

    def _tokenize(self, chunks: list[str]) -> dict[str, tuple[int, ...]]:
        """Each of `chunks`' ids (distinct chunks, in the order of their first place in the
        query), from one call on them joined by spaces (a plain text tokenizes ~1.5 times
        faster than the same words given pre-tokenized): a token is its chunk's by where it
        starts. A chunk cut by truncation keeps its ids before the cut and is not remembered,
        nor are those after it (they got none): the query's first `width` ids are all before
        the cut, so those lost are past the limit."""
        starts, at = [], 0
        for chunk in chunks:
            starts.append(at)
            at += len(chunk) + 1
        encoding = self._tokenizer.encode(" ".join(chunks), add_special_tokens=False)
        grouped: list[list[int]] = [[] for _ in chunks]
        place = 0
        for token, (begin, _) in zip(encoding.ids, encoding.offsets, strict=True):
            while place + 1 < len(starts) and starts[place + 1] <= begin:
                place += 1
            grouped[place].append(token)
        whole = len(chunks) if len(encoding.ids) < self._width else place
        found = {chunk: tuple(held) for chunk, held in zip(chunks, grouped, strict=True)}
        if len(self._known) + whole > self._capacity:
            self._known.clear()
        for chunk in chunks[:whole]:
            self._known[chunk] = found[chunk]
        return found
