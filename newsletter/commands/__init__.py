"""The commands as plain typed functions: each takes a workspace and its inputs, does the work,
and returns a report; none prints, so the CLI, the preview and Python callers share them."""
