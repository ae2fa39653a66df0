"""Wire formats: one definition of each, imported by every side that speaks it."""
