"""Encryption at rest for sensitive memories, and detection of secrets in text."""
