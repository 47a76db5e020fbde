-- Reads a Bloom filter's bits whole, for a local copy (after
-- bloom_check.lua's prelude).
--
-- KEYS[1] the filter's bits
-- KEYS[2] the filter's parameters
-- ARGV[1] the configuration this client opened the filter with
--
-- Returns the bits (Redis' bitmap: bit i is the bit 7 - i % 8 of byte
-- i / 8, missing bytes are zero), or an empty string for a filter that
-- does not exist yet. Raises as checkParams does. Writes nothing.
if not checkParams(false) then
  return ''
end
return redis.call('GET', KEYS[1]) or ''
