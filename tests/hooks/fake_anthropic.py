"""A local fake of the Anthropic Messages API, reached through ANTHROPIC_BASE_URL.

It answers `POST /v1/messages` like the real API: JSON for plain requests, server-sent events
when `stream` is true. What it says is decided by the test: `on_structured` gives the object
returned for structured-output requests (the SDK's `output_config.format`, or the
`StructuredOutput` tool of `claude -p --json-schema`), and `on_tools` may pick a tool to call
(Claude Code's agent loop; it sees the whole request, tool results included). Every request
body is kept, so tests can check what reached "the model".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Structured = Callable[[str], dict[str, Any]]
# (tool name, input, tool_use id) to call, or None to end the turn with a text answer.
ToolChooser = Callable[[dict[str, Any]], tuple[str, dict[str, Any], str] | None]


def request_text(body: dict[str, Any]) -> str:
    """All the text a request carries: system prompt and every message block."""
    parts: list[str] = []
    system = body.get("system")
    if isinstance(system, str):
        parts.append(system)
    elif isinstance(system, list):
        parts += [b.get("text", "") for b in system if isinstance(b, dict)]
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict):
                    parts.append(str(block.get("text", "")))
                    if block.get("type") == "tool_result":
                        parts.append(json.dumps(block.get("content")))
    return "\n".join(parts)


def tool_results(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The tool_result blocks a request carries, by tool_use_id."""
    return {
        str(block.get("tool_use_id")): block
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    }


@dataclass
class FakeAnthropic:
    on_structured: Structured = field(default=lambda text: {"lessons": []})
    on_tools: ToolChooser = field(default=lambda body: None)
    usage: tuple[int, int] = (120, 30)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def daemon_env(self) -> dict[str, str]:
        """What `memoryd serve` needs to judge transcripts with this fake: a key and its URL."""
        return {"ANTHROPIC_API_KEY": "sk-ant-test-key", "ANTHROPIC_BASE_URL": self.url}

    def bodies(self) -> list[str]:
        with self.lock:
            return [json.dumps(b) for b in self.requests]

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(body)
        text = request_text(body)
        tools = {t.get("name") for t in body.get("tools", []) if isinstance(t, dict)}
        last = body.get("messages", [{}])[-1]
        answered_tool = isinstance(last.get("content"), list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in last["content"]
        )
        content: list[dict[str, Any]]
        if (body.get("output_config") or {}).get("format"):
            content = [{"type": "text", "text": json.dumps(self.on_structured(text))}]
            stop = "end_turn"
        elif "StructuredOutput" in tools and not answered_tool:
            content = [
                {
                    "type": "tool_use",
                    "id": "toolu_structured",
                    "name": "StructuredOutput",
                    "input": self.on_structured(text),
                }
            ]
            stop = "tool_use"
        else:
            chosen = self.on_tools(body)
            if chosen is not None:
                name, arguments, use_id = chosen
                content = [{"type": "tool_use", "id": use_id, "name": name, "input": arguments}]
                stop = "tool_use"
            else:
                content = [{"type": "text", "text": "FAKE-ANSWER done"}]
                stop = "end_turn"
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake"),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": self.usage[0], "output_tokens": self.usage[1]},
        }


def _sse(message: dict[str, Any]) -> Iterator[bytes]:
    def event(name: str, data: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

    start = {**message, "content": [], "stop_reason": None}
    yield event("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            yield event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": block["text"]},
                },
            )
        else:
            yield event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "input": {}},
                },
            )
            yield event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {
                        "type": "input_json_delta",
                        "partial_json": json.dumps(block["input"]),
                    },
                },
            )
        yield event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": message["usage"]["output_tokens"]},
        },
    )
    yield event("message_stop", {"type": "message_stop"})


def _handler(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_HEAD(self) -> None:
            self._send(404, b"")

        def do_GET(self) -> None:
            self._send(404, b'{"type":"error","error":{"type":"not_found_error","message":"no"}}')

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            if not self.path.split("?")[0].endswith("/v1/messages"):
                self.do_GET()
                return
            body = json.loads(raw)
            message = fake.answer(body)
            if body.get("stream"):
                self._send(200, b"".join(_sse(message)), "text/event-stream")
            else:
                self._send(200, json.dumps(message).encode())

    return Handler


@contextmanager
def fake_anthropic(fake: FakeAnthropic | None = None) -> Iterator[FakeAnthropic]:
    fake = fake or FakeAnthropic()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
