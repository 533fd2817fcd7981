-- wrk script: every connection (one per wrk thread) calls tools/call get_available_sources in its
-- own MCP session, given as a comma-separated list in $SESSIONS (one id per thread).
local sessions = {}
for id in string.gmatch(os.getenv("SESSIONS") or "", "[^,]+") do
  table.insert(sessions, id)
end
local next_session = 0

function setup(thread)
  next_session = next_session + 1
  thread:set("session", sessions[next_session])
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["Mcp-Protocol-Version"] = "2025-06-18"
  wrk.headers["Mcp-Session-Id"] = session
  wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_available_sources","arguments":{}}}'
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT calls=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors, summary.errors.status))
end
