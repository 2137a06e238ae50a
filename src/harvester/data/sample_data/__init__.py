"""Package data: the bundled real-data sample (see README.md here for provenance)."""
