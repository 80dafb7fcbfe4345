"""Test upstream MCP servers built on the official SDK (see server.py and docs/notes/mcp-sdk.md)."""
