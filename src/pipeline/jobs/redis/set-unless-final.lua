-- Sets a job's record (KEYS[1]) to ARGV[1] unless the stored record is already final.
-- The check and the write run as one step in Redis, so a cancel and a finish cannot cross.
-- Returns 1 when written, 0 when the stored record was final.
local current = redis.call('GET', KEYS[1])
if current then
  local status = cjson.decode(current).status
  if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
