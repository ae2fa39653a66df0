"""The SQLite store: one writer connection, separate readers, versioned migrations."""
