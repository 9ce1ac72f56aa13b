/*
 * imap_names.c - names of the public enums of imap.h (commands, status
 * responses, response codes, session states, line kinds), from their
 * X-macro tables.
 */
#include "imap.h"

#include <string.h>

/* The index of name[0..len) among names[first..count), or -1. */
static int name_index(const char *const *names, unsigned first, unsigned count,
                      const char *name, size_t len)
{
    for (unsigned i = first; i < count; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return (int)i;
    return -1;
}

static const char *const command_names[IMAP_CMD__COUNT] = {
    "", "",
#define IMAP_X_(id, name) name,
    IMAP_COMMAND_TABLE(IMAP_X_)
#undef IMAP_X_
};

const char *imap_command_name(imap_command c)
{
    return (unsigned)c < IMAP_CMD__COUNT ? command_names[c] : "";
}

imap_command imap_command_lookup(const char *name, size_t len)
{
    int i = name ? name_index(command_names, IMAP_CMD_OTHER + 1, IMAP_CMD__COUNT, name, len) : -1;
    return i < 0 ? IMAP_CMD_OTHER : (imap_command)i;
}

const char *imap_status_name(imap_status s)
{
    static const char *const names[] = { "", "OK", "NO", "BAD", "PREAUTH", "BYE" };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "";
}

static const char *const code_names[IMAP_CODE__COUNT] = {
    "", "",
#define IMAP_X_(id, name) name,
    IMAP_CODE_TABLE(IMAP_X_)
#undef IMAP_X_
};

const char *imap_code_name(imap_code c)
{
    return (unsigned)c < IMAP_CODE__COUNT ? code_names[c] : "";
}

imap_code imap_code_lookup(const char *name, size_t len)
{
    if (!name || !len)
        return IMAP_CODE_NONE;
    int i = name_index(code_names, IMAP_CODE_OTHER + 1, IMAP_CODE__COUNT, name, len);
    return i < 0 ? IMAP_CODE_OTHER : (imap_code)i;
}

const char *imap_session_state_name(imap_session_state st)
{
    static const char *const names[] = {
        "not_authenticated", "authenticated", "selected", "logout", "unknown",
    };
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "unknown";
}

const char *imap_line_kind_name(imap_line_kind k)
{
    static const char *const names[] = {
        "command", "continuation_data", "done", "tagged", "untagged", "continuation", "malformed",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "";
}
