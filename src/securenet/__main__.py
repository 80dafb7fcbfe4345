"""``python -m securenet`` runs the CLI."""

from securenet.cli import app

app()
