# Runs hooks/memory_hook.py for the plugin (hooks/hooks.json): `sh run-hook.sh <mode>`.
#
# The interpreter is the plugin's own virtual environment, the one scripts/plugin_python.py
# creates under ${CLAUDE_PLUGIN_DATA} for the MCP server, exec'd directly: going through that
# script would start a `python3` from PATH first (a pyenv shim costs 60 ms of CPU), and the
# hook is stdlib-only, so any of the plugin's venvs will do. No venv yet (the first session,
# while the MCP server installs it): exit 0 at once, printing nothing.
hook="${CLAUDE_PLUGIN_ROOT:-$(dirname "$0")/..}/hooks/memory_hook.py"
if [ -n "$MEMORYD_PLUGIN_PYTHON" ]; then
    exec "$MEMORYD_PLUGIN_PYTHON" -S "$hook" "$1"
fi
data="${CLAUDE_PLUGIN_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/memoryd-plugin}"
for py in "$data"/venv-*/bin/python; do
    [ -x "$py" ] && exec "$py" -S "$hook" "$1"
done
exit 0
