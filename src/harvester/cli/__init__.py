"""The command-line shell: parse, call one ``app`` function, render, map errors to exit codes."""
