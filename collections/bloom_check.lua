-- Prelude of the Bloom filter scripts: the Go code prepends it to each.
--
-- KEYS[1] the filter's bits (a Redis string used as a bitmap)
-- KEYS[2] the filter's parameters, written by the first Add
-- ARGV[1] the configuration this client opened the filter with:
--         "v1 m=<bits> k=<hashes>", followed for a filter made by
--         NewBloomFilter by " n=<capacity> p=<error rate>"
--
-- Two configurations are the same filter when their m and k are: n and p
-- are what the creator asked for, stored for OpenBloomFilter to read, and
-- clients that asked for other n and p but got the same m and k share the
-- filter, as they did before n and p were stored.
local function sameFilter(a, b)
  local function identity(s)
    local id, rest = string.match(s, '^(v1 m=%d+ k=%d+)(.*)$')
    if id and (rest == '' or string.match(rest, '^ n=%d+ p=[%d.eE+-]+$')) then
      return id
    end
    return nil
  end
  local ia = identity(a)
  return ia ~= nil and ia == identity(b)
end

-- checkParams returns true if the filter exists with ARGV[1]'s m and k and
-- false if it does not exist yet; with create, it then stores ARGV[1]. It
-- raises TCCONFIG if the stored parameters differ (or bits exist without
-- them) and WRONGTYPE if a key holds another type, having written nothing.
local function checkParams(create)
  local params = redis.call('GET', KEYS[2])
  local bitsType = redis.call('TYPE', KEYS[1]).ok
  if bitsType ~= 'none' and bitsType ~= 'string' then
    error({err = 'WRONGTYPE Bloom filter bits key holds a ' .. bitsType})
  end
  if params then
    if not sameFilter(params, ARGV[1]) then
      error({err = 'TCCONFIG stored parameters ' .. params .. ', opened with ' .. ARGV[1]})
    end
    return true
  end
  if bitsType == 'string' then
    error({err = 'TCCONFIG stored bits have no parameters, opened with ' .. ARGV[1]})
  end
  if create then
    redis.call('SET', KEYS[2], ARGV[1])
  end
  return false
end

-- bitfield runs BITFIELD on KEYS[1] with one operation per bit position in
-- positions (big-endian uint32s): "SET u1 <pos> 1" if set, else
-- "GET u1 <pos>". It sends them in chunks small enough for unpack and returns
-- the bits read, or the bits as they were before they were set, in order.
local function bitfield(set, positions)
  local out = {}
  local n = #positions / 4
  local at = 1
  local done = 0
  while done < n do
    local args = {}
    local j = 0
    for _ = 1, math.min(1500, n - done) do
      local bit
      bit, at = struct.unpack('>I4', positions, at)
      if set then
        args[j + 1], args[j + 2], args[j + 3], args[j + 4] = 'SET', 'u1', bit, 1
        j = j + 4
      else
        args[j + 1], args[j + 2], args[j + 3] = 'GET', 'u1', bit
        j = j + 3
      end
      done = done + 1
    end
    local bits = redis.call('BITFIELD', KEYS[1], unpack(args))
    for i = 1, #bits do
      out[#out + 1] = bits[i]
    end
  end
  return out
end

