-- wrk script for bench/transform-load.sh: walks a list of URL paths, one a line, so that
-- each request can be a different URL (cold runs) or the same one (warm runs).
--
--   wrk -t T -c C -d 30s -s transform-load.lua http://127.0.0.1:PORT -- PATHS_FILE T
--
-- Thread k (1..T) takes lines k, k+T, k+2T, ...: no two requests of a run share a line
-- until the list runs out. A thread that runs out starts its share again and counts each
-- repeated request, which done() reports as `wrapped` (a cold run must have none: a
-- repeated URL is a cache hit). done() prints one machine-readable line,
-- `RESULT key=value ...`, that the shell script reads; latencies are in microseconds.

local threads = {}
local next_id = 1

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local paths = {}
local sent = 0
wrapped = 0

function init(args)
    local file, nthreads = args[1], tonumber(args[2])
    assert(file and nthreads, "usage: wrk ... -s transform-load.lua URL -- PATHS_FILE THREADS")
    local all = {}
    for line in io.lines(file) do
        all[#all + 1] = line
    end
    assert(#all > 0, "no paths in " .. file)
    if #all < nthreads then
        -- Fewer paths than threads (the warm run's one URL): every thread sends them all.
        paths = all
        return
    end
    for i = id, #all, nthreads do
        paths[#paths + 1] = all[i]
    end
end

function request()
    sent = sent + 1
    if sent > #paths then
        wrapped = wrapped + 1
    end
    return wrk.format("GET", paths[(sent - 1) % #paths + 1])
end

function done(summary, latency, requests)
    local repeats = 0
    for _, thread in ipairs(threads) do
        repeats = repeats + (thread:get("wrapped") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d rps=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
            "bytes=%d non2xx=%d connect=%d read=%d write=%d timeout=%d wrapped=%d\n",
        summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        summary.bytes, e.status, e.connect, e.read, e.write, e.timeout, repeats))
end
