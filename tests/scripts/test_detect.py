#!/usr/bin/env python3
"""Detections across connections and imap_user events (issue 15).

Each detection gets a positive and a negative case on captures of real
sessions against dovecot (captures/detect/, made by
`captures/make-captures.sh --only detect`; older captures of captures/ as
negatives), with the decoded evidence checked; thresholds and windows from
the command line; the user table's cap; --no-detect; the same alerts and
imap_user events with --threads 2.  Prints PASS name / FAIL name: why.  DETECT_CAPTURES=DIR/detect checks a
fresh run of the capture scenarios instead."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAPSCOPE = os.environ.get("IMAPSCOPE", os.path.join(ROOT, "build", "imapscope"))
# DETECT_CAPTURES: another set made by `make-captures.sh --only detect DIR`
# (DIR/detect), to check that a new run of the scenarios passes as well
DET = os.environ.get("DETECT_CAPTURES", os.path.join(ROOT, "captures", "detect"))
CAP = os.path.join(ROOT, "captures")
OK = True


def run(cap, *opts):
    # (--flow-id-seed: the same flow_id in every run, for the comparisons)
    r = subprocess.run([IMAPSCOPE, "-r", cap, "-T", "json", "--flow-id-seed", "1"] + list(opts),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("FAIL detect-run: %s %s exit %d: %s" % (cap, opts, r.returncode, r.stderr[:200]))
    evs = [json.loads(line) for line in r.stdout.splitlines()]
    alerts = [e for e in evs if e["event_type"] == "alert" and e["alert"].get("category") == "detect"]
    users = [e for e in evs if e["event_type"] == "imap_user"]
    stats = [e for e in evs if e["event_type"] == "stats"][-1]["stats"]
    return alerts, users, stats, evs


def named(alerts, name):
    return [a for a in alerts if a["alert"]["name"] == name]


def check(name, cond, why=""):
    global OK
    if cond:
        print("PASS detect-%s" % name)
    else:
        OK = False
        print("FAIL detect-%s: %s" % (name, why))


def one(name, alerts, alert_name):
    got = named(alerts, alert_name)
    check(name, len(got) == 1, "%d %s alerts, want 1: %s" % (
        len(got), alert_name, [a["alert"].get("detail") for a in alerts]))
    return got[0]["alert"] if got else {}


def none(name, alerts, alert_name):
    got = named(alerts, alert_name)
    check(name, not got, "%d unexpected %s alerts: %s" % (len(got), alert_name,
                                                         [a["alert"].get("detail") for a in got][:2]))


def fact(a, name):
    """The evidence fact `name` of alert body a ({} when absent): the
    evidence is {user, window_start, window_s, facts: [{name, value,
    threshold, names}]} for every detection (docs/alerts.md)."""
    got = [f for f in a.get("evidence", {}).get("facts", []) if f.get("name") == name]
    return got[0] if len(got) == 1 else {}


def val(a, name, default=None):
    return fact(a, name).get("value", default)


def mitre(a, tid):
    return a.get("mitre", {}).get("technique_id") == tid and a.get("mitre", {}).get("technique")


def det_alerts(st):
    """The stats counters of the detections by alert name (detect.alerts.NAME)."""
    return {c["name"]: c["count"] for c in st.get("counters", []) if c["name"].startswith("detect.alerts.")}


def main():
    if not os.access(IMAPSCOPE, os.X_OK):
        print("FAIL detect-imapscope-missing")
        return 1
    c = lambda n: os.path.join(DET, n + ".pcap")  # noqa: E731
    main_cap = os.path.join(CAP, "imaplib-main.pcap")

    # auth_bruteforce: 50 failures of alice from one address
    al, users, st, _ = run(c("bruteforce"))
    a = one("bruteforce-positive", al, "auth_bruteforce")
    ev = a.get("evidence", {})
    x = named(al, "auth_bruteforce")
    check("bruteforce-evidence", val(a, "failures") == 10 and fact(a, "failures").get("threshold") == 10 and
          ev.get("user") == "alice" and x and x[0]["src_ip"] == "127.0.0.1" and ev.get("window_s") == 300 and
          ev.get("window_start", "") <= x[0]["timestamp"] and a.get("severity") == 2 and
          a.get("signature_id") == 2305001 and mitre(a, "T1110.001"), a)
    check("bruteforce-users", len(users) == 1 and users[0]["imap_user"]["logins_failed"] == 50 and
          users[0]["imap_user"]["logins_ok"] == 0, [u["imap_user"] for u in users])
    none("bruteforce-no-spray", al, "password_spraying")
    none("bruteforce-threshold", run(c("bruteforce"), "--bruteforce-failures", "51")[0], "auth_bruteforce")
    a = one("bruteforce-threshold-50", run(c("bruteforce"), "--bruteforce-failures", "50")[0], "auth_bruteforce")
    check("bruteforce-threshold-50-count", val(a, "failures") == 50 and fact(a, "failures").get("threshold") == 50, a)
    none("bruteforce-negative", run(c("after-failures"))[0], "auth_bruteforce")

    # login_after_failures: bob fails 6 times, then logs in
    al = run(c("after-failures"))[0]
    a = one("after-failures-positive", al, "login_after_failures")
    check("after-failures-evidence", val(a, "failures") == 6 and fact(a, "failures").get("threshold") == 5 and
          fact(a, "clients") == {"name": "clients", "value": 1, "names": ["127.0.0.1"]} and
          a.get("evidence", {}).get("user") == "bob" and mitre(a, "T1110.001"), a)
    none("after-failures-threshold", run(c("after-failures"), "--after-failures", "7")[0], "login_after_failures")
    none("after-failures-negative", run(main_cap)[0], "login_after_failures")  # one failure, then success

    # password_spraying: one client, 30 users
    al, users, st, _ = run(c("spray"))
    a = one("spray-positive", al, "password_spraying")
    x = named(al, "password_spraying")
    check("spray-evidence", val(a, "users") == 10 and fact(a, "users").get("threshold") == 10 and
          x and x[0]["src_ip"] == "127.0.0.1" and val(a, "failures") == 10 and
          fact(a, "users").get("names") == ["user01", "user02", "user03", "user04", "user05"] and
          "user" not in a.get("evidence", {}) and mitre(a, "T1110.003"), a)
    check("spray-users", len(users) == 30 and all(u["imap_user"]["logins_failed"] == 1 for u in users) and
          [u["imap_user"]["user"] for u in users] == sorted(u["imap_user"]["user"] for u in users),
          len(users))
    a = one("spray-threshold-30", run(c("spray"), "--spray-users", "30")[0], "password_spraying")
    check("spray-threshold-30-count", val(a, "users") == 30, a)
    none("spray-negative-one-user", run(c("bruteforce"))[0], "password_spraying")
    none("spray-negative-stuffing", run(c("stuffing"))[0], "password_spraying")  # 2 users per client

    # credential_stuffing: 20 clients, 2 pairs each, one success
    al = run(c("stuffing"))[0]
    a = one("stuffing-positive", al, "credential_stuffing")
    check("stuffing-evidence", val(a, "clients", 0) >= 5 and val(a, "users", 0) >= 10 and
          fact(a, "clients").get("threshold") == 5 and fact(a, "users").get("threshold") == 10 and
          val(a, "success_pct", 100) <= 10 and fact(a, "success_pct").get("threshold") == 10 and
          val(a, "failures", 0) + val(a, "successes", 0) >= 10 and
          len(fact(a, "clients").get("names", [])) == 5 and len(fact(a, "users").get("names", [])) == 5 and
          mitre(a, "T1110.004"), a)
    # (the fast run lasts some seconds: one alert per 5 s window that qualifies)
    n = len(named(run(c("stuffing"), "--stuffing-window", "5")[0], "credential_stuffing"))
    check("stuffing-positive-short-window", n >= 1, "no alert with a 5 s window")
    # the slow run: 12 clients 1.5 s apart; within a 5 s window never 5 clients
    none("stuffing-slow-negative", run(c("stuffing-slow"), "--stuffing-window", "5")[0], "credential_stuffing")
    one("stuffing-slow-long-window", run(c("stuffing-slow"))[0], "credential_stuffing")
    none("stuffing-negative-clients", run(c("stuffing"), "--stuffing-clients", "21")[0], "credential_stuffing")
    none("stuffing-negative-one-client", run(c("spray"))[0], "credential_stuffing")

    # bulk_download: FETCH 1:* (BODY.PEEK[])
    al, users, st, _ = run(c("bulk"))
    a = one("bulk-positive-whole-mailbox", al, "bulk_download")
    check("bulk-evidence", fact(a, "whole_mailbox").get("names") == ["INBOX"] and
          fact(a, "items").get("names") == ["BODY.PEEK[]"] and val(a, "messages", 0) >= 7 and
          val(a, "bytes", 0) > 20000 and a.get("evidence", {}).get("user") == "alice" and
          mitre(a, "T1114.002"), a)
    al2 = named(run(c("bulk"), "--bulk-messages", "5")[0], "bulk_download")
    b2 = al2[1]["alert"] if len(al2) == 2 else {}
    check("bulk-positive-threshold", len(al2) == 2 and not fact(b2, "whole_mailbox") and
          val(b2, "messages", 0) >= 5 and fact(b2, "messages").get("threshold") == 5 and
          fact(b2, "bytes").get("threshold") == 52428800 and b2["evidence"].get("window_s") == 600,
          [x["alert"]["detail"] for x in al2])
    none("bulk-negative", run(main_cap)[0], "bulk_download")  # FETCH 1:* (FLAGS UID) is no body
    u = users[0]["imap_user"] if users else {}
    # the imap_user event is at the time alice was last seen: her FETCH
    fetch = [e for e in run(c("bulk"))[3] if e["event_type"] == "imap" and e["imap"].get("command") == "FETCH"]
    check("bulk-user-last-seen", users and fetch and users[0]["timestamp"] == fetch[-1]["timestamp"] and
          "last_seen" not in u and u.get("first_seen", "z") < users[0]["timestamp"],
          [x["timestamp"] for x in users + fetch[-1:]])
    check("bulk-user-counts", u.get("messages_fetched", 0) >= 7 and u.get("bytes_fetched", 0) > 20000 and
          "INBOX" in u.get("mailboxes", []), u)

    # mass_deletion: 60 flagged \Deleted and expunged, 6 mailboxes deleted
    al, users, st, _ = run(c("massdelete"))
    a = one("massdelete-positive", al, "mass_deletion")
    check("massdelete-evidence", val(a, "messages_flagged_deleted") == 60 and
          fact(a, "messages_flagged_deleted").get("threshold") == 50 and
          fact(a, "mailboxes").get("names") == ["Purge"] and mitre(a, "T1070.008"), a)
    a = one("massdelete-mailboxes", run(c("massdelete"), "--mass-delete", "1000")[0], "mass_deletion")
    check("massdelete-mailboxes-count", val(a, "mailboxes_deleted") == 5 and
          fact(a, "mailboxes_deleted").get("threshold") == 5 and val(a, "messages_expunged") == 60, a)
    none("massdelete-threshold", run(c("massdelete"), "--mass-delete", "1000", "--mass-delete-mailboxes", "7")[0],
         "mass_deletion")
    none("massdelete-negative", run(main_cap)[0], "mass_deletion")
    u = users[0]["imap_user"] if users else {}
    check("massdelete-user-counts", u.get("messages_flagged_deleted") == 60 and "messages_deleted" not in u and u.get("messages_expunged") == 60 and
          u.get("mailboxes_deleted") == 6 and u.get("messages_appended") == 60, u)

    # mass_move: MOVE 1:* of 110 messages
    al = run(c("massmove"))[0]
    a = one("massmove-positive", al, "mass_move")
    check("massmove-evidence", val(a, "messages") == 110 and fact(a, "messages").get("threshold") == 100 and
          fact(a, "target_mailboxes").get("names") == ["Stage"], a)
    none("massmove-threshold", run(c("massmove"), "--mass-move", "111")[0], "mass_move")
    none("massmove-negative", run(main_cap)[0], "mass_move")

    # starttls_stripped_across_flows: one address and port, STARTTLS offered once, not the next time
    al = run(c("starttls-mix"))[0]
    a = one("stripped-positive", al, "starttls_stripped_across_flows")
    check("stripped-evidence", val(a, "flows_with_starttls") == 1 and val(a, "flows_without_starttls") == 1 and
          fact(a, "flows_without_starttls").get("names") == ["127.0.0.3"] and
          fact(a, "flows_with_starttls").get("names") == ["127.0.0.2"] and
          a.get("severity") == 1 and mitre(a, "T1557"), a)
    for neg in ("imaplib-starttls-tls13", "curl-starttls-tls12", "imaplib-main"):
        none("stripped-negative-" + neg, run(os.path.join(CAP, neg + ".pcap"))[0], "starttls_stripped_across_flows")

    # new_client_fingerprint: Thunderbird twice, then imapsync from another address
    al, users, st, evs = run(c("fingerprint"))
    a = one("fingerprint-positive", al, "new_client_fingerprint")
    x = named(al, "new_client_fingerprint")
    u = users[0]["imap_user"] if users else {}
    fp = fact(a, "fingerprint").get("names", [""])
    check("fingerprint-evidence", len(fp) == 1 and fp[0].startswith("id name=imapsync;") and
          val(a, "known_fingerprints") == 1 and a.get("evidence", {}).get("user") == "alice" and
          fact(a, "known_fingerprints").get("names", [""])[0].startswith("id name=Thunderbird;") and
          fp[0] in u.get("clients", []) and x and x[0]["src_ip"] == "127.0.0.7", a)
    check("fingerprint-clients", len(u.get("clients", [])) == 2 and u.get("logins_ok") == 3, u)
    none("fingerprint-negative", run(c("bulk"))[0], "new_client_fingerprint")

    # the text trace: detection alerts inline, the per-user table with -v only
    r = subprocess.run([IMAPSCOPE, "-r", c("bulk"), "-v"], capture_output=True, text=True).stdout
    q = subprocess.run([IMAPSCOPE, "-r", c("bulk")], capture_output=True, text=True).stdout
    rows = [x for x in r.splitlines() if "@@@ user " in x]
    check("text-alert-inline", any("alert bulk_download [sid 2305005 sev 2]:" in x and "!!! flow " in x
                                   for x in q.splitlines()), q[-300:])
    check("text-user-table-verbose", len(rows) == 1 and "@@@ user alice" in rows[0] and " 1 ok 0 failed" in rows[0]
          and "fetched 10 msgs" in r, rows)
    check("text-user-table-not-plain", "@@@ user" not in q, "")
    # (the table comes after every connection's end, before the stats)
    check("text-user-table-order", r.rfind("=== flow") < r.find("@@@ user") < r.find("### stats"), "")

    # --no-detect: no detection alerts, imap_user events kept
    al, users, st, _ = run(c("spray"), "--no-detect")
    check("no-detect", not al and len(users) == 30, "%d alerts, %d users" % (len(al), len(users)))
    al, users, st, _ = run(c("spray"), "--no-user-events")
    check("no-user-events", not users and named(al, "password_spraying"), "%d users" % len(users))

    # the user table's cap: 30 users, room for 10
    al, users, st, _ = run(c("spray"), "--max-users", "10")
    t = ([x for x in st.get("limits", []) if x.get("name") == "detect.users"] or [{}])[0]
    full = named(al, "detect_table_full")
    check("max-users-cap", len(users) == 10 and t.get("used") == 10 and t.get("limit") == 10 and t.get("evicted") == 20 and
          len(full) == 1 and fact(full[0]["alert"], "table").get("names") == ["users"] and
          val(full[0]["alert"], "capacity") == 10,
          "%d users, table %s, %d full alerts" % (len(users), t, len(full)))
    check("max-users-lru", [u["imap_user"]["user"] for u in users] == ["user%02d" % i for i in range(21, 31)],
          [u["imap_user"]["user"] for u in users])

    # --threads 2: the same detection alerts and imap_user events
    for n in sorted(os.listdir(DET)):
        if not n.endswith(".pcap"):
            continue
        a1, u1, s1, _ = run(os.path.join(DET, n))
        a2, u2, s2, _ = run(os.path.join(DET, n), "--threads", "2")
        key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
        check("threads-" + n[:-5], sorted(map(key, a1)) == sorted(map(key, a2)) and
              sorted(map(key, u1)) == sorted(map(key, u2)) and
              det_alerts(s1) == det_alerts(s2) and len(det_alerts(s1)) >= 10,
              "1 thread: %s; 2 threads: %s" % ([a["alert"]["name"] for a in a1], [a["alert"]["name"] for a in a2]))
    return 0 if OK else 1


if __name__ == "__main__":
    sys.exit(main())
