"""SecureNet: an MCP gateway and network threat detector, observable end to end."""

from importlib import metadata

try:
    __version__ = metadata.version("securenet")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = ["__version__"]
