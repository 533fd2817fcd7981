"""The official MCP Python SDK's server with one tool answering like crawlrag's
get_available_sources on an empty index: the peer of scripts/bench-mcp-http.sh.

Usage: python mcp_python_server.py PORT
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("peer")


@server.tool()
def get_available_sources() -> dict:
    """List the crawled sources."""
    return {"success": True, "sources": [], "count": 0}


if __name__ == "__main__":
    # The SDK's defaults, as a user runs it (SSE-framed answers, sessions).
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
