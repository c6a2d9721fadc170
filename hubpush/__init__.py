"""hubpush: publish Jina-style executors as container images to a registry you own."""

__version__ = "0.1.0"
