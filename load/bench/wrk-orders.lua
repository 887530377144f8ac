-- wrk script of the bench's HTTP scenarios (load/bench/wrk.ts runs it): a generator outside Node,
-- so the figures do not depend on autocannon's own CPU. Every request takes the next buyer token
-- of the file the bench writes (one per line; threads start at different places in it) and posts
-- the scenario's body. Status codes and sent requests are counted per thread; done() prints one
-- JSON line with the totals and the whole latency distribution (value in us, count).
-- usage: wrk -s wrk-orders.lua URL -- METHOD PATH TOKENS_FILE|- [BODY]
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  method = args[1]
  path = args[2]
  tokens = {}
  if args[3] and args[3] ~= "-" then
    for line in io.lines(args[3]) do
      if #line > 0 then tokens[#tokens + 1] = line end
    end
  end
  body = args[4]
  n = id * 7919
  sent = 0
  statuses = {}
end

function request()
  local headers = {}
  if body then headers["Content-Type"] = "application/json" end
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
    n = n + 1
  end
  sent = sent + 1
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local status = {}
  local total_sent = 0
  for _, t in ipairs(threads) do
    total_sent = total_sent + t:get("sent")
    for code, c in pairs(t:get("statuses")) do  -- thread:get copies the table
      status[code] = (status[code] or 0) + c
    end
  end
  local st = {}
  for code, c in pairs(status) do st[#st + 1] = string.format('"%d":%d', code, c) end
  local hist = {}
  for i = 1, #latency do
    local v, c = latency(i)
    hist[#hist + 1] = string.format("[%d,%d]", v, c)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"sent":%d,"status":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"latency_us":[%s]}\n',
    summary.requests, summary.duration, total_sent, table.concat(st, ","),
    e.connect, e.read, e.write, e.timeout, table.concat(hist, ",")))
end
