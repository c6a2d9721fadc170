"""The hub gateway: an OCI distribution proxy in front of a registry that only it can reach.

It enforces, server-side and for every client, what the CLI checks before a push:
secrets, visibility and protected tags, with the very rules of :mod:`hubpush.core.policy`.
The registry stays the single store; the gateway keeps nothing but caches.
"""
