"""Use cases and the composition root: the shells (CLI, service, bot) call only this layer."""
