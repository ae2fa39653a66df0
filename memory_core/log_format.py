"""Log lines that never carry what a user stored.

An exception's message may quote the value it failed on: pydantic's `input_value`, a database
driver's parameter, `float()`'s unparsable string, all of which can be memory content. So every
process that writes a log (memoryd serve, memory-hub serve, the MCP shim) formats tracebacks
with `ContentFreeFormatter`: the exception types and the frames, never the messages. What the
code logs on purpose names ids, codes and counts, never bodies or content.
"""

from __future__ import annotations

import logging
import traceback

WITHHELD = "(message withheld: it may quote stored content)"
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _lines(exc: BaseException, seen: set[int]) -> list[str]:
    seen.add(id(exc))
    lines: list[str] = []
    cause, context = exc.__cause__, None if exc.__suppress_context__ else exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += [*_lines(cause, seen), "", _CAUSE, ""]
    elif context is not None and id(context) not in seen:
        lines += [*_lines(context, seen), "", _CONTEXT, ""]
    lines.append("Traceback (most recent call last):")
    for frame in traceback.format_list(traceback.extract_tb(exc.__traceback__)):
        lines += frame.rstrip("\n").split("\n")
    lines.append(f"{_type_name(exc)}: {WITHHELD}")
    if isinstance(exc, BaseExceptionGroup):
        for number, inner in enumerate(exc.exceptions, 1):
            lines.append(f"  +---- {number} ----")
            lines += [f"  | {line}" for line in _lines(inner, seen)]
    return lines


def withheld_traceback(exc: BaseException) -> str:
    """`exc`'s traceback, causes and contexts included, with every message left out."""
    return "\n".join(_lines(exc, set()))


class ContentFreeFormatter(logging.Formatter):
    """A `logging.Formatter` whose tracebacks leave out exception messages."""

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        exc = ei[1]
        return "" if exc is None else withheld_traceback(exc)

    def format(self, record: logging.LogRecord) -> str:
        # Another handler's formatter may have cached the full traceback on the record.
        record.exc_text = None
        return super().format(record)


def log_to(handler: logging.Handler, level: int, fmt: str) -> None:
    """Send the root logger's records at `level` and up to `handler`, formatted by `fmt`."""
    handler.setFormatter(ContentFreeFormatter(fmt))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
