-- wrk: PUT /v1/catalog/register of external node bench-K with one service,
-- K cycling through 1..REG_SPACE: the first pass creates the nodes, the
-- next ones update them (each one a durable write all the same).
local space = tonumber(os.getenv("REG_SPACE") or "1000")
local sent = 0

function request()
  sent = sent + 1
  local k = (sent - 1) % space + 1
  local body = string.format(
    '{"Node":"bench-%d","Address":"10.%d.%d.%d","Service":{"Service":"svc-%d","Port":8080,"Tags":["v1","bench"]}}',
    k, math.floor(k / 65536) % 256, math.floor(k / 256) % 256, k % 256, k)
  return wrk.format("PUT", "/v1/catalog/register", { ["Content-Type"] = "application/json" }, body)
end

