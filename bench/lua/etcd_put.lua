-- wrk: etcd's v3 JSON gateway, POST /v3/kv/put of key bench/K, K cycling
-- through 1..REG_SPACE (as register.lua does).
local space = tonumber(os.getenv("REG_SPACE") or "1000")
local sent = 0
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for j = 3, 0, -1 do
      local idx = math.floor(n / 64 ^ j) % 64
      chars[#chars + 1] = alphabet:sub(idx + 1, idx + 1)
    end
    if not b then chars[3] = "=" end
    if not c then chars[4] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return table.concat(out)
end

-- The same payload a registration carries, as the value.
function request()
  sent = sent + 1
  local k = (sent - 1) % space + 1
  local value = string.format(
    '{"Node":"bench-%d","Address":"10.%d.%d.%d","Service":{"Service":"svc-%d","Port":8080,"Tags":["v1","bench"]}}',
    k, math.floor(k / 65536) % 256, math.floor(k / 256) % 256, k % 256, k)
  local body = string.format('{"key":"%s","value":"%s"}', b64("bench/" .. k), b64(value))
  return wrk.format("POST", "/v3/kv/put", { ["Content-Type"] = "application/json" }, body)
end

