# Runs hooks/memory_hook.py for the plugin (hooks/hooks.json): `sh run-hook.sh <mode>`.
#
# The interpreter is the plugin's own environment, built under ${CLAUDE_PLUGIN_DATA} by
# plugin_env/ (for the MCP server), exec'd directly: going through a Python script would start
# a `python3` from PATH first (a pyenv shim costs 60 ms of CPU), and the hook is stdlib-only, so
# any of the plugin's ready environments will do (a ready one has its stamp file).
# None ready yet (the first session after install): the SessionStart hook (and the `prompt`
# mode, which the plugin no longer runs: its prompt hook calls the MCP shim) starts the build (detached, and never two at once: scripts/plugin_python.py --start), in the
# background so that the hook returns at once, and print nothing (there is no daemon yet);
# `approve` needs neither the daemon nor a dependency, so python3 from PATH runs it.
root="${CLAUDE_PLUGIN_ROOT:-$(dirname "$0")/..}"
hook="$root/hooks/memory_hook.py"
if [ -n "$MEMORYD_PLUGIN_PYTHON" ]; then
    exec "$MEMORYD_PLUGIN_PYTHON" -S "$hook" "$1"
fi
data="${CLAUDE_PLUGIN_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/memoryd-plugin}"
for stamp in "$data"/venv-*/.memoryd-plugin-version; do
    [ -f "$stamp" ] && exec "${stamp%/*}/bin/python" -S "$hook" "$1"
done
case "$1" in
session-start | prompt)
    python3 -S "$root/scripts/plugin_python.py" --start </dev/null >/dev/null 2>&1 &
    ;;
approve)
    exec python3 -S "$hook" "$1"
    ;;
esac
exit 0
