"""The pure core: names and their grammar, the push policy, the metadata document, secrets.

Nothing in this package does I/O, so the CLI and the hub gateway decide alike on the same
inputs, and every rule is tested without a registry or an engine.
"""
