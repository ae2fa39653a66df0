"""The MCP front: the plugin's MCP server while its environment is being installed.

Claude Code lists a server's tools when it connects, at session start; a server that is still
installing then offers none for the whole session. The front answers at once instead, from
shim_tools.json (the real shim's answers, generated): `initialize` (protocol 2025-11-25, what
Claude Code falls back to after its `server/discover` probe, which the front declines) and the
list requests. A `tools/call` is held until the build ends. Then the front starts the real shim
in the new environment, repeats the client's `initialize` to it, passes on the held calls and
from there on only copies lines both ways. If the build failed, held and later calls are
answered with an error that says what failed and the command that retries.

stdout carries only the protocol, one JSON message per line; the shim's stderr is the front's.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from plugin_env.layout import Layout, LayoutError
from plugin_env.runner import start_detached, wait_for_build
from plugin_env.status import FAILED, read_status

HOLD_LIMIT = 600.0  # longest a tool call waits for a build, in seconds
HANDSHAKE_LIMIT = 120.0  # for the shim's answer to `initialize`, on a first, cold start
# For the shim's first start of memoryd in a brand-new environment (no daemon yet, nothing in
# the OS file cache); the shim's own default, 3 s, is for a warm machine.
FIRST_START_BUDGET = "20"
SHIM_EXIT_LIMIT = 10.0  # after the client has gone
HANDSHAKE_ID = "memoryd-front-initialize"
# The prompt hook's tool (mcp_shim/prompt_hook.py; Claude Code calls it before each prompt):
# never held, a prompt must not wait for a build. Answered at once with the hook JSON that
# adds nothing, as the shim does whenever it cannot recall.
PROMPT_TOOL = "memory_prompt_context"
NOTHING = {"content": [{"type": "text", "text": "{}"}], "isError": False}
ANSWERS = "shim_tools.json"
# -P: not the working directory first on sys.path. Claude Code starts the server in the
# user's project, and a project with an mcp_shim or memoryd directory (this checkout, say)
# would otherwise shadow the plugin's own code.
SHIM_ARGS = ("-P", "-m", "mcp_shim")

Message = dict[str, Any]
SpawnShim = Callable[[], "subprocess.Popen[bytes]"]


def _message(line: bytes) -> Message:
    try:
        message = json.loads(line)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def error_result(text: str) -> Message:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def failure_text(layout: Layout) -> str:
    """What the model (and through it the user) is told when the build did not succeed."""
    status = read_status(layout.status)
    if status is not None and status.state == FAILED and status.version == layout.version:
        return (
            f"memoryd is unavailable in this session: installing its environment failed: "
            f"{status.message}. To retry now, run in a terminal: {status.retry} . "
            "The next Claude Code session also retries by itself."
        )
    return (
        f"memoryd is unavailable in this session: the install of its environment stopped "
        f"before it finished (log: {layout.log}). The next Claude Code session retries it."
    )


class Front:
    def __init__(
        self,
        layout: Layout,
        answers: Message,
        out: IO[bytes],
        spawn: SpawnShim,
        on_shim_exit: Callable[[int], None],
    ) -> None:
        self.layout = layout
        self.answers = answers
        self.out = out
        self.spawn = spawn
        self.on_shim_exit = on_shim_exit  # the front has nothing left to do without the shim
        self.lock = threading.Lock()  # guards everything below, and writes to `out`
        self.held: list[bytes] = []  # tools/call requests, as received
        self.client_init: Message | None = None  # the client's `initialize` params
        self.shim: subprocess.Popen[bytes] | None = None  # set once the handshake is done
        self.env_ready = False
        self.starting = False
        self.failure: str | None = None  # why calls cannot be served now
        self.handshake = threading.Event()  # the shim answered the front's `initialize`, or died
        self.handshake_problem: str | None = None

    # -- messages from the client -------------------------------------------------------

    def receive(self, line: bytes) -> None:
        with self.lock:
            if self.shim is not None:
                self._to_shim(line)
                return
        try:
            message = json.loads(line)
        except ValueError:
            self.send(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
            )
            return
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return  # a response (the front sends no requests) or a batch (not in this protocol)
        if "id" not in message:
            self._notification(message)
            return
        self._request(message, line)

    def _notification(self, message: Message) -> None:
        if message["method"] == "notifications/cancelled":
            cancelled = (message.get("params") or {}).get("requestId")
            with self.lock:
                self.held = [raw for raw in self.held if json.loads(raw).get("id") != cancelled]

    def _request(self, message: Message, line: bytes) -> None:
        method, ident = message["method"], message["id"]
        if method == "initialize":
            params = message.get("params")
            with self.lock:
                self.client_init = params if isinstance(params, dict) else {}
            result = {
                **self.answers["initialize"],
                "protocolVersion": self.answers["protocolVersion"],
            }
            self.reply(ident, result)
            self.maybe_start_shim()
        elif method == "ping":
            self.reply(ident, {})
        elif method in self.answers["lists"]:
            self.reply(ident, self.answers["lists"][method])
        elif method == "tools/call":
            self._call(message, line)
        else:
            self.send(
                {
                    "jsonrpc": "2.0",
                    "id": ident,
                    "error": {"code": -32601, "message": f"Method not found: {method}"},
                }
            )

    def _call(self, message: Message, line: bytes) -> None:
        prompt_hook = (message.get("params") or {}).get("name") == PROMPT_TOOL
        with self.lock:
            if self.shim is not None:
                self._to_shim(line)
                return
            failure, build_failed = self.failure, not self.env_ready
            if failure is None and not prompt_hook:
                self.held.append(line)
        if prompt_hook:
            self.reply(message["id"], NOTHING)
            return
        if failure is None:
            self._progress(message)
            return
        if build_failed and self.layout.ready():  # built since, by the retry command
            with self.lock:
                self.failure = None
                self.held.append(line)
            self.environment_ready()
            return
        self.reply(message["id"], error_result(failure))

    def _progress(self, message: Message) -> None:
        """One progress notice for a held call (Claude Code shows it while the tool runs)."""
        token = ((message.get("params") or {}).get("_meta") or {}).get("progressToken")
        if token is not None:
            text = "memoryd: installing its environment (the first session after install)"
            params = {"progressToken": token, "progress": 0, "message": text}
            self.send({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})

    # -- the build ------------------------------------------------------------------------

    def watch_build(self, hold_limit: float = HOLD_LIMIT) -> None:
        """Wait for the build to end (in a thread of its own), then serve or fail."""
        ended = threading.Event()
        problem: list[str] = []

        def wait() -> None:
            try:
                wait_for_build(self.layout)
            except OSError as exc:
                problem.append(f"memoryd is unavailable: cannot read {self.layout.lock}: {exc}")
            ended.set()

        threading.Thread(target=wait, name="build-wait", daemon=True).start()
        if not ended.wait(hold_limit):
            self.fail(
                f"memoryd's environment is still being installed after {hold_limit:.0f} s "
                f"(log: {self.layout.log}); try again in a few minutes."
            )
            ended.wait()
        if self.layout.ready():
            self.environment_ready()
        else:
            self.fail(problem[0] if problem else failure_text(self.layout))

    def environment_ready(self) -> None:
        with self.lock:
            self.env_ready = True
            self.failure = None
        self.maybe_start_shim()

    def fail(self, text: str) -> None:
        with self.lock:
            self.failure = text
            held, self.held = self.held, []
        for raw in held:
            self.reply(json.loads(raw)["id"], error_result(text))

    # -- the real shim --------------------------------------------------------------------

    def maybe_start_shim(self) -> None:
        """Once the environment is ready and the client has initialized (in either order)."""
        with self.lock:
            if not self.env_ready or self.client_init is None or self.starting:
                return
            self.starting = True
            init = dict(self.client_init)
        threading.Thread(target=self._start_shim, args=(init,), name="shim", daemon=True).start()

    def _start_shim(self, init: Message) -> None:
        try:
            shim = self.spawn()
        except OSError as exc:
            self.fail(f"memoryd is unavailable: its MCP server did not start: {exc}")
            return
        threading.Thread(target=self._pump, args=(shim,), name="shim-out", daemon=True).start()
        init["protocolVersion"] = self.answers["protocolVersion"]
        request = {"jsonrpc": "2.0", "id": HANDSHAKE_ID, "method": "initialize", "params": init}
        try:
            self._write_shim(shim, request)
            if not self.handshake.wait(HANDSHAKE_LIMIT):
                raise OSError(f"no answer to initialize within {HANDSHAKE_LIMIT:.0f} s")
            if self.handshake_problem:
                raise OSError(self.handshake_problem)
            self._write_shim(shim, {"jsonrpc": "2.0", "method": "notifications/initialized"})
            with self.lock:
                for raw in self.held:
                    self._to_shim(raw, shim)
                self.held = []
                self.shim = shim
            if shim.poll() is not None:  # gone already: the pump saw no established shim
                self.on_shim_exit(shim.returncode)
        except OSError as exc:
            shim.kill()
            self.fail(
                f"memoryd is unavailable: its MCP server did not start ({exc}); "
                "`claude --debug` shows its errors"
            )

    def _pump(self, shim: subprocess.Popen[bytes]) -> None:
        """The shim's stdout to ours, less its answer to the front's own `initialize`. When
        the shim ends: before that answer, _start_shim fails the calls; after, the front ends."""
        assert shim.stdout is not None
        for line in shim.stdout:
            if not self.handshake.is_set() and HANDSHAKE_ID.encode() in line:
                answer = _message(line)
                if answer.get("id") == HANDSHAKE_ID:
                    if "result" not in answer:
                        self.handshake_problem = (
                            f"it answered initialize with {answer.get('error')}"
                        )
                    self.handshake.set()
                    continue
            with self.lock:
                self.out.write(line)
                self.out.flush()
        status = shim.wait()
        if not self.handshake.is_set():
            self.handshake_problem = f"it exited with status {status} before answering initialize"
            self.handshake.set()
            return
        with self.lock:
            established = self.shim is shim
        if established:
            self.on_shim_exit(status)

    def _write_shim(self, shim: subprocess.Popen[bytes], message: Message) -> None:
        with self.lock:
            self._to_shim(json.dumps(message).encode() + b"\n", shim)

    def _to_shim(self, line: bytes, shim: subprocess.Popen[bytes] | None = None) -> None:
        """Under self.lock. A shim that has exited is noticed by the pump (on_shim_exit)."""
        target = shim or self.shim
        assert target is not None and target.stdin is not None
        try:
            target.stdin.write(line if line.endswith(b"\n") else line + b"\n")
            target.stdin.flush()
        except OSError:
            pass

    def close(self) -> bool:
        """The client closed stdin: so does the front, to the shim, which then exits (and
        the pump calls on_shim_exit). False if there is no shim to wait for."""
        with self.lock:
            shim = self.shim
        if shim is None or shim.stdin is None:
            return False
        with contextlib.suppress(OSError):
            shim.stdin.close()
        return True

    # -- output ---------------------------------------------------------------------------

    def reply(self, ident: Any, result: Message) -> None:
        self.send({"jsonrpc": "2.0", "id": ident, "result": result})

    def send(self, message: Message) -> None:
        with self.lock:
            self.out.write(json.dumps(message).encode() + b"\n")
            self.out.flush()


def spawn_shim(layout: Layout, environ: dict[str, str]) -> SpawnShim:
    env = dict(environ)
    env.setdefault("MEMORY_SHIM_START_TIMEOUT", FIRST_START_BUDGET)
    python = str(layout.python)

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [python, *SHIM_ARGS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )

    return spawn


def serve(front: Front, stdin: IO[bytes], hold_limit: float = HOLD_LIMIT) -> None:
    """Run the front until the client closes stdin; then wait for the shim, if any, to end
    (on_shim_exit ends the process)."""
    build = threading.Thread(target=front.watch_build, args=(hold_limit,), daemon=True)
    build.start()
    for line in stdin:
        if line.strip():
            front.receive(line)
    if front.close():
        threading.Event().wait(SHIM_EXIT_LIMIT)


def run_directly(python: str) -> None:
    """The environment is ready: the shim replaces this process (no front in between)."""
    os.execv(python, [python, *SHIM_ARGS])  # noqa: S606 - our own venv's python


def main(environ: dict[str, str], default_root: Path) -> int:
    """`python3 scripts/mcp_front.py`, the plugin's MCP server command (.mcp.json)."""
    override = environ.get("MEMORYD_PLUGIN_PYTHON")  # development and tests: a ready env
    if override:
        run_directly(override)
    try:
        layout = Layout.from_environ(environ, default_root)
    except LayoutError as exc:
        sys.stderr.write(f"memoryd plugin: {exc}\n")
        return 1
    if layout.ready():
        run_directly(str(layout.python))
    with contextlib.suppress(OSError):  # if so, watch_build finds out and tells the tool calls
        start_detached(layout, "the MCP server")  # before any thread: it forks
    answers = json.loads((Path(__file__).with_name(ANSWERS)).read_text())

    def exit_with(code: int) -> None:
        sys.stdout.flush()
        os._exit(code)

    spawn = spawn_shim(layout, environ)
    serve(Front(layout, answers, sys.stdout.buffer, spawn, exit_with), sys.stdin.buffer)
    return 0
