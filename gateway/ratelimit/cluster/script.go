package cluster

// decideLua is ratelimit.Set.Decide evaluated atomically in Redis for all the
// request's limits at once (a script runs alone, so there is no window
// between evaluation and commit). It mirrors set.go line by line.
//
// KEYS[i]: state hash {excess (milli-requests), last (charge time, ms)} of
// the i-th limit that has a key. ARGV[1]: "" to use Redis TIME, or a fixed
// time in ms (tests only). ARGV[2]: TTL margin in ms. Then five arguments per
// key: rate (milli-requests/s), burst*1000, delay*1000 (-1 = nodelay),
// dry-run ("1"/"0"), and the limit's index in the caller's Set.
//
// Returns {outcome, index, excess, delay ms, retry ms}, outcome numbered like
// ratelimit.Outcome.
//
// Lua numbers are doubles: every product below stays under 2^53 for the
// ranges ratelimit validates (excess <= MaxBurst*1000+1000 = 1e12+1000, rate
// <= 1e12), except rate*ms, which saturates at 2^52 — far above any excess,
// exactly as the Go code's saturation. idiv is exact integer division for
// non-negative integers below 2^53 (fmod is exact), where a/b then floor could
// round up. Numbers go to redis.call through "%d" so they are never written
// in exponent form.
const decideLua = `
if redis.replicate_commands then redis.replicate_commands() end
local function idiv(a, b) return (a - math.fmod(a, b)) / b end
local function fmt(x) return string.format('%d', x) end
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + idiv(tonumber(t[2]), 1000)
end
local margin = tonumber(ARGV[2])
local n = #KEYS
local exc, rates = {}, {}
local out, lim, oexc, delay, drydelay, retry = 0, -1, 0, 0, -1, 0
local bestrem = nil
for i = 1, n do
  local a = 2 + (i - 1) * 5
  local rate = tonumber(ARGV[a + 1])
  local burst = tonumber(ARGV[a + 2])
  local dly = tonumber(ARGV[a + 3])
  local dry = ARGV[a + 4] == '1'
  local idx = tonumber(ARGV[a + 5])
  local st = redis.call('HMGET', KEYS[i], 'excess', 'last')
  local e = tonumber(st[1])
  local excess, ms = 0, 0
  if e then
    ms = now - tonumber(st[2])
    if ms < -60000 then ms = 1 elseif ms < 0 then ms = 0 end
    local x = rate * ms
    local drain = 4503599627370496
    if x < drain then drain = idiv(x, 1000) end
    excess = e - drain + 1000
    if excess < 0 then excess = 0 end
  end
  if excess > burst then
    local need = idiv((e + 1000 - burst) * 1000 + rate - 1, rate)
    local r = need - ms
    if r < 1 then r = 1 end
    local cur = excess - 1000
    if cur < 0 then cur = 0 end
    if not dry then return {4, idx, cur, 0, r} end
    if out < 2 then out, lim, oexc, retry = 2, idx, cur, r end
  else
    exc[i], rates[i] = excess, rate
    local dl = 0
    if dly >= 0 and excess > dly then dl = idiv((excess - dly) * 1000, rate) end
    if dl > 0 and not dry then
      if out < 3 or dl > delay then delay = dl; out, lim, oexc, retry = 3, idx, excess, 0 end
    elseif dl > 0 then
      if out < 1 or (out == 1 and dl > drydelay) then drydelay = dl; out, lim, oexc, retry = 1, idx, excess, 0 end
    elseif out == 0 then
      local rem = burst - excess
      if bestrem == nil or rem < bestrem then bestrem = rem; lim, oexc = idx, excess end
    end
  end
end
for i = 1, n do
  local x = exc[i]
  if x then
    redis.call('HSET', KEYS[i], 'excess', fmt(x), 'last', fmt(now))
    redis.call('PEXPIRE', KEYS[i], fmt(idiv((x + 1000) * 1000 + rates[i] - 1, rates[i]) + margin))
  end
end
if out ~= 3 then delay = 0 end
return {out, lim, oexc, delay, retry}
`

// heartbeatLua registers a node and counts the live ones. KEYS[1]: the
// node sorted set (member = node id, score = Redis time of its last
// heartbeat in ms). ARGV[1]: node id, ARGV[2]: node TTL in ms. Members not
// seen within the TTL are removed. Returns the number of live nodes.
const heartbeatLua = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', now - ttl))
redis.call('PEXPIRE', KEYS[1], string.format('%d', 2 * ttl))
return redis.call('ZCARD', KEYS[1])
`
