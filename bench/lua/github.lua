-- SPDX-License-Identifier: BSD-2-Clause
-- GitHub push hook for lua-nginx-module: the handler an OpenResty user
-- writes.  HMAC-SHA256 of the raw body with libcrypto's one-shot HMAC()
-- through the FFI, a compare that does not stop at the first difference,
-- cjson for the body.
local ffi = require("ffi")
local bit = require("bit")
local cjson = require("cjson.safe")

ffi.cdef[[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md,
                    unsigned int *md_len);
]]

-- nginx itself links libcrypto; load it by name if the symbols are not
-- global in this process.
local crypto = ffi.C
if not pcall(function() return crypto.HMAC end) then
    crypto = ffi.load("libcrypto.so.3")
end

local sha256 = crypto.EVP_sha256()
local md = ffi.new("unsigned char[32]")
local md_len = ffi.new("unsigned int[1]")
local hex = {}
for i = 0, 255 do
    hex[i] = string.format("%02x", i)
end

local function hmac_hex(key, data)
    local out = {}
    crypto.HMAC(sha256, key, #key, data, #data, md, md_len)
    for i = 0, 31 do
        out[i + 1] = hex[md[i]]
    end
    return "sha256=" .. table.concat(out)
end

local function same(a, b)
    if type(a) ~= "string" or #a ~= #b then
        return false
    end
    local d = 0
    for i = 1, #a do
        d = bit.bor(d, bit.bxor(a:byte(i), b:byte(i)))
    end
    return d == 0
end

local function answer(status, tbl)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.print(cjson.encode(tbl))
    return ngx.exit(status)
end

local _M = {}

function _M.handle(secret)
    if ngx.req.get_method() ~= "POST" then
        return answer(405, {error = "method_not_allowed"})
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
        return answer(400, {error = "invalid_body"})
    end
    local sig = ngx.var.http_x_hub_signature_256
    if not same(sig, hmac_hex(secret, body)) then
        return answer(401, {error = "invalid_signature"})
    end
    local data = cjson.decode(body)
    if type(data) ~= "table" then
        return answer(400, {error = "invalid_body"})
    end
    if data.ref ~= "refs/heads/main" then
        return answer(200, {skipped = true})
    end
    return answer(200, {ref = data.ref, pusher = data.pusher
                                                 and data.pusher.name})
end

return _M
