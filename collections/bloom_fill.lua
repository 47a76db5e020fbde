-- Fills a Bloom filter with its whole contents (after bloom_check.lua's
-- prelude): "create" only when the filter does not exist, "replace" in
-- place of the bits it held.
--
-- KEYS[1] the filter's bits
-- KEYS[2] the filter's parameters
-- KEYS[3] create: this request's dedupe record (a string in the filter's slot)
-- ARGV[1] the parameters this client opened the filter with
-- ARGV[2] k, the number of bits per element
-- ARGV[3] the elements' bit positions: k big-endian uint32 per element
-- ARGV[4] "create" or "replace"
-- ARGV[5] create: the dedupe window in milliseconds (the record's time to live)
--
-- Returns 1 when it wrote, 0 when create found the filter existing (its
-- parameters or its bits, whatever the parameters) and changed nothing. A
-- create that already ran (its record exists) returns what it returned
-- then and changes nothing. Either mode stores the parameters, so the
-- filter exists, empty, with no positions. Raises WRONGTYPE if a key holds
-- another type, and replace raises TCCONFIG if the stored parameters
-- differ (or bits exist without them), having written nothing.
local mode = ARGV[4]
local result = 1
if mode == 'create' then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    return tonumber(prev)
  end
  local params = redis.call('GET', KEYS[2])
  local bitsType = redis.call('TYPE', KEYS[1]).ok
  if bitsType ~= 'none' and bitsType ~= 'string' then
    error({err = 'WRONGTYPE Bloom filter bits key holds a ' .. bitsType})
  end
  if params or bitsType ~= 'none' then
    result = 0
  end
else
  checkParams(false)
end
if result == 1 then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[1])
  if #ARGV[3] > 0 then
    bitfield(true, ARGV[3])
  end
end
if mode == 'create' then
  redis.call('SET', KEYS[3], result, 'PX', ARGV[5])
end
return result
