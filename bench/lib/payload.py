#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the benchmark request: a GitHub push event body (compact JSON,
about 1.7 KB) and its X-Hub-Signature-256 for the given secret.

    payload.py SECRET BODY_FILE [REF]  -> prints "sha256=<hex>" on stdout
"""
import hashlib
import hmac
import json
import sys

PUSHER = "bench-pusher"


def commit(sha, message, added, removed, modified, ts):
    return {
        "id": sha,
        "distinct": True,
        "message": message,
        "timestamp": ts,
        "url": "https://github.com/acme/widgets/commit/" + sha,
        "author": {"name": "Ada Lovelace", "email": "ada@example.com",
                   "username": "ada"},
        "added": added,
        "removed": removed,
        "modified": modified,
    }


def body(ref):
    before = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    after = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    c1 = commit("4f2a3c1d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a43",
                "Fix retry backoff in the delivery loop",
                [], [], ["src/delivery.c"], "2024-05-14T09:12:03+02:00")
    c2 = commit(after,
                "Add signature check for the push hook\n\nCloses #42",
                ["src/sig.c"], ["src/old_sig.c"], ["README.md"],
                "2024-05-14T09:15:41+02:00")
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/acme/widgets/compare/"
                   + before[:12] + "..." + after[:12],
        "repository": {
            "id": 186853002,
            "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
            "name": "widgets",
            "full_name": "acme/widgets",
            "private": False,
            "owner": {"name": "acme", "email": None, "login": "acme",
                      "id": 21031067},
            "html_url": "https://github.com/acme/widgets",
            "fork": False,
            "created_at": 1557933565,
            "pushed_at": 1715670941,
            "default_branch": "main",
        },
        "pusher": {"name": PUSHER, "email": "pusher@example.com"},
        "sender": {"login": "ada", "id": 21031067, "type": "User",
                   "site_admin": False},
        "commits": [c1, c2],
        "head_commit": {"id": after, "message": c2["message"],
                        "timestamp": c2["timestamp"]},
    }


def main():
    secret, path = sys.argv[1], sys.argv[2]
    ref = sys.argv[3] if len(sys.argv) > 3 else "refs/heads/main"
    raw = json.dumps(body(ref), separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(raw)
    print("sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256)
          .hexdigest())


main()
