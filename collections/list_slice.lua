-- list_slice.lua: read, assign or delete a Python slice [start:stop:step]
-- of a List, with Python's slice rules (slice.indices): omitted bounds
-- default by the step's sign, negative bounds count from the end, bounds
-- out of range are clamped.
--
-- KEYS[1]:    the list
-- ARGV[1]:    "get", "set" or "del"
-- ARGV[2]:    start; "" when omitted
-- ARGV[3]:    stop; "" when omitted
-- ARGV[4]:    step, not 0; "" when omitted (1)
-- ARGV[5]:    a sentinel no element can equal (a fresh random token), for
--             "del" with a step other than 1 and -1
-- ARGV[6..n]: "set": the new elements
--
-- Returns, for "get", the elements of the slice; for "set", the new
-- length; for "del", the number of elements removed. "set" with a step
-- other than 1 raises TCSIZE (nothing written) unless it is given as many
-- elements as the slice has, as Python does; with step 1 it replaces the
-- range with any number of elements. Raises WRONGTYPE when the key holds
-- another type. A range is removed or replaced by moving off the elements
-- on its shorter side and pushing them back; the list keeps its TTL.
local key, mode = KEYS[1], ARGV[1]
local n = redis.call('LLEN', key)
local step = 1
if ARGV[4] ~= '' then
  step = tonumber(ARGV[4])
end
local lower, upper = 0, n
if step < 0 then
  lower, upper = -1, n - 1
end
local function bound(s, default)
  if s == '' then
    return default
  end
  local i = tonumber(s)
  if i < 0 then
    i = i + n
    if i < lower then
      i = lower
    end
  elseif i > upper then
    i = upper
  end
  return i
end
local start, stop
if step < 0 then
  start, stop = bound(ARGV[2], upper), bound(ARGV[3], lower)
else
  start, stop = bound(ARGV[2], lower), bound(ARGV[3], upper)
end
local count = 0
if step > 0 and start < stop then
  count = math.floor((stop - start - 1) / step) + 1
elseif step < 0 and stop < start then
  count = math.floor((start - stop - 1) / -step) + 1
end

-- push pushes t's elements one after the other with cmd.
local function push(cmd, t)
  for j = 1, #t, 1000 do
    redis.call(cmd, key, unpack(t, j, math.min(j + 999, #t)))
  end
end

-- splice replaces the elements [from, to) with vals, from the shorter side.
local function splice(from, to, vals)
  local ttl = redis.call('PTTL', key)
  local gone = false
  if from <= n - to then
    local head = {}
    if from > 0 then
      head = redis.call('LRANGE', key, 0, from - 1)
    end
    if to >= n then
      redis.call('DEL', key)
      gone = true
    elseif to > 0 then
      redis.call('LTRIM', key, to, -1)
    end
    -- LPUSH reverses its arguments: push from the last element back.
    local rev = {}
    for j = #vals, 1, -1 do
      rev[#rev + 1] = vals[j]
    end
    for j = #head, 1, -1 do
      rev[#rev + 1] = head[j]
    end
    push('LPUSH', rev)
  else
    local tail = {}
    if to < n then
      tail = redis.call('LRANGE', key, to, -1)
    end
    if from <= 0 then
      redis.call('DEL', key)
      gone = true
    else
      redis.call('LTRIM', key, 0, from - 1)
    end
    local all = {}
    for j = 1, #vals do
      all[#all + 1] = vals[j]
    end
    for j = 1, #tail do
      all[#all + 1] = tail[j]
    end
    push('RPUSH', all)
  end
  if gone and ttl > 0 and redis.call('EXISTS', key) == 1 then
    redis.call('PEXPIRE', key, ttl)
  end
end

if mode == 'get' then
  if count == 0 then
    return {}
  end
  local last = start + (count - 1) * step
  local lo = math.min(start, last)
  local span = redis.call('LRANGE', key, lo, math.max(start, last))
  if step == 1 then
    return span
  end
  local out = {}
  for k = 0, count - 1 do
    out[k + 1] = span[start + k * step - lo + 1]
  end
  return out
end

if mode == 'set' then
  local vals = {}
  for j = 6, #ARGV do
    vals[#vals + 1] = ARGV[j]
  end
  if step ~= 1 then
    if #vals ~= count then
      return redis.error_reply('TCSIZE attempt to assign a sequence of size ' ..
        #vals .. ' to an extended slice of size ' .. count)
    end
    for k = 0, count - 1 do
      redis.call('LSET', key, start + k * step, vals[k + 1])
    end
    return n
  end
  if stop < start then
    stop = start
  end
  splice(start, stop, vals)
  return n - (stop - start) + #vals
end

-- del
if count == 0 then
  return 0
end
if step == 1 then
  splice(start, stop, {})
elseif step == -1 then
  splice(stop + 1, start + 1, {})
else
  for k = 0, count - 1 do
    redis.call('LSET', key, start + k * step, ARGV[5])
  end
  redis.call('LREM', key, 0, ARGV[5])
end
return count
