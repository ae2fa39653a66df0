"""Where a hook process's CPU goes: the hook next to bare interpreters and single imports, all
spawned the same way in one run, interleaved (so a busy minute hits every variant alike).

CPU is the child's user + system time from wait4; wall is spawn to exit. One real daemon on a
temporary MEMORY_HOME, empty and lexical (the prompt finds nothing: 204), so the hook's own
cost is what differs. `hooks/_memory_hook.py` run directly as a script is the hook as it was
before the entry point split: compiled from source on every run.

    python bench/hook_startup.py            # 300 runs of each
    python bench/hook_startup.py --runs 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support import running_daemon  # noqa: E402

EVENT = json.dumps(
    {
        "session_id": "startup-bench",
        "cwd": "/tmp/shop",
        "hook_event_name": "UserPromptSubmit",
        "prompt": "how do we handle the svelte and postgres deploy here?",
    }
).encode()


def variants(python: str) -> dict[str, list[str]]:
    hooks = REPO / "hooks"
    return {
        "`python -S -c pass`": [python, "-S", "-c", "pass"],
        "`python -I -S -c pass`": [python, "-I", "-S", "-c", "pass"],
        "`python -S -c 'import _socket'`": [python, "-S", "-c", "import _socket"],
        "`python -S -c 'import os'`": [python, "-S", "-c", "import os"],
        "hook run as a script (`_memory_hook.py`, compiled each run)": [
            python,
            "-S",
            str(hooks / "_memory_hook.py"),
            "prompt",
        ],
        "hook through its entry point (`memory_hook.py`, cached bytecode)": [
            python,
            "-S",
            str(hooks / "memory_hook.py"),
            "prompt",
        ],
        "hook through its entry point, `-I`": [
            python,
            "-I",
            "-S",
            str(hooks / "memory_hook.py"),
            "prompt",
        ],
    }


def spawn(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(EVENT)
    proc.stdin.close()
    proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0 or err:
        raise RuntimeError(err.decode())
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    python = sys.executable
    print(f"interpreter: {python}, {os.cpu_count()} cores; load: {os.getloadavg()}")
    with running_daemon(MEMORY_SEMANTIC="0", MEMORY_AUTO_LEARN="0") as daemon:
        env = dict(os.environ, MEMORY_SOCKET=str(daemon.socket), MEMORY_HOME=str(daemon.home))
        env.pop("XDG_RUNTIME_DIR", None)
        cases = variants(python)
        for argv in cases.values():
            spawn(argv, env)  # warm the page cache (and write the hook's bytecode cache)
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        wall: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, argv in cases.items():
                elapsed, used = spawn(argv, env)
                wall[name].append(elapsed * 1000)
                cpu[name].append(used * 1000)
    base = statistics.median(cpu["`python -S -c pass`"])
    print(f"load after: {os.getloadavg()}\n")
    print("| variant | CPU p50 ms | CPU over `python -S -c pass` | wall p50 ms | n |")
    print("|---|---|---|---|---|")
    for name in cases:
        median = statistics.median(cpu[name])
        print(
            f"| {name} | {median:.2f} | {median - base:+.2f} | "
            f"{statistics.median(wall[name]):.2f} | {len(cpu[name])} |"
        )


if __name__ == "__main__":
    main()
