-- set_slices.lua: union, intersection, difference or symmetric difference
-- of a set with members given as arguments, returned or stored in place.
--
-- KEYS[1]:    the set
-- ARGV[1]:    "union", "inter", "diff" (the set minus the members) or
--             "symdiff"
-- ARGV[2]:    "read" (return the result) or "update" (make it the set)
-- ARGV[3..]:  the members, encoded (duplicates allowed)
--
-- Returns the result's members (read) or the set's new size (update).
-- Raises WRONGTYPE naming the key, writing nothing, when KEYS[1] holds
-- another type. Large inputs are sent to Redis in chunks of 1000.
local key, op, update = KEYS[1], ARGV[1], ARGV[2] == 'update'
local t = redis.call('TYPE', key)['ok']
if t ~= 'none' and t ~= 'set' then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a set')
end

-- given: the members as a lookup; uniq: each once, in order.
local given, uniq = {}, {}
for i = 3, #ARGV do
  local m = ARGV[i]
  if not given[m] then
    given[m] = true
    uniq[#uniq + 1] = m
  end
end

local function chunked(cmd, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end

-- current: the set's members not among the given ones, or among them.
local function current(among)
  local out = {}
  if t == 'none' then
    return out
  end
  for _, m in ipairs(redis.call('SMEMBERS', key)) do
    if (given[m] == true) == among then
      out[#out + 1] = m
    end
  end
  return out
end

-- missing: the given members the set does not hold.
local function missing()
  local out = {}
  for _, m in ipairs(uniq) do
    if t == 'none' or redis.call('SISMEMBER', key, m) == 0 then
      out[#out + 1] = m
    end
  end
  return out
end

if update then
  if op == 'union' then
    chunked('SADD', uniq)
  elseif op == 'diff' then
    chunked('SREM', uniq)
  elseif op == 'inter' then
    chunked('SREM', current(false))
  else -- symdiff
    local add = missing()
    chunked('SREM', current(true))
    chunked('SADD', add)
  end
  return redis.call('SCARD', key)
end

local out
if op == 'union' then
  out = current(false)
  for _, m in ipairs(uniq) do
    out[#out + 1] = m
  end
elseif op == 'inter' then
  out = current(true)
elseif op == 'diff' then
  out = current(false)
else -- symdiff
  out = current(false)
  for _, m in ipairs(missing()) do
    out[#out + 1] = m
  end
end
return out
