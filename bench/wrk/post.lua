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
