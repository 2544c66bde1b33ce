-- wrk script for bench/bench_api_load.py: GET request paths picked at random from a
-- file, one path per line, and a machine-readable summary at the end.
--
--   wrk -t2 -c50 -d20s --latency -s bench/wrk/paths.lua http://127.0.0.1:8000 -- PATHS [SEED]
--
-- Each wrk thread has its own Lua state: the file is read and every request is
-- formatted once per thread in init(), so request() only picks one (cheap: wrk's own
-- CPU shares the cores with the server). The picks are seeded (SEED + thread number),
-- so a run is repeatable. done() prints one line `WRKJSON {...}` that the bench parses:
-- counts, errors (status = responses that are not 2xx or 3xx) and latency percentiles
-- in microseconds.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("number", counter)
  table.insert(threads, thread)
end

local requests = {}
local n = 0

function init(args)
  local file = args[1]
  if file == nil then
    error("usage: wrk ... -s paths.lua URL -- PATHS_FILE [SEED]")
  end
  local seed = tonumber(args[2] or "1")
  for line in io.lines(file) do
    if #line > 0 then
      n = n + 1
      requests[n] = wrk.format("GET", line)
    end
  end
  if n == 0 then
    error("no request paths in " .. file)
  end
  math.randomseed(seed * 1000 + (number or 0))
end

function request()
  return requests[math.random(n)]
end

function done(summary, latency, requests_)
  local e = summary.errors
  local p = {}
  for _, q in ipairs({50, 75, 90, 99, 99.9}) do
    table.insert(p, string.format('"%s":%d', tostring(q), latency:percentile(q)))
  end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"percentiles":{%s}}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max, table.concat(p, ",")))
end
