"""Claude Code hooks for memoryd: one stdlib-only script, one mode per hook event.

    memory_hook.py prompt         UserPromptSubmit: inject the memories relevant to the prompt
    memory_hook.py session-start  SessionStart: digest (startup/resume/clear), or the memories
                                  saved before compaction (compact)
    memory_hook.py pre-compact    PreCompact: ask the daemon to save this session's memories
    memory_hook.py stop           Stop: hand the transcript to the daemon's learning queue
    memory_hook.py tool-used      PostToolUse on memory tools: tell the daemon what was
                                  recalled or stored in this session
    memory_hook.py approve        PermissionRequest / PreToolUse on memory tools
    memory_hook.py auto-memory    PreToolUse on Write/Edit: a write to Claude Code's own auto
                                  memory (projects/*/memory/*.md) is stored in memoryd as well
                                  (MEMORY_CLAUDE_AUTO_MEMORY=instead: instead, the write denied)

Every mode but `approve` is a relay: the event JSON Claude Code wrote on stdin goes unparsed to
memoryd over its Unix socket, and memoryd's answer, already in Claude Code's output shape, goes
to stdout once checked to be exactly that shape. Retrieval, dedup and learning live in the
daemon. Any failure (daemon down, slow, bad answer) ends in exit 0 with nothing printed: memory
must never block or slow a prompt.

Startup is most of a hook's cost, so the relay path imports no more than `_socket` (0.3 ms of
CPU) and, to check an answer, `_json` (json's C scanner, 0.4 ms): not json or re (7 ms each),
not socket (its enums), not http.client (the email package), not os (1 ms: `python -S` has not
loaded it; `posix`, its built-in core, is loaded already), not even __future__ (annotations
here are valid at run time). `approve` decides locally and imports json only then; debug
logging imports os. Run through memory_hook.py, which imports this module so that its bytecode
is cached.
"""

import _socket
import posix
import sys
import time

TIMEOUT = 0.5  # the default wait for the daemon; MEMORY_HOOK_TIMEOUT changes it
MAX_TIMEOUT = 4.5  # hooks.json gives each hook 5 s
# A write to an auto-memory file is no prompt: worth waiting for (hooks.json allows 5 s).
AUTO_MEMORY_TIMEOUT = 3.0
DEFAULT_BUDGET = 8192

# Tools that only read or add: approved without a prompt. Anything else of ours still asks.
SAFE_TOOLS = frozenset(
    {
        "memory_recall",
        "memory_get",
        "memory_list",
        "memory_count",
        "memory_store",
        "memory_update",
        # Links relate memories and delete none (an unlinked memory stays as it was).
        "memory_link",
        "memory_unlink",
        "memory_links",
        # The prompt hook's own tool (mcp_shim/prompt_hook.py): it recalls, as the hook does.
        "memory_prompt_context",
    }
)
GUARDED_TOOLS = frozenset({"memory_delete", "secret_get"})
# Claude Code names MCP tools `mcp__<server>__<tool>`. Ours: the plugin's server (plugin
# `memoryd`, server `memory`) and the manual `claude mcp add memory`. A look-alike tool of any
# other server (`mcp__plugin_other_memory__memory_store`) is not ours to approve.
OUR_SERVERS = frozenset({"plugin_memoryd_memory", "memory"})

ENDPOINTS = {
    "prompt": "/api/hooks/prompt",
    "session-start": "/api/hooks/session-start",
    "pre-compact": "/api/hooks/pre-compact",
    "stop": "/api/hooks/stop",
    "tool-used": "/api/hooks/tool-used",
    "auto-memory": "/api/hooks/auto-memory",
}
# Modes whose answer Claude Code reads, with the event it must name; the others only notify
# the daemon.
ANSWERING = {"prompt": "UserPromptSubmit", "session-start": "SessionStart"}


def _fsdecode(value: bytes) -> str:
    return value.decode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())


def _env(name: str) -> str | None:
    value = posix.environ.get(name.encode())  # os.environ, before os decodes it
    return _fsdecode(value) if value else None  # empty counts as unset, as memory_core/config.py


def _expanduser(path: str) -> str:
    """os.path.expanduser: `~` and `~/…` here from HOME; other forms through os itself."""
    if not path.startswith("~"):
        return path
    home = posix.environ.get(b"HOME")
    if home is None or not (path == "~" or path.startswith("~/")):
        import os

        return os.path.expanduser(path)
    return (_fsdecode(home).rstrip("/") + path[1:]) or "/"


