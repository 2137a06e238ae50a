"""Package data: bundled universe reference lists (see README.md here for provenance)."""
