-- wrk script for bench/load_bench.py: requests from a file, one per line, taken in turn.
--
--   wrk -s bench/load_requests.lua URL -- FILE
--
-- A line is "GET <path>" or "POST <path> <JSON body on one line>". Each wrk thread starts at
-- a different line. done() prints one JSON line (prefixed "LOAD ") with requests/s, p50, p99
-- (microseconds) and the error counts, for load_bench.py to read.

local lines = {}
local pos = 0

local function load(path)
  local list = {}
  for line in io.lines(path) do
    local method, rest = line:match("^(%u+) (.*)$")
    if method == "GET" then
      list[#list + 1] = wrk.format("GET", rest)
    elseif method == "POST" then
      local target, body = rest:match("^(%S+) (.*)$")
      list[#list + 1] = wrk.format("POST", target, {["Content-Type"] = "application/json"}, body)
    end
  end
  return list
end

local counter = 0
function setup(thread)
  thread:set("start", counter)
  counter = counter + 1
end

function init(args)
  lines = load(args[1])
  pos = (start or 0) * 7919 % #lines
end

function request()
  pos = pos % #lines + 1
  return lines[pos]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOAD {"requests": %d, "seconds": %.3f, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
