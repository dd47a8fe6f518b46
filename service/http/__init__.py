"""The HTTP face: a FastAPI app over the one core (:func:`create_app`, :func:`serve`)."""

from .app import create_app
from .server import app_factory, serve

__all__ = ["app_factory", "create_app", "serve"]
