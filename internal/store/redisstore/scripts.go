package redisstore

import "github.com/redis/go-redis/v9"

// scripts are the loaded Lua scripts of one Store.
type scripts struct {
	mutate, reap, list *redis.Script
}

func newScripts() scripts {
	return scripts{
		mutate: redis.NewScript(mutateLua),
		reap:   redis.NewScript(reapLua),
		list:   redis.NewScript(listLua),
	}
}

// Lua scripts. Every mutation runs as one script, so the revision counter, the
// key hash, the index ZSETs and the change stream move together atomically.
// Numbers are formatted with %d: Lua's default number formatting switches to
// exponent notation for large values.

// luaPrelude holds helpers shared by the scripts. Keys used by every script:
// KEYS[1] revision counter, KEYS[2] lexicographic index ZSET, KEYS[3] expiry
// ZSET, KEYS[4] change stream. ARGV[1] is the hash-key prefix, ARGV[2] the
// stream MAXLEN.
const luaPrelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hprefix = ARGV[1]
local maxlen = ARGV[2]

local function emit(typ, key, value)
  local rev = redis.call('INCR', KEYS[1])
  local id = string.format('%d-1', rev)
  if value then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxlen, id, 't', typ, 'k', key, 'v', value)
  else
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxlen, id, 't', typ, 'k', key)
  end
  return rev
end

local function unlink(key)
  redis.call('DEL', hprefix .. key)
  redis.call('ZREM', KEYS[2], key)
  redis.call('ZREM', KEYS[3], key)
end

-- expireIfDue removes key and logs its expiry when its TTL has run out,
-- even if Redis already dropped the hash itself.
local function expireIfDue(key)
  local e = redis.call('ZSCORE', KEYS[3], key)
  if e and tonumber(e) <= now then
    unlink(key)
    emit('expire', key, nil)
  end
end
`

// mutateScript puts or deletes one key, optionally on a version condition.
// ARGV[3] op ("put", "cas", "del", "cad"), ARGV[4] user key, ARGV[5] expected
// version, ARGV[6] value, ARGV[7] TTL in ms. Returns {rev, expiry ms} on success,
// {-1} for not found, {-2} for a conflict.
const mutateLua = luaPrelude + `
local op, key, expect = ARGV[3], ARGV[4], ARGV[5]
local hkey = hprefix .. key
expireIfDue(key)
local ver = redis.call('HGET', hkey, 'ver')
if op == 'cas' then
  if expect == '0' then
    if ver then return {-2} end
  else
    if not ver then return {-1} end
    if ver ~= expect then return {-2} end
  end
elseif op == 'cad' then
  if not ver then return {-1} end
  if ver ~= expect then return {-2} end
elseif op == 'del' then
  if not ver then return {-1} end
end
if op == 'del' or op == 'cad' then
  unlink(key)
  return {emit('delete', key, nil), 0}
end
local value, ttl = ARGV[6], tonumber(ARGV[7])
local rev = emit('put', key, value)
local exp = 0
if ttl > 0 then exp = now + ttl end
redis.call('HSET', hkey, 'v', value, 'ver', string.format('%d', rev), 'exp', string.format('%d', exp))
if ttl > 0 then
  redis.call('PEXPIREAT', hkey, string.format('%d', exp))
  redis.call('ZADD', KEYS[3], string.format('%d', exp), key)
else
  redis.call('PERSIST', hkey)
  redis.call('ZREM', KEYS[3], key)
end
redis.call('ZADD', KEYS[2], 0, key)
return {rev, exp}
`

// reapScript expires up to ARGV[3] keys whose TTL has run out and returns how many.
const reapLua = luaPrelude + `
local keys = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now), 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(keys) do
  unlink(key)
  emit('expire', key, nil)
end
return #keys
`

// listScript returns one page of live keys and the revision it was read at.
// KEYS[1] revision counter, KEYS[2] lexicographic index. ARGV[1] hash-key
// prefix, ARGV[2] min and ARGV[3] max (ZRANGE BYLEX syntax), ARGV[4] how many
// live entries to return at most. Returns {rev, {key, value, version, expiry, ...}}.
const listLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rev = redis.call('GET', KEYS[1]) or '0'
local want = tonumber(ARGV[4])
local min, max = ARGV[2], ARGV[3]
local out, n = {}, 0
while n < want do
  local keys = redis.call('ZRANGE', KEYS[2], min, max, 'BYLEX', 'LIMIT', 0, want - n)
  if #keys == 0 then break end
  for _, key in ipairs(keys) do
    local h = redis.call('HMGET', ARGV[1] .. key, 'v', 'ver', 'exp')
    if h[2] then
      local e = tonumber(h[3]) or 0
      if e == 0 or e > now then
        n = n + 1
        out[#out + 1] = key
        out[#out + 1] = h[1]
        out[#out + 1] = h[2]
        out[#out + 1] = h[3]
      end
    end
    min = '(' .. key
  end
end
return {rev, out}
`
