-- wrk script: cycles through pre-generated pushes, one "path<TAB>body" per line of the file given as the
-- first script argument (the second is the number of wrk threads). Thread k sends lines k, k+n, k+2n, ...
-- so no two requests carry the same push until the pool wraps (counted as "wrapped").
-- done() prints one JSON line: requests, duration, socket errors, latency percentiles (microseconds),
-- answers that were not HTTP 200 "success", and the number of wraps.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  pool = {}
  local line_no = 0
  for line in io.lines(args[1]) do
    if line_no % nthreads == id then
      local tab = line:find("\t", 1, true)
      pool[#pool + 1] = wrk.format("POST", line:sub(1, tab - 1), {["Content-Type"] = "text/xml"},
                                   line:sub(tab + 1))
    end
    line_no = line_no + 1
  end
  index = 0
  bad = 0
  wrapped = 0
end

function request()
  index = index + 1
  if index > #pool then
    index = 1
    wrapped = wrapped + 1
  end
  return pool[index]
end

function response(status, headers, body)
  if status ~= 200 or body ~= "success" then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total, wrapped_total = 0, 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    wrapped_total = wrapped_total + thread:get("wrapped")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d, "non_2xx": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "not_success": %d, ' ..
    '"wrapped": %d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(99),
    latency.max, bad_total, wrapped_total))
end
