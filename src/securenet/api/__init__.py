"""The HTTP service: FastAPI app, routers and their dependencies."""

from securenet.api.app import create_app

__all__ = ["create_app"]
