"""Sub-commands of the `impact` CLI, one module per domain, mounted by pipelines.cli."""
