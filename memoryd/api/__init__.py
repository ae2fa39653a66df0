"""The daemon's JSON HTTP API, served on its Unix socket."""
