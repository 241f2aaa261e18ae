-- wrk script: POST the body file named in WRK_BODY to the path in WRK_PATH.
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.path = os.getenv("WRK_PATH") or "/api/event"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"
-- WRK_DELAY_MS paces each connection: it waits that long after each answer (soak_bench).
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "")
if pause then
  function delay() return pause end
end
-- WRK_ID_PREFIX (8 hex digits) gives every request an event id of its own, made of the
-- prefix, the wrk thread and a counter (soak_bench finds each one in Kafka):
--   <prefix>-<thread:4 hex>-4000-8000-<counter:12 hex>
local prefix = os.getenv("WRK_ID_PREFIX")
if prefix then
  local threads = 0
  function setup(thread)
    threads = threads + 1
    thread:set("thread_no", threads)
  end
  local sent = 0
  local rest = string.sub(wrk.body, 2)  -- the body without its opening brace
  function request()
    sent = sent + 1
    local id = string.format("%s-%04x-4000-8000-%012x", prefix, thread_no or 0, sent)
    return wrk.format(nil, nil, nil, '{"event_id":"' .. id .. '",' .. rest)
  end
end
