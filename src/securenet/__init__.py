"""SecureNet: an MCP gateway and network threat detector, observable end to end."""

from securenet.telemetry._setup import package_version

__version__ = package_version()

__all__ = ["__version__"]
