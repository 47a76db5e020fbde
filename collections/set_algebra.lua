-- set_algebra.lua: union, intersection, difference or symmetric difference
-- of sets, returned or stored into a destination set.
--
-- KEYS[1]:    the destination when ARGV[2] is "store", else the first operand
-- KEYS[2..n]: the (other) operands
-- ARGV[1]:    "union", "inter", "diff" (the first operand minus the others)
--             or "symdiff" (exactly two operands)
-- ARGV[2]:    "store" or "read"
--
-- Returns the members (read) or the destination's new size (store). Raises
-- WRONGTYPE naming the key, writing nothing, when a key holds another type.
local op, store = ARGV[1], ARGV[2] == 'store'
for _, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= 'set' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a set')
  end
end
local srcs = {}
for i = (store and 2 or 1), #KEYS do
  srcs[#srcs + 1] = KEYS[i]
end
if op ~= 'symdiff' then
  local cmd = ({union = 'SUNION', inter = 'SINTER', diff = 'SDIFF'})[op]
  if store then
    return redis.call(cmd .. 'STORE', KEYS[1], unpack(srcs))
  end
  return redis.call(cmd, unpack(srcs))
end
local out = redis.call('SDIFF', srcs[1], srcs[2])
for _, m in ipairs(redis.call('SDIFF', srcs[2], srcs[1])) do
  out[#out + 1] = m
end
if not store then
  return out
end
redis.call('DEL', KEYS[1])
for i = 1, #out, 1000 do
  redis.call('SADD', KEYS[1], unpack(out, i, math.min(i + 999, #out)))
end
return #out
