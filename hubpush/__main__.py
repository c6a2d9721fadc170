"""``python -m hubpush`` runs the CLI."""

from .cli import main

main()
