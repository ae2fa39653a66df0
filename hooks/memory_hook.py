#!/usr/bin/env python3
"""Claude Code hooks for memoryd: `memory_hook.py <mode>` (see _memory_hook.py for the modes).

This file is only the entry point. Python compiles a script it runs from source every time
(about 2 ms of CPU for the hook's code, next to 8 ms for the interpreter itself: see
bench/hook_startup.py), but an imported module from its cached bytecode, so the code lives in
`_memory_hook.py` beside this file.
Writing that cache is allowed even under PYTHONDONTWRITEBYTECODE: it goes to this directory's
own __pycache__, and where that is read-only Python just compiles, as before.
"""

import posix  # built in: importing it costs nothing (os would)
import sys

sys.dont_write_bytecode = False
# This file's directory first, even under -I or -P (which leave it out of sys.path).
sys.path.insert(0, __file__.rpartition("/")[0] or ".")
try:
    # __import__ keeps `typing` and mypy's module resolution (which sees this file as
    # hooks.memory_hook) out of the way.
    hook = __import__("_memory_hook")
except Exception:  # fail open: a broken install must not block the prompt
    sys.exit(0)
code = hook.main(sys.argv)
# Skip the interpreter's shutdown (module teardown, final GC): about 1 ms of a ~10 ms hook, and
# nothing is left to do: main() has flushed its answer and closed what it opened.
sys.stdout.flush()
sys.stderr.flush()
posix._exit(code)
