"""The admin console: its static files under /console/ and the development sign-in."""

from quintet_console.app import create_app

__all__ = ["create_app"]
