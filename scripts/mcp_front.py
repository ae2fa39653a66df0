#!/usr/bin/env python3
"""The plugin's MCP server command (.mcp.json): `python3 scripts/mcp_front.py`.

When the plugin's environment is ready, this execs `<venv>/bin/python -m mcp_shim` at once.
Otherwise (the first session after install, or after an update) it starts the build, detached,
and serves the tools itself until the build is done: plugin_env/front.py. Standard library
only; any Python 3.9+ on PATH.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin_env.front import main  # noqa: E402 - after the path is set

if __name__ == "__main__":
    sys.exit(main(dict(os.environ), ROOT))
