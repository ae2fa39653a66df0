"""Building the plugin's environment: which interpreter, which installer, which steps.

Only the requirements (requirements.txt beside this module) are installed; the plugin's own
packages are put on the environment's path by a .pth file naming the plugin directory, so no
build of the project is needed (with pip that cost a download of setuptools and a wheel build).
The installer is uv when it is on PATH, else the base interpreter's pip, run into a venv made
without pip (`--python`, pip 22.3+; bootstrapping pip into the venv cost more than the venv).
Bytecode is compiled only for what the MCP shim and the daemon import at start-up (the warm-up
step), not for all of site-packages. The measurements behind each choice are in
docs/benchmarks.md ("Plugin: the first session after install").

Everything happens in `build-<version>`, renamed to `venv-<version>` once complete: a build cut
short leaves nothing that looks ready.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plugin_env.layout import STAMP, Layout

MIN_PYTHON = (3, 11)
CANDIDATES = ("python3.13", "python3.12", "python3.11", "python3")
PIP_PYTHON_OPTION = (22, 3)  # the first pip with `--python`
PIP_FLAGS = ("--no-compile", "--disable-pip-version-check", "--no-input", "--progress-bar", "off")
PTH = "memoryd-plugin.pth"


def warm_up_code(modules: Path) -> str | None:
    """Import the modules listed in `modules` (warm_up.txt), writing their bytecode even under
    PYTHONDONTWRITEBYTECODE (which would otherwise make every start compile them again); None
    if it lists none."""
    names = [
        line.strip()
        for line in modules.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not names:
        return None
    return "import sys; sys.dont_write_bytecode = False; import " + ", ".join(names)


class BuildFailed(Exception):
    """A step failed; the text says which, in one line."""


@dataclass(frozen=True)
class Step:
    what: str  # "create the virtual environment", … (said to the user if it fails)
    argv: tuple[str, ...]


Run = Callable[[Step], int]  # runs a step (output to the log), returns its exit status


def probe(argv: Sequence[str]) -> str:
    """The stdout of a quick command, or "" if it cannot run."""
    try:
        done = subprocess.run(
            list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def find_base_python(
    which: Callable[[str], str | None] = shutil.which, ask: Callable[[Sequence[str]], str] = probe
) -> str:
    """The newest Python 3.11+ on PATH, by the names in CANDIDATES."""
    check = "import sys; print(sys.version_info[:2] >= (3, 11))"
    for name in CANDIDATES:
        found = which(name)
        if found and ask([found, "-c", check]).strip() == "True":
            return found
    raise BuildFailed(
        "memoryd needs Python 3.11 or newer: none of "
        f"{', '.join(CANDIDATES)} on PATH is; install one and start a new session"
    )


def pip_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from `pip --version` output ("pip 23.2.1 from …")."""
    found = re.match(r"pip (\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def uv_plan(uv: str, base: str, target: Path, requirements: Path) -> list[Step]:
    python = str(target / "bin" / "python")
    return [
        Step("create the virtual environment (uv)", (uv, "venv", "--python", base, str(target))),
        Step(
            "install the requirements (uv)",
            (uv, "pip", "install", "--python", python, "-r", str(requirements)),
        ),
    ]


def pip_plan(
    base: str, base_pip: tuple[int, int] | None, target: Path, requirements: Path
) -> list[Step]:
    python, reqs = str(target / "bin" / "python"), str(requirements)
    if base_pip and base_pip >= PIP_PYTHON_OPTION:
        return [
            Step(
                "create the virtual environment", (base, "-m", "venv", "--without-pip", str(target))
            ),
            Step(
                "install the requirements (pip)",
                (base, "-m", "pip", "--python", python, "install", *PIP_FLAGS, "-r", reqs),
            ),
        ]
    return [  # an old pip, or none beside the base interpreter: bootstrap one into the venv
        Step("create the virtual environment", (base, "-m", "venv", str(target))),
        Step(
            "install the requirements (pip)",
            (python, "-m", "pip", "install", *PIP_FLAGS, "-r", reqs),
        ),
    ]


def installers(choice: str | None, uv: str | None) -> list[str]:
    """In order of preference: uv when on PATH (it reads no pip.conf, so an index configured
    only for pip fails with it: pip is then tried too), else pip. MEMORYD_PLUGIN_INSTALLER
    (`uv` or `pip`) forces one."""
    if choice == "pip":
        return ["pip"]
    if choice == "uv":
        if not uv:
            raise BuildFailed("MEMORYD_PLUGIN_INSTALLER=uv, but uv is not on PATH")
        return ["uv"]
    if choice:
        raise BuildFailed(f"MEMORYD_PLUGIN_INSTALLER must be uv or pip, not {choice!r}")
    return ["uv", "pip"] if uv else ["pip"]


def build(layout: Layout, steps: Sequence[Step], run: Run) -> None:
    """Run `steps` into layout.build_dir, make the plugin importable there, compile what starts
    first, stamp it and rename it into place; then drop other versions' environments."""
    target = layout.build_dir
    shutil.rmtree(target, ignore_errors=True)  # a build cut short, earlier
    stamp = layout.stamp_text()  # before anything: a bad checkout fails here, not at the end
    warm_up = warm_up_code(layout.warm_up)
    for step in steps:
        _run(step, run)
    try:
        site = next(target.glob("lib/python3*/site-packages"))
    except StopIteration:
        raise BuildFailed(f"no site-packages under {target} after the install") from None
    (site / PTH).write_text(f"{layout.root}\n")
    python = str(target / "bin" / "python")
    if warm_up:
        _run(Step("import memoryd in the new environment", (python, "-c", warm_up)), run)
    (target / STAMP).write_text(stamp + "\n")
    if layout.venv.exists():
        shutil.rmtree(layout.venv)  # this version's, built for other requirements
    os.replace(target, layout.venv)
    for old in layout.data.glob("venv-*"):
        if old != layout.venv:
            shutil.rmtree(old, ignore_errors=True)


def _run(step: Step, run: Run) -> None:
    status = run(step)
    if status != 0:
        raise BuildFailed(f"could not {step.what}: `{' '.join(step.argv)}` exited with {status}")
