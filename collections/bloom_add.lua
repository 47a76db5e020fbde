-- Adds elements to a Bloom filter (after bloom_check.lua's prelude).
--
-- KEYS[1] the filter's bits
-- KEYS[2] the filter's parameters
-- ARGV[1] the parameters this client opened the filter with
-- ARGV[2] k, the number of bits per element
-- ARGV[3] the elements' bit positions: k big-endian uint32 per element
--
-- Returns how many elements had at least one bit unset (were new).
checkParams(true)
local k = tonumber(ARGV[2])
local before = bitfield(true, ARGV[3])
local added = 0
for first = 1, #before, k do
  for i = first, first + k - 1 do
    if before[i] == 0 then
      added = added + 1
      break
    end
  end
end
return added
