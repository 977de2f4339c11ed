/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Retrying an execution, shared by the viewer (nginx) and webhookctl: one
 * Lua script, run by EVAL, so the check and the new job are atomic.
 *
 * ARGV: old id, new id, NODE ("" for a whole retry), queue, createdAt,
 * retention (s).  A retry from NODE writes the new record first, with
 * status 0 and the jobs recorded before NODE's first job: the worker
 * takes a started record with jobs as progress to resume from, so the
 * worker nodes before NODE give their recorded results instead of
 * running again (inline nodes run again; they are pure).
 *
 * Errors: "NOTFOUND …" (no such execution, or NODE has no job in it),
 * "CONFLICT …" (the revision is no longer in Redis).  Returns the new id.
 */

#ifndef WH_RETRY_H
#define WH_RETRY_H

#define WH_RETRY_SCRIPT                                                      \
    "local old = 'webhook:execution:' .. ARGV[1]\n"                          \
    "local h = redis.call('HMGET', old, 'workflow', 'revision', 'context',"  \
    " 'jobs')\n"                                                             \
    "if not h[1] or not h[2] or not h[3] then\n"                             \
    "  return redis.error_reply('NOTFOUND no execution ' .. ARGV[1])\n"      \
    "end\n"                                                                  \
    "if redis.call('EXISTS', 'webhook:workflow:' .. h[2]) == 0 then\n"       \
    "  return redis.error_reply('CONFLICT workflow revision ' .. h[2] ..\n"  \
    "    ' is not in Redis')\n"                                              \
    "end\n"                                                                  \
    "if ARGV[3] ~= '' then\n"                                                \
    "  local ok, jobs = pcall(cjson.decode, h[4] or '[]')\n"                 \
    "  if not ok or type(jobs) ~= 'table' then jobs = {} end\n"              \
    "  local keep, found = {}, false\n"                                      \
    "  for _, j in ipairs(jobs) do\n"                                        \
    "    if j.nodeKey == ARGV[3] then found = true break end\n"              \
    "    keep[#keep + 1] = j\n"                                              \
    "  end\n"                                                                \
    "  if not found then\n"                                                  \
    "    return redis.error_reply('NOTFOUND node ' .. ARGV[3] ..\n"          \
    "      ' did not run in ' .. ARGV[1])\n"                                 \
    "  end\n"                                                                \
    "  local key = 'webhook:execution:' .. ARGV[2]\n"                        \
    "  redis.call('HSET', key, 'status', '0', 'workflow', h[1],\n"           \
    "    'revision', h[2], 'context', h[3], 'attempts', '0',\n"              \
    "    'createdAt', ARGV[5], 'retryOf', ARGV[1], 'retryFrom', ARGV[3],\n"  \
    "    'jobs', #keep == 0 and '[]' or cjson.encode(keep))\n"               \
    "  redis.call('EXPIRE', key, tonumber(ARGV[6]))\n"                       \
    "end\n"                                                                  \
    "redis.call('XADD', ARGV[4], '*', 'execution', ARGV[2],\n"               \
    "  'workflow', h[1], 'revision', h[2], 'context', h[3])\n"               \
    "return ARGV[2]\n"

#endif /* WH_RETRY_H */
