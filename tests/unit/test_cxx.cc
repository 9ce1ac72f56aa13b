// test_cxx.cc - the public dissector API (dissector/imap.h) used from C++:
// the header compiles as C++17 with -pedantic, and a small session fed
// through it gives typed transaction and line events whose fields (tag,
// command enum, status, response code, a decoded argument, a decoded
// response) read back through the imap_node accessors.
// Prints "PASS name" / "FAIL name" lines; exits non-zero on a failure.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "imap.h"

namespace {

struct seen_txn {
    std::string tag, command_name, mailbox, code_name, text;
    imap_command command;
    imap_status status;
    imap_code code;
    bool has_latency;
    uint64_t latency_us;
    imap_session_state state;
    int64_t exists;
};

struct recorder {
    std::vector<seen_txn> txns;
    std::vector<std::string> lines;
};

std::string str(imap_span s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); }

std::string node_str(const imap_node *n)
{
    size_t len = 0;
    const char *p = imap_node_str(n, &len);
    return p ? std::string(p, len) : std::string();
}

int on_event(void *user, const imap_event *ev)
{
    recorder *r = static_cast<recorder *>(user);
    if (ev->type == IMAP_EV_TRANSACTION) {
        const imap_transaction *t = ev->txn;
        seen_txn s;
        s.tag = str(t->tag);
        s.command_name = str(t->command_name);
        s.command = t->command;
        s.status = t->status;
        s.code = t->code.code;
        s.code_name = str(t->code.name);
        s.text = str(t->text);
        s.has_latency = t->has_latency;
        s.latency_us = t->latency_us;
        s.state = t->state;
        s.mailbox = node_str(imap_node_get(t->args, "mailbox"));
        s.exists = -1;
        // the untagged "* 3 EXISTS" among the decoded responses:
        // {"type": "EXISTS", "number": 3}
        for (size_t i = 0; i < imap_node_size(t->responses); i++) {
            const imap_node *resp = imap_node_at(t->responses, i);
            if (node_str(imap_node_get(resp, "type")) == "EXISTS")
                s.exists = imap_node_int(imap_node_get(resp, "number"));
        }
        r->txns.push_back(s);
    } else if (ev->type == IMAP_EV_LINE) {
        r->lines.push_back(str(ev->line->text));
    }
    return 0;
}

int failures = 0;

void check(bool ok, const char *name)
{
    std::printf("%s cxx-%s\n", ok ? "PASS" : "FAIL", name);
    if (!ok)
        failures++;
}

void feed(imap_session *s, imap_dir d, const char *text, uint64_t ts)
{
    imap_session_feed(s, d, reinterpret_cast<const uint8_t *>(text), std::strlen(text), ts);
}

} // namespace

int main()
{
    imap_config cfg;
    imap_config_default(&cfg);
    cfg.emit_lines = true;
    imap_budget budget;
    imap_budget_init(&budget, 1u << 20);
    cfg.budget = &budget;
    const imap_callbacks cb = { on_event, nullptr, nullptr, nullptr, nullptr };
    recorder r;
    imap_session *s = imap_session_new(&cfg, &cb, &r);
    check(s != nullptr, "session-new");
    if (!s)
        return 1;
    feed(s, IMAP_DIR_SERVER, "* OK [CAPABILITY IMAP4rev1] ready\r\n", 1000);
    feed(s, IMAP_DIR_CLIENT, "a1 LOGIN bob secret\r\n", 2000);
    feed(s, IMAP_DIR_SERVER, "a1 OK logged in\r\n", 3000);
    feed(s, IMAP_DIR_CLIENT, "a2 SELECT INBOX\r\n", 4000);
    feed(s, IMAP_DIR_SERVER, "* 3 EXISTS\r\na2 OK [READ-WRITE] SELECT completed\r\n", 4500);
    imap_session_end(s, "test", 5000);

    check(r.txns.size() == 2, "two-transactions");
    if (r.txns.size() == 2) {
        const seen_txn &t = r.txns[1];
        check(t.tag == "a2", "tag");
        check(t.command == IMAP_CMD_SELECT && t.command_name == "SELECT" &&
                  std::strcmp(imap_command_name(t.command), "SELECT") == 0, "command-enum");
        check(t.status == IMAP_STATUS_OK && std::strcmp(imap_status_name(t.status), "OK") == 0, "status");
        check(t.code == IMAP_CODE_READ_WRITE && t.code_name == "READ-WRITE", "response-code");
        check(t.text == "SELECT completed", "response-text");
        check(t.mailbox == "INBOX", "decoded-argument");
        check(t.has_latency && t.latency_us == 500, "latency");
        check(t.state == IMAP_SESSION_AUTHENTICATED, "state-at-issue");
        check(t.exists == 3, "decoded-response");
        check(r.txns[0].command == IMAP_CMD_LOGIN && r.txns[0].tag == "a1", "login");
    }
    // the password is redacted in the trace line
    bool redacted = false;
    for (const std::string &l : r.lines)
        if (l.find("a1 LOGIN bob") == 0 && l.find("secret") == std::string::npos)
            redacted = true;
    check(redacted, "line-redacted");
    imap_node *sum = imap_session_summary(s);
    check(node_str(imap_node_get(sum, "user")) == "bob", "summary-user");
    imap_node_release(sum);
    imap_summary ts;
    imap_session_summary_typed(s, &ts);
    check(str(ts.user) == "bob" && ts.login_success && ts.transactions == 2 && ts.commands == 2 &&
              ts.state == IMAP_SESSION_SELECTED && !ts.tls &&
              imap_node_int(imap_node_get(ts.obj, "login_failures")) == 0 &&
              imap_node_get(ts.obj, "transactions") == NULL, /* typed only: one imap event each */
          "summary-typed");
    imap_summary_release(&ts);
    imap_session_free(s);
    return failures ? 1 : 0;
}
