-- Reads the stored parameters of a Bloom filter, for OpenBloomFilter.
--
-- KEYS[1] the filter's bits
-- KEYS[2] the filter's parameters, written by the first Add
--
-- Returns the stored parameters, or false when the filter does not exist
-- (neither key is there). Raises WRONGTYPE if a key holds another type and
-- TCCONFIG if the bits exist without parameters. Writes nothing.
local bitsType = redis.call('TYPE', KEYS[1]).ok
if bitsType ~= 'none' and bitsType ~= 'string' then
  error({err = 'WRONGTYPE Bloom filter bits key holds a ' .. bitsType})
end
local params = redis.call('GET', KEYS[2])
if not params and bitsType == 'string' then
  error({err = 'TCCONFIG stored bits have no parameters'})
end
return params
