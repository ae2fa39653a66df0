"""Where the plugin's environment lives, and whether it is ready.

One virtual environment per plugin version, `<data>/venv-<version>`, under ${CLAUDE_PLUGIN_DATA}
(Claude Code keeps that directory across plugin updates, and deletes it on uninstall). A stamp
file inside says which version, requirements and plugin directory it was built for; it is
written last, so an environment without the right stamp is not ready, whatever else is in it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STAMP = ".memoryd-plugin-version"
REQUIREMENTS = "requirements.txt"  # beside this module
WARM_UP = "warm_up.txt"  # beside this module


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """Outside Claude Code (a retry from a terminal without CLAUDE_PLUGIN_DATA)."""
    xdg = environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "memoryd-plugin"


class LayoutError(ValueError):
    """The plugin directory has no readable manifest; the text names the file."""


@dataclass(frozen=True)
class Layout:
    root: Path  # the plugin (this checkout): pyproject.toml, the packages, plugin_env/
    data: Path  # ${CLAUDE_PLUGIN_DATA}
    version: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], default_root: Path) -> Layout:
        """The layout Claude Code's variables describe (LayoutError if the plugin's manifest
        cannot be read)."""
        root = Path(environ.get("CLAUDE_PLUGIN_ROOT") or default_root)
        data = Path(environ["CLAUDE_PLUGIN_DATA"]) if environ.get("CLAUDE_PLUGIN_DATA") else None
        path = root / ".claude-plugin" / "plugin.json"
        try:
            manifest = json.loads(path.read_text())
            version = str(manifest.get("version") or "0")
        except (OSError, ValueError, AttributeError) as exc:
            raise LayoutError(f"cannot read {path}: {exc}") from None
        return cls(root, data or default_data_dir(environ), version)

    @property
    def venv(self) -> Path:
        return self.data / f"venv-{self.version}"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def build_dir(self) -> Path:
        """Where a build happens before it is renamed to `venv` (not matched by `venv-*`)."""
        return self.data / f"build-{self.version}"

    @property
    def lock(self) -> Path:
        return self.data / "install.lock"

    @property
    def log(self) -> Path:
        return self.data / "install.log"

    @property
    def status(self) -> Path:
        return self.data / "install-status.json"

    @property
    def requirements(self) -> Path:
        return self.root / "plugin_env" / REQUIREMENTS

    @property
    def warm_up(self) -> Path:
        return self.root / "plugin_env" / WARM_UP

    def stamp_text(self) -> str:
        """What the stamp of a ready environment says: the version, the requirements' digest
        and the plugin directory (the environment runs the code there, through a .pth), so
        that changed requirements or another checkout (--plugin-dir) rebuild it."""
        digest = hashlib.sha256(self.requirements.read_bytes()).hexdigest()[:16]
        return f"{self.version} {digest} {self.root}"

    def ready(self) -> bool:
        try:
            return (self.venv / STAMP).read_text().strip() == self.stamp_text() and (
                self.python.exists()
            )
        except OSError:
            return False
