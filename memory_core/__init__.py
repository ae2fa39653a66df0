"""memory_core: what the daemon, the hub and the MCP shim share, and nothing else.

The memory model and its write rules (`model`), the error tree (`errors`), the wire formats
(`wire`), clocks, ids, the hybrid logical clock and the merge (`hlc`, `merge`), secret
detection and sealing (`crypto`), the recall query plan and ranking (`recall`), request-body
reading and the error envelope for Starlette servers (`http`), the local settings (`config`) and
the stdlib-only Unix-socket client and handover (`unix_http`, `handover`).

memory_core imports none of memoryd, memory_hub or mcp_shim; those three import memory_core and
never each other (tests/test_architecture.py enforces it).
"""
