/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The field names of the Redis layout (wh_redis_keys.h, SPEC §6): of a
 * job entry in the stream, of an execution record's hash and of a job in
 * its "jobs".  They are part of the contract; C code and the Lua scripts
 * take them from here, the scripts by string concatenation
 * ("... 'HGET', rec, '" WH_REC_STATUS "' ..."), so a field is spelled in
 * one place.
 */

#ifndef WH_REDIS_FIELDS_H
#define WH_REDIS_FIELDS_H


/* a job entry of webhook:jobs (and of webhook:dead) */
#define WH_JOB_EXECUTION        "execution"
#define WH_JOB_WORKFLOW         "workflow"
#define WH_JOB_REVISION         "revision"
#define WH_JOB_CONTEXT          "context"
#define WH_JOB_REPLY            "reply"
#define WH_JOB_PARENT           "parent"
#define WH_JOB_DEPTH            "depth"

/* a dead letter of webhook:dead: the job's fields plus these */
#define WH_DEAD_ERROR           "error"
#define WH_DEAD_ATTEMPTS        "attempts"

/* the hash webhook:execution:<id> */
#define WH_REC_WORKFLOW         "workflow"
#define WH_REC_REVISION         "revision"
#define WH_REC_CONTEXT          "context"
#define WH_REC_PARENT           "parent"
#define WH_REC_DEPTH            "depth"
#define WH_REC_STATUS           "status"
#define WH_REC_JOBS             "jobs"
#define WH_REC_ERROR            "error"
#define WH_REC_ATTEMPTS         "attempts"
#define WH_REC_OUTPUT           "output"
#define WH_REC_CREATED_AT       "createdAt"
#define WH_REC_STARTED_AT       "startedAt"
#define WH_REC_FINISHED_AT      "finishedAt"
#define WH_REC_NEXT_ATTEMPT_AT  "nextAttemptAt"
#define WH_REC_PARKED           "parked"
#define WH_REC_QUEUE            "queue"
#define WH_REC_WAITING          "waiting"
#define WH_REC_WAIT_DUE         "waitDue"
#define WH_REC_ORDER_KEY        "orderKey"
/* wait nodes: these prefixes and the node key (and a number), wk_wait.c */
#define WH_REC_RESUME           "resume:"
#define WH_REC_RESUMED          "resumed:"
#define WH_REC_TIMEOUT          "timeout:"
#define WH_REC_TIMEDOUT         "timedout:"

/* a job of the record's "jobs" */
#define WH_REC_JOB_NODE_KEY     "nodeKey"
#define WH_REC_JOB_STATUS       "status"
#define WH_REC_JOB_RESULT       "result"

/* the length of a field name literal */
#define wh_field_len(f)         (sizeof(f) - 1)

#endif /* WH_REDIS_FIELDS_H */
