-- wrk script: an authenticated MCP tools/call of `whoami` (no arguments), the same request for
-- every server compared by Benchmarks/http/bench-http.sh.
--   TOKEN     bearer token (required)
--   MCP_PATH  endpoint path, default /mcp (overrides the path of wrk's URL)
--   EXPECT    text every answer's body must contain, default "bench"
-- Every answer is checked: done() prints how many were not 200, or were 200 without EXPECT (or
-- with "isError": true), on a line starting "tools/call check:" that the caller tests for zeros.

local token = os.getenv("TOKEN")
if token == nil or token == "" then
  error("tools-call.lua: set TOKEN to the bearer token")
end
local expect = os.getenv("EXPECT")
if expect == nil or expect == "" then expect = "bench" end

wrk.method = "POST"
wrk.path = os.getenv("MCP_PATH") or "/mcp"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Authorization"] = "Bearer " .. token

-- Each thread has its own Lua state: counters are per thread, summed in done() through setup()'s handles.
local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function init(args)
  checked = 0
  not_ok = 0
  unexpected = 0
  first_status = ""
  first_body = ""
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 then
    not_ok = not_ok + 1
    if first_status == "" then first_status = tostring(status) end
  elseif body == nil or not body:find(expect, 1, true) or body:find('"isError"%s*:%s*true') then
    unexpected = unexpected + 1
    if first_body == "" then first_body = (body or ""):sub(1, 200) end
  end
end

function done(summary, latency, requests)
  local total, bad_status, bad_body, status, sample = 0, 0, 0, "", ""
  for _, thread in ipairs(threads) do
    total = total + thread:get("checked")
    bad_status = bad_status + thread:get("not_ok")
    bad_body = bad_body + thread:get("unexpected")
    if status == "" then status = thread:get("first_status") end
    if sample == "" then sample = thread:get("first_body") end
  end
  io.write(string.format("tools/call check: %d answers, %d not 200, %d without %q\n", total, bad_status, bad_body, expect))
  if status ~= "" then io.write("  first status other than 200: " .. status .. "\n") end
  if sample ~= "" then io.write("  first unexpected body: " .. sample .. "\n") end
end
