"""The plugin's first session after install: what building its environment costs, and how
fast the MCP server and the hooks answer while it runs.

    python bench/plugin_install.py build VARIANT   one cold build (empty package caches, the
                                                   package index reached), timed step by step
    python bench/plugin_install.py first-call INSTALLER [--no-warm-up]
                                                   a first session through the front: spawn →
                                                   tools/list, and → the first memory_store's
                                                   answer (build, shim, daemon, the call)
    python bench/plugin_install.py answers         front vs shim spawn → tools/list, and the
                                                   SessionStart / prompt hooks with no env yet

Build variants (plugin_env/build.py is what the plugin does; the others are for comparison):

    before        the plugin until issue 18: `python -m venv` (with pip), then
                  `pip install <plugin>` (builds the project's wheel, compiles all bytecode)
    pip           plugin_env with pip: venv without pip, the base pip's --python,
                  requirements.txt, --no-compile, the start-up modules compiled (warm-up)
    pip-compile   the same, compiling all bytecode (pip's default)
    pip-all-deps  the same as `pip`, with every dependency of pyproject.toml (asyncpg too)
    pip-no-anthropic  the same as `pip`, without the anthropic SDK either
    pip-no-warm   the same as `pip`, without the warm-up step
    uv            plugin_env with uv on PATH
    uv-project    uv, installing the plugin as a built project instead of requirements + .pth

Each build reports its steps and its total (seconds), and the environment's size. Run one
variant per invocation: the machine is shared, and a cold pip build takes ~30-45 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from plugin_env.build import (  # noqa: E402
    PIP_FLAGS,
    Step,
    build,
    find_base_python,
    pip_plan,
    pip_version,
    probe,
    uv_plan,
)
from plugin_env.layout import Layout  # noqa: E402
from tests.shim.helpers import stop_daemons  # noqa: E402
from tests.shim.plugin_helpers import McpPipe, plugin_env, wait_for  # noqa: E402

SCRIPTS = ("plugin_python.py", "mcp_front.py")
VARIANTS = (
    "before",
    "pip",
    "pip-compile",
    "pip-all-deps",
    "pip-no-anthropic",
    "pip-no-warm",
    "uv",
    "uv-project",
)


def machine() -> str:
    load = os.getloadavg()[0]
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {load:.1f}"  # noqa: E501


def children_cpu() -> float:
    """User + system CPU seconds of the subprocesses waited for so far (pip's too)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def size_mb(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1e6


def timed_build(variant: str, work: Path) -> None:
    base = find_base_python()
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    data, caches = work / "data", work / "caches"
    caches.mkdir(parents=True)
    os.environ["PIP_CACHE_DIR"] = str(caches / "pip")
    os.environ["UV_CACHE_DIR"] = str(caches / "uv")
    root = REPO
    if variant in ("pip-all-deps", "pip-no-anthropic"):  # a plugin copy, other requirements
        root = work / "plugin"
        shutil.copytree(REPO / ".claude-plugin", root / ".claude-plugin")
        shutil.copytree(REPO / "plugin_env", root / "plugin_env")
        for package in ("memory_core", "memoryd", "mcp_shim"):
            (root / package).symlink_to(REPO / package)
        deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
        if variant == "pip-no-anthropic":
            deps = [d for d in deps if not d.startswith(("anthropic", "asyncpg"))]
        (root / "plugin_env" / "requirements.txt").write_text("\n".join(deps) + "\n")
    layout = Layout(root, data, "0.1.0")
    data.mkdir()
    target = layout.build_dir
    python = str(target / "bin" / "python")
    if variant in ("pip", "pip-all-deps", "pip-no-anthropic", "pip-no-warm"):
        steps = pip_plan(
            base, pip_version(probe([base, "-m", "pip", "--version"])), target, layout.requirements
        )
    elif variant == "pip-compile":
        steps = pip_plan(base, (99, 0), target, layout.requirements)
        steps[1] = Step(steps[1].what, tuple(a for a in steps[1].argv if a != "--no-compile"))
    elif variant == "uv":
        steps = uv_plan(uv, base, target, layout.requirements)
    elif variant == "uv-project":
        steps = [uv_plan(uv, base, target, layout.requirements)[0]]
        steps.append(
            Step("install the plugin (uv)", (uv, "pip", "install", "--python", python, str(REPO)))
        )
    else:  # before
        steps = [
            Step("create the virtual environment", (base, "-m", "venv", str(target))),
            Step(
                "install the plugin (pip)",
                (python, "-m", "pip", "install", *PIP_FLAGS[1:], str(REPO)),
            ),
        ]
    timings: list[tuple[str, float, float]] = []  # (step, wall s, CPU s of its processes)
    log = open(work / "build.log", "w")  # noqa: SIM115 - closed below

    def run(step: Step) -> int:
        if variant == "pip-no-warm" and step.what.startswith("import"):
            return 0
        began, cpu = time.monotonic(), children_cpu()
        done = subprocess.run(step.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=data)
        timings.append((step.what, time.monotonic() - began, children_cpu() - cpu))
        return done.returncode

    started, cpu = time.monotonic(), children_cpu()
    if variant in ("before", "uv-project"):  # the project is installed, not put on the path
        for step in steps:
            assert run(step) == 0, (work / "build.log").read_text()[-2000:]
    else:
        build(layout, steps, run)
    total = time.monotonic() - started
    log.close()
    venv = layout.venv if layout.venv.exists() else target
    print(json.dumps({
        "variant": variant,
        "machine": machine(),
        "steps_wall_cpu_s": {what: [round(w, 1), round(c, 1)] for what, w, c in timings},
        "total_wall_s": round(total, 1),
        "total_cpu_s": round(children_cpu() - cpu, 1),
        "env_mb": round(size_mb(venv), 0),
    }))  # fmt: skip


def first_call(installer: str, warm_up: bool, work: Path) -> None:
    root = REPO
    if not warm_up:  # a plugin copy whose warm-up list is empty
        root = work / "plugin"
        shutil.copytree(REPO / ".claude-plugin", root / ".claude-plugin")
        shutil.copytree(REPO / "plugin_env", root / "plugin_env")
        (root / "scripts").mkdir()
        for item in ("memory_core", "memoryd", "mcp_shim", *(f"scripts/{s}" for s in SCRIPTS)):
            (root / item).symlink_to(REPO / item)
        (root / "plugin_env" / "warm_up.txt").write_text("# none\n")
    home, data = work / "m", work / "data"
    env = plugin_env(
        CLAUDE_PLUGIN_ROOT=str(root),
        CLAUDE_PLUGIN_DATA=str(data),
        MEMORYD_PLUGIN_INSTALLER=installer,
        MEMORY_HOME=str(home),
        MEMORY_SOCKET=str(home / "d.sock"),
        PIP_CACHE_DIR=str(work / "pip-cache"),
        UV_CACHE_DIR=str(work / "uv-cache"),
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # uv, from the dev venv
    )
    server = json.loads((REPO / ".mcp.json").read_text())["mcpServers"]["memory"]
    argv = [shutil.which("python3") or sys.executable]
    argv += [a.replace("${CLAUDE_PLUGIN_ROOT}", str(root)) for a in server["args"]]
    began = time.monotonic()
    front = McpPipe(argv, env)
    front.initialize()
    front.request(1, "tools/list")
    front.answer(1)
    listed = time.monotonic() - began
    arguments = {"content": "The orders service deploys with Nomad", "expanded_keywords": "a b"}
    front.request(2, "tools/call", {"name": "memory_store", "arguments": arguments})
    result = front.answer(2, timeout=600)["result"]
    answered = time.monotonic() - began
    assert not result.get("isError"), result
    front.close()
    stop_daemons(home)
    steps = [
        line.split(": exit 0 after ")
        for line in (data / "install.log").read_text().splitlines()
        if ": exit 0 after " in line
    ]
    print(json.dumps({
        "installer": installer,
        "warm_up": warm_up,
        "machine": machine(),
        "tools_listed_s": round(listed, 2),
        "first_store_answered_s": round(answered, 1),
        "build_steps": {what[4:]: seconds for what, seconds in steps},
    }))  # fmt: skip


def starters() -> list[int]:
    """Processes running `plugin_python.py --start`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if b"plugin_python.py\0--start" in cmdline:
            found.append(int(entry.name))
    return found


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


def answers(runs: int, work: Path) -> None:
    """Spawn → tools/list for the front (a build running: this process holds its lock) and for
    the real shim; then the SessionStart and prompt hooks with no environment yet."""
    import fcntl

    data = work / "data"
    data.mkdir()
    layout = Layout.from_environ({"CLAUDE_PLUGIN_DATA": str(data)}, REPO)
    lock = open(layout.lock, "a")  # noqa: SIM115 - held for the whole measurement
    fcntl.flock(lock, fcntl.LOCK_EX)
    env = plugin_env(CLAUDE_PLUGIN_ROOT=str(REPO), CLAUDE_PLUGIN_DATA=str(data))
    python3 = shutil.which("python3") or sys.executable

    def tools_list(argv: list[str], extra: dict[str, str]) -> float:
        began = time.monotonic()
        server = McpPipe(argv, {**env, **extra})
        server.initialize()
        server.request(1, "tools/list")
        server.answer(1)
        took = time.monotonic() - began
        server.close()
        return took

    server = json.loads((REPO / ".mcp.json").read_text())["mcpServers"]["memory"]
    front = [python3, *(a.replace("${CLAUDE_PLUGIN_ROOT}", str(REPO)) for a in server["args"])]
    shim = [sys.executable, "-m", "mcp_shim"]
    home = {"MEMORY_HOME": str(work / "m"), "MEMORY_SOCKET": str(work / "m" / "d.sock")}
    # The shim with a memory home but no daemon: it starts one in the background; only the
    # first spawn pays for it.
    results = {
        "front (python3 from PATH)": [tools_list(front, {}) for _ in range(runs)],
        "shim (python -m mcp_shim)": [tools_list(shim, home) for _ in range(runs)],
    }
    for mode in ("session-start", "prompt"):
        samples = []
        for _ in range(runs):
            began = time.monotonic()
            subprocess.run(
                ["/bin/sh", str(REPO / "hooks" / "run-hook.sh"), mode],
                env=env,
                input=b"{}",
                check=True,
            )
            samples.append(time.monotonic() - began)
            # The hook leaves `plugin_python.py --start` running in the background (it finds
            # the lock taken and exits): let it end before the next sample, as between prompts.
            wait_for(lambda: not starters(), 10, "the background --start to end")
        results[f"hook {mode}, no env yet"] = samples
    print(f"machine: {machine()}, {runs} runs each")
    for name, samples in results.items():
        print(f"{name:32} {percentiles(samples)}")
    lock.close()
    stop_daemons(work / "m")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("build")
    one.add_argument("variant", choices=VARIANTS)
    call = sub.add_parser("first-call")
    call.add_argument("installer", choices=("pip", "uv"))
    call.add_argument("--no-warm-up", action="store_true")
    many = sub.add_parser("answers")
    many.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pi") as tmp:
        if args.what == "build":
            timed_build(args.variant, Path(tmp))
        elif args.what == "first-call":
            first_call(args.installer, not args.no_warm_up, Path(tmp))
        else:
            answers(args.runs, Path(tmp))


if __name__ == "__main__":
    main()
