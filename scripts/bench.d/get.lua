-- wrk script of scripts/bench: a GET with a guest's session cookie (or
-- none, for the static asset). Arguments after `--`: PATH [COOKIE].
-- Prints one BENCH line with the figures scripts/bench reads (done()).

function init(args)
  wrk.method = "GET"
  wrk.path = args[1]
  if args[2] and args[2] ~= "" then
    wrk.headers["Cookie"] = args[2]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50.0), latency:percentile(99.0),
    e.status, e.connect + e.read + e.write + e.timeout))
end
