-- list_index.lua: the index of the first element of a List or Deque equal
-- to a value at or after start and before stop, like Python's
-- list.index(x, start, stop): negative bounds count from the end, bounds
-- out of range are clamped.
--
-- KEYS[1]: the list
-- ARGV[1]: the value (encoded)
-- ARGV[2]: start
-- ARGV[3]: stop
--
-- Returns the index, or nil when there is none. Raises WRONGTYPE when the
-- key holds another type. The range is read in chunks of 1000.
local key = KEYS[1]
local n = redis.call('LLEN', key)
local function clamp(i)
  if i < 0 then
    i = i + n
    if i < 0 then
      i = 0
    end
  elseif i > n then
    i = n
  end
  return i
end
local i, stop = clamp(tonumber(ARGV[2])), clamp(tonumber(ARGV[3]))
while i < stop do
  local j = math.min(i + 999, stop - 1)
  local chunk = redis.call('LRANGE', key, i, j)
  for k, e in ipairs(chunk) do
    if e == ARGV[1] then
      return i + k - 1
    end
  end
  i = j + 1
end
return false
