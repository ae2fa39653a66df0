"""The prompt hook's HTTP answer reading (mcp_shim/http_answer.py): memoryd's answers in
whatever pieces they arrive, and everything else refused. The same answers from a real peer on
the socket are in test_prompt_hook_tool.py."""

from __future__ import annotations

import pytest

from mcp_shim.http_answer import MAX_ANSWER, Answer, BadAnswer
from mcp_shim.quick_post import request_bytes

BODY = b'{"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"x"}}'
OK = (
    b"HTTP/1.1 200 OK\r\ndate: Sun, 06 Dec 2026 10:00:00 GMT\r\nserver: uvicorn\r\n"
    b"content-length: %d\r\ncontent-type: application/json\r\n\r\n" % len(BODY) + BODY
)


def read(*pieces: bytes) -> tuple[int, bytes]:
    answer = Answer()
    for piece in pieces:
        done = answer.feed(piece)
        if done is not None:
            return done
    return answer.at_end()


@pytest.mark.parametrize("cut", range(1, len(OK)))
def test_an_answer_in_two_pieces_anywhere(cut: int) -> None:
    assert read(OK[:cut], OK[cut:]) == (200, BODY)


def test_it_is_complete_at_its_length_without_waiting_for_the_close() -> None:
    assert Answer().feed(OK) == (200, BODY)


def test_no_content_is_complete_at_the_end_of_its_head() -> None:
    assert Answer().feed(b"HTTP/1.1 204 No Content\r\nserver: uvicorn\r\n\r\n") == (204, b"")


def test_a_body_without_a_length_ends_with_the_connection() -> None:
    assert read(b"HTTP/1.0 200 OK\r\n\r\n{}", b'"') == (200, b'{}"')


def test_an_error_status_is_read_with_its_body() -> None:
    error = b'{"error":{"code":"bad_request","message":"no"}}'
    head = b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n" % len(error)
    assert read(head + error) == (400, error)


@pytest.mark.parametrize(
    ("pieces", "why"),
    [
        ([b""], "no answer"),
        ([b"SSH-2.0-OpenSSH_9.6\r\n"], "not an HTTP answer"),
        ([b"HTTP/1.1 200 OK\r\n"], "cut short"),
        ([b"HTTP/2 200\r\n\r\n"], "not an HTTP answer"),
        ([b"HTTP/1.1 OK\r\n\r\n"], "not an HTTP answer"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{"], "cut short"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"], "chunked"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"], "two different"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}"], "Content-Length"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n{}"], "Content-Length"),
        ([b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n{}"], "header line"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 9999999\r\n\r\n", b"x" * MAX_ANSWER], "too long"),
    ],
)
def test_anything_else_is_refused(pieces: list[bytes], why: str) -> None:
    with pytest.raises(BadAnswer, match=why):
        read(*pieces)


def test_something_that_is_not_http_is_refused_before_its_end() -> None:
    with pytest.raises(BadAnswer, match="not an HTTP answer"):
        Answer().feed(b"SSH-")


def test_the_request_is_one_post_with_its_length() -> None:
    sent = request_bytes("/api/hooks/prompt?budget=8192", b'{"a":"\xc3\xa9"}')
    assert sent == (
        b"POST /api/hooks/prompt?budget=8192 HTTP/1.1\r\nHost: memoryd\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        b'{"a":"\xc3\xa9"}'
    )
