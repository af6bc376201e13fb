-- wrk script for bench/http_bench.sh: POSTs Mixpanel batches the way the Node SDK's track_batch does
-- (form body `data=<base64 JSON array>`, Content-Type application/x-www-form-urlencoded) to PATH,
-- rotating the distinct batch bodies that bench/http/make_batches.mjs wrote.
--
--   wrk ... -s bench/http/post_batches.lua URL -- DIR COUNT PATH [DELAY_MS]
--
-- DELAY_MS > 0 makes each connection wait before each request, a random time with that mean (exponentially
-- distributed, so the connections' requests arrive independently, as from many separate clients, instead of
-- in lock-step bursts of all connections at once); a paced load of about connections * 1000 / DELAY_MS
-- requests/s, for latency below saturation. 0 or absent = closed loop.
-- At the end prints one line, `WRK_RESULT {json}`, with the counts and latency percentiles (microseconds).

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_index", counter)
end

local requests = {}
local next_index = 1
local delay_ms = 0

function init(args)
  local dir, count, path = args[1], tonumber(args[2]), args[3]
  delay_ms = tonumber(args[4] or "0") or 0
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["User-Agent"] = "mixpanel-node-bench",
  }
  for i = 0, count - 1 do
    local f = assert(io.open(dir .. "/batch-" .. i .. ".body", "rb"))
    local body = f:read("*a")
    f:close()
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
  -- wrk looks for delay() after init(): without pacing, remove it so every request is written at once
  -- (with delay() defined, wrk schedules each request through a timer, even a 0 ms one).
  if delay_ms <= 0 then delay = nil end
  -- Threads start at different batches so they do not all send the same one at once.
  next_index = ((thread_index or 1) - 1) * 3 % #requests + 1
  math.randomseed(thread_index or 1)
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

function delay()
  -- 1 - random() is in (0, 1], so the log is finite.
  return math.floor(-delay_ms * math.log(1 - math.random()) + 0.5)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
