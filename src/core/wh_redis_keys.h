/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Redis layout shared by the nginx module, webhook-worker and
 * webhookctl (SPEC §6).  Keys and stream fields are part of the contract.
 *
 * webhook:jobs (stream, webhook_queue)   job entries, fields:
 *     execution   UUIDv7 of the execution
 *     workflow    workflow key
 *     revision    hex SHA-256 of the workflow's canonical JSON
 *     context     the $context JSON text (a JSON body inside verbatim)
 *     reply       (sync runs with worker nodes) the channel nginx listens
 *                 on for the answer; once the execution is final the
 *                 worker PUBLISHes there {"execution":ID,"status":N,
 *                 "error":MSG|null,"response":null|{"statusCode":N,
 *                 "headers":[{"name","value"}],"body":TEXT|null,
 *                 "json":BOOL}} (body: the text, JSON when "json")
 * webhook:workflow:<revision> (string)   canonical workflow JSON; written
 *                                        before the revision's first job
 * webhook:workflow:key:<key> (string)   the revision of the workflow nginx
 *                                        loaded last under that key: what
 *                                        a subflow node runs (§11)
 * webhook:execution:<id> (hash)          the execution record
 * webhook:executions:<workflow> (zset)   ids by createdAt (ms): the index
 *                                        webhookctl lists, newest first
 * webhook:executions (zset)              ids of every workflow, likewise
 * webhook:dedup:<workflow>:<hash> (string) the first execution id, with
 *                                        webhook_dedup's TTL; hash: hex
 *                                        SHA-256 of the rendered value
 * webhook:dedup:<workflow>:<hash>:response (string) sync: the first answer
 *                                        ("<status>\n<content-type>\n<body>")
 * webhook:dead (stream)                  dead letters: the job's fields
 *                                        plus error and attempts
 * webhook:delayed (zset)                 delay nodes: execution ids by
 *                                        due time (ms)
 * webhook:paused (set)                  keys of paused workflows (§11)
 * webhook:parked:<workflow> (list)       execution ids parked while paused
 * webhook:waiting (zset)                wait nodes with a timeout:
 *                                        execution ids by due time (ms)
 * webhook:running:<workflow> (zset)      concurrency leases: id by expiry
 * webhook:order:<workflow>:<hash> (zset) one orderKey's executions in
 *                                        queue order (wk_gate.c)
 * webhook:ordered:<workflow> (set)       the ids registered in those
 * webhook:collection:<name> (hash)       records of create/update/…: id →
 *                                        JSON; webhook:collection:<name>:seq
 *                                        the id counter
 *
 * The field names of entries and records are in wh_redis_fields.h.
 */

#ifndef WH_REDIS_KEYS_H
#define WH_REDIS_KEYS_H

#define WH_REDIS_QUEUE_DEFAULT    "webhook:jobs"
#define WH_REDIS_GROUP_DEFAULT    "webhook-workers"
#define WH_REDIS_WORKFLOW         "webhook:workflow:"
#define WH_REDIS_WORKFLOW_KEY     "webhook:workflow:key:"
#define WH_REDIS_EXECUTION        "webhook:execution:"
#define WH_REDIS_INDEX            "webhook:executions"
#define WH_REDIS_DEDUP            "webhook:dedup:"
#define WH_REDIS_DEAD             "webhook:dead"
#define WH_REDIS_DELAYED          "webhook:delayed"
#define WH_REDIS_PAUSED           "webhook:paused"
#define WH_REDIS_PARKED           "webhook:parked:"
#define WH_REDIS_COLLECTION       "webhook:collection:"
#define WH_REDIS_WAITING          "webhook:waiting"
#define WH_REDIS_RUNNING          "webhook:running:"
#define WH_REDIS_ORDER            "webhook:order:"
#define WH_REDIS_ORDERED          "webhook:ordered:"

#endif /* WH_REDIS_KEYS_H */
