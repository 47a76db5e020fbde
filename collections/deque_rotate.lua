-- deque_rotate.lua: rotate a Deque n steps to the right (n > 0: the last
-- element becomes the first) or -n steps to the left, like Python's
-- deque.rotate, for any n and any length (an empty deque is left alone).
--
-- KEYS[1]: the list
-- ARGV[1]: n
--
-- Returns the length. Raises WRONGTYPE when the key holds another type.
-- The rotation is n modulo the length, done from whichever side moves fewer
-- elements, one LMOVE each.
local key = KEYS[1]
local len = redis.call('LLEN', key)
if len < 2 then
  return len
end
-- n mod len, digit by digit: n may exceed the 2^53 a Lua number holds
-- exactly.
local s, neg = ARGV[1], false
if string.sub(s, 1, 1) == '-' then
  s, neg = string.sub(s, 2), true
end
local k = 0
for i = 1, #s do
  k = (k * 10 + tonumber(string.sub(s, i, i))) % len
end
if neg then
  k = (len - k) % len
end
if k == 0 then
  return len
end
if k <= len - k then
  for _ = 1, k do
    redis.call('LMOVE', key, key, 'RIGHT', 'LEFT')
  end
else
  for _ = 1, len - k do
    redis.call('LMOVE', key, key, 'LEFT', 'RIGHT')
  end
end
return len
