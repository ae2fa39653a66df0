"""mcp_shim: the per-session MCP server Claude Code launches; it forwards tool calls to memoryd.

Kept import-free on purpose: `mcp_shim.project` and `mcp_shim.autostart` are stdlib-only so that
hooks can reuse them without paying for the MCP SDK.
"""
