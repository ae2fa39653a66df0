"""memoryd: persistent memory for Claude Code, one daemon per user and machine."""
