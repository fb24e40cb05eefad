-- wrk script: POST /token with a prepared form body per request, each body used once
-- (Benchmarks/oauth/bench-oauth.sh).
--   POOL  prefix of the prepared bodies: thread k (0-based) reads POOL.k, one body a line, so no
--         two threads and no two requests send the same code or refresh token.
-- When a thread has sent all its lines it sends "grant_type=pool_exhausted" (refused, changes
-- nothing) and the run is reported as exhausted: the caller prepares more and runs again.
-- done() prints one line the caller reads:
--   RESULT requests=… duration_us=… rps=… p50_us=… p99_us=… non200=… socket_errors=… exhausted=… unused=…

local pool = os.getenv("POOL")
if pool == nil or pool == "" then error("token.lua: set POOL to the prefix of the prepared request files") end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local path = os.getenv("TOKEN_PATH") or "/token"

-- setup() runs in wrk's main Lua state, once per thread, before that thread's init().
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  lines = {}
  for line in io.lines(pool .. "." .. id) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  line_count = #lines
  next_line = 0
  exhausted = 0
  answers = 0
  not_ok = 0
  first_failure = ""
end

function request()
  next_line = next_line + 1
  if next_line > #lines then
    exhausted = exhausted + 1
    return wrk.format("POST", path, headers, "grant_type=pool_exhausted")
  end
  return wrk.format("POST", path, headers, lines[next_line])
end

function response(status, headers, body)
  answers = answers + 1
  if status ~= 200 or body == nil or not body:find('"access_token"', 1, true) then
    not_ok = not_ok + 1
    if first_failure == "" then first_failure = tostring(status) .. " " .. (body or ""):sub(1, 160) end
  end
end

function done(summary, latency, requests)
  local answered, failed, exhausted_total, unused, failure = 0, 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    answered = answered + thread:get("answers")
    failed = failed + thread:get("not_ok")
    exhausted_total = exhausted_total + thread:get("exhausted")
    local left = thread:get("line_count") - thread:get("next_line")
    if left > 0 then unused = unused + left end
    if failure == "" then failure = thread:get("first_failure") end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non200=%d socket_errors=%d exhausted=%d unused=%d answered=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), failed, socket_errors, exhausted_total, unused, answered))
  if failure ~= "" then io.write("first failure: " .. failure .. "\n") end
end
