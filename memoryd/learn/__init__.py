"""Auto-learn: the daemon's learning queue. The Stop hook only names a transcript; the daemon
reads the turns not yet judged, asks a small Claude model for durable lessons, and stores them."""