def _join(base: str, *names: str) -> str:
    """os.path.join for names that are plain relative names."""
    return base + ("" if base.endswith("/") else "/") + "/".join(names)


def memory_home() -> str:
    return _expanduser(_env("MEMORY_HOME") or "~/.claude/claude-memory")


def socket_path() -> str:
    """The same resolution as memory_core.config.Settings.socket_path."""
    explicit = _env("MEMORY_SOCKET")
    if explicit:
        return _expanduser(explicit)
    runtime = _env("XDG_RUNTIME_DIR")
    if runtime:
        return _join(runtime, "memoryd", "memoryd.sock")
    return _join(memory_home(), "run", "memoryd.sock")


def debug(message: str) -> None:
    """Log what the hook did (never what the user wrote), only when asked; never fails."""
    if _env("DEBUG_CLAUDE_MEMORY_HOOKS") != "1":
        return
    import os

    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} memory-hook[{os.getpid()}] {message}"
    try:
        print(line, file=sys.stderr)
        log_dir = os.path.join(memory_home(), "logs")
        _make_private_dirs(os.path.normpath(log_dir))
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        fd = os.open(os.path.join(log_dir, "hooks.log"), flags, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask, and for a file left wider before
        with os.fdopen(fd, "a") as handle:
            handle.write(line + "\n")
    except OSError:
        pass


def _make_private_dirs(path: str) -> None:
    """Create `path` and its missing parents, each 0700 whatever the umask (what
    memory_core/private_files.py does for memoryd; this script is stdlib-only)."""
    import os

    missing = []
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # made meanwhile by another process: not ours to chmod
        os.chmod(directory, 0o700)


class HookHTTPError(Exception):
    pass


def _dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


def exchange(path: str, payload: bytes, timeout: float = TIMEOUT) -> tuple[int, bytes]:
    """One HTTP/1.1 POST of JSON over the Unix socket, within `timeout` seconds in all."""
    deadline = time.monotonic() + timeout
    request = (
        f"POST {path} HTTP/1.1\r\nHost: memoryd\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    chunks = []
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(socket_path())
        sock.sendall(request)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete answer within {timeout}s")
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    finally:
        sock.close()
    head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HookHTTPError("not an HTTP response")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        body = _dechunk(body)
    elif b"content-length" in headers:
        length = int(headers[b"content-length"])
        if len(body) < length:
            raise HookHTTPError("answer cut short")
        body = body[:length]
    return int(parts[1]), body


def timeout() -> float:
    """How long a prompt or session hook waits for the daemon before it gives up (fail-open)."""
    raw = _env("MEMORY_HOOK_TIMEOUT")
    try:
        value = float(raw) if raw else TIMEOUT
    except ValueError:
        return TIMEOUT
    return max(0.1, min(MAX_TIMEOUT, value)) if value == value else TIMEOUT  # NaN: default


def budget() -> int:
    raw = _env("MEMORY_HOOK_BUDGET")
    try:
        return max(512, min(9500, int(raw))) if raw else DEFAULT_BUDGET
    except ValueError:
        return DEFAULT_BUDGET


def relay(mode: str, event: bytes) -> bytes | None:
    """The daemon's answer for Claude Code (a JSON object), or None."""
    path = ENDPOINTS[mode]
    answering = mode in ANSWERING
    if answering:
        path += f"?budget={budget()}"
    elif mode == "auto-memory" and _env("MEMORY_CLAUDE_AUTO_MEMORY") == "instead":
        path += "?instead=1"  # the daemon denies the write, saying the note is in memoryd
        answering = True
    try:
        status, body = exchange(
            path, event, AUTO_MEMORY_TIMEOUT if mode == "auto-memory" else timeout()
        )
    except (OSError, HookHTTPError, ValueError) as exc:  # TimeoutError is an OSError
        debug(f"{mode}: daemon unreachable or bad answer ({type(exc).__name__}: {exc})")
        return None
    if status >= 300:
        debug(f"{mode}: HTTP {status} {body[:200]!r}")
        return None
    if not answering:
        return None
    expected = is_denial(body) if mode == "auto-memory" else is_hook_answer(body, ANSWERING[mode])
    if not expected:
        debug(f"{mode}: the answer is not the hook JSON expected; nothing printed")
        return None
    return body


def hook_output(body: bytes) -> dict[str, object] | None:
    """The `hookSpecificOutput` object of `body` when `body` is one JSON object holding that
    and nothing else, else None.

    Claude Code takes a hook's stdout that is not JSON as plain context for the model, and
    acts on the fields of one that is ("decision": "block" stops the prompt): a body cut short,
    or whatever else answers on the socket, must never be printed."""
    try:
        answer = parse_json(body.decode("utf-8"))
    except Exception:  # any malformed input, however the scanner reports it
        return None
    if not isinstance(answer, dict) or list(answer) != ["hookSpecificOutput"]:
        return None
    output = answer["hookSpecificOutput"]
    return output if isinstance(output, dict) else None


def is_hook_answer(body: bytes, event: str) -> bool:
    """True when `body` is exactly what memoryd answers for `event`:
    {"hookSpecificOutput": {"hookEventName": event, "additionalContext": "<text>"}}."""
    output = hook_output(body)
    return (
        output is not None
        and sorted(output) == ["additionalContext", "hookEventName"]
        and output["hookEventName"] == event
        and isinstance(output["additionalContext"], str)
    )


def is_denial(body: bytes) -> bool:
    """True when `body` is exactly the PreToolUse denial memoryd answers in "instead" mode:
    {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
    "permissionDecisionReason": "<text>"}}."""
    output = hook_output(body)
    return (
        output is not None
        and sorted(output) == ["hookEventName", "permissionDecision", "permissionDecisionReason"]
        and output["hookEventName"] == "PreToolUse"
        and output["permissionDecision"] == "deny"
        and isinstance(output["permissionDecisionReason"], str)
    )


def parse_json(text: str) -> object:
    """json.loads(text), without importing json (it imports re: ~10 ms of start-up). This is
    the C scanner json.decoder itself uses, given the settings json.loads gives it."""
    try:
        from _json import make_scanner
    except ImportError:  # not CPython: the module then
        import json

        return json.loads(text)

    class Settings:
        strict = True  # no raw control characters inside strings
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int

        @staticmethod
        def parse_constant(name: str) -> object:
            raise ValueError(f"{name} is not JSON")  # NaN, Infinity

    blank = " \t\n\r"
    start = len(text) - len(text.lstrip(blank))
    scan = make_scanner(Settings())  # type: ignore[arg-type]  # it reads these attributes
    value, end = scan(text, start)
    if text[end:].strip(blank):
        raise ValueError("extra data after the JSON value")
    return value


def split_tool(tool_name: str) -> tuple[str, str] | None:
    """(server, tool) for one of our MCP tools, else None."""
    parts = tool_name.split("__")
    if len(parts) != 3 or parts[0] != "mcp" or parts[1] not in OUR_SERVERS:
        return None
    return parts[1], parts[2]


def approve(raw: bytes) -> bytes | None:
    """Allow our read/add tools; leave everything else to Claude Code's own permission flow."""
    import json

    if _env("DISABLE_CLAUDE_MEMORY_AUTO_APPROVE") == "1":
        return None
    event = json.loads(raw or b"{}")
    if not isinstance(event, dict):
        return None
    ours = split_tool(str(event.get("tool_name", "")))
    if ours is None:
        return None
    tool = ours[1]
    allowed = tool in SAFE_TOOLS or (
        tool in GUARDED_TOOLS and _env("MEMORY_AUTO_APPROVE_ALL") == "1"
    )
    if not allowed:
        return None  # no decision: Claude Code asks the user as usual
    decision: dict[str, object]
    if event.get("hook_event_name") == "PermissionRequest":
        decision = {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}
    else:
        decision = {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": f"memoryd: {tool} only reads or adds memories",
        }
    return json.dumps({"hookSpecificOutput": decision}).encode()


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    mode = argv[1] if len(argv) > 1 else ""
    try:
        event = sys.stdin.buffer.read()
        if mode == "approve":
            out = approve(event)
        elif mode == "auto-memory" and b"/memory/" not in event:
            out = None  # not an auto-memory file: no need to wake the daemon
        elif mode in ENDPOINTS:
            out = relay(mode, event)
        else:
            debug(f"unknown mode {mode!r}")
            return 0
        if out:
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
        debug(
            f"{mode}: {'answered' if out else 'no output'} in "
            f"{(time.perf_counter() - started) * 1000:.1f} ms"
        )
    except Exception as exc:  # fail open, whatever happened
        debug(f"{mode}: failed open ({type(exc).__name__}: {exc})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
