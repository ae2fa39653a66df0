"""Per-session state for the hooks: what each Claude Code session has already seen, and the
memories saved across a compaction."""
