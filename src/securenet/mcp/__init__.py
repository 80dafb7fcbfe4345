"""MCP security: analyzers, message paths, pins, taint, policy, the inspector, upstreams and the gateway."""
