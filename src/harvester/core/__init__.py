"""Bottom layer: errors, paths, time helpers and logging set-up shared by every layer."""
