-- Computes the union of a HyperLogLog with others, and stores it in the
-- first or only counts it.
--
-- KEYS[1] the HyperLogLog
-- KEYS[2] scratch key accumulating the union (same slot)
-- KEYS[3] scratch key staging the registers given in ARGV (same slot)
-- KEYS[4..] other HyperLogLogs this script can reach (same slot, or any on a
--           standalone server)
-- ARGV[1] 'merge' to store the union into KEYS[1], 'union' to only count it
-- ARGV[2..] raw strings of other HyperLogLogs, read from other slots or
--           servers (a GET of their keys)
--
-- Returns the union's cardinality. Scratch keys are deleted before the script
-- returns. Raises WRONGTYPE if any input is not a HyperLogLog; KEYS[1] is
-- unchanged then.
redis.call('DEL', KEYS[2], KEYS[3])
local sources = {KEYS[2], KEYS[1]}
for i = 4, #KEYS do
  sources[#sources + 1] = KEYS[i]
end
local r = redis.pcall('PFMERGE', unpack(sources))
if type(r) == 'table' and r.err then
  redis.call('DEL', KEYS[2])
  return r
end
for i = 2, #ARGV do
  redis.call('SET', KEYS[3], ARGV[i])
  r = redis.pcall('PFMERGE', KEYS[2], KEYS[2], KEYS[3])
  if type(r) == 'table' and r.err then
    redis.call('DEL', KEYS[2], KEYS[3])
    return r
  end
end
if ARGV[1] == 'merge' then
  redis.call('PFMERGE', KEYS[1], KEYS[2])
end
local n = redis.call('PFCOUNT', KEYS[2])
redis.call('DEL', KEYS[2], KEYS[3])
return n
