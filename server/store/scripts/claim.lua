-- claim: marks a name used (a redeemed assertion id).
-- KEYS[1] the mark; ARGV: its lifetime (ms), counted by Redis' clock from
-- now. 1 if this call set it, 0 if it was set already. A script so that the
-- mark can be a durable write (WAIT), as a revocation is.

if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
