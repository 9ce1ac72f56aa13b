/*
 * alert_sig.c - lookup in ALERT_SIG_TABLE (see alert_sig.h).  Alerts are
 * rare: a linear scan by name is enough.
 */
#include "alert_sig.h"

#include <string.h>

static const struct {
    const char *name;
    int severity;
    unsigned sid;
} sigs[] = {
#define ALERT_SIG_ROW(n, sev, sid) {n, sev, sid},
    ALERT_SIG_TABLE(ALERT_SIG_ROW)
#undef ALERT_SIG_ROW
};

bool alert_sig_lookup(const char *name, int *severity, unsigned *signature_id)
{
    for (size_t i = 0; name && i < sizeof sigs / sizeof sigs[0]; i++) {
        if (strcmp(sigs[i].name, name) == 0) {
            *severity = sigs[i].severity;
            *signature_id = sigs[i].sid;
            return true;
        }
    }
    *severity = 3;
    *signature_id = 0;
    return false;
}
