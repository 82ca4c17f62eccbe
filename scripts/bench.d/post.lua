-- wrk script of scripts/bench: a guest posts a message. Arguments after
-- `--`: PATH COOKIE ORIGIN CIPHERTEXT NONCE [QUOTA].
--
-- The server checks only the ciphertext's shape (41 + 256·k bytes), so
-- every post carries the same bytes; the message id must be new each time
-- (the same id with the same bytes answers 200 and stores nothing): 32
-- lower-case hex digits, NONCE (8, new per wrk run) + thread number (8) +
-- the thread's counter (16). With QUOTA, a thread stops after QUOTA posts
-- (the --million fill).

local counter = 0
local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local prefix, tail, quota

function init(args)
  wrk.method = "POST"
  wrk.path = args[1]
  wrk.headers["Cookie"] = args[2]
  -- The server's Origin rule for writes with a cookie: its public origin.
  wrk.headers["Origin"] = args[3]
  wrk.headers["Content-Type"] = "application/json"
  tail = '","ciphertext":"' .. args[4] .. '"}'
  prefix = '{"message_id":"' .. args[5] .. string.format("%08x", thread_number)
  quota = tonumber(args[6])
end

function request()
  counter = counter + 1
  if quota and counter > quota then
    -- Done. Until the thread stops, repeat the last post: the same id
    -- and bytes store nothing.
    wrk.thread:stop()
    counter = quota
  end
  return wrk.format(nil, nil, nil, prefix .. string.format("%016x", counter) .. tail)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50.0), latency:percentile(99.0),
    e.status, e.connect + e.read + e.write + e.timeout))
end
