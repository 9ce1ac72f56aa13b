/*
 * imap_anomaly.c - name and description lookups for the anomaly table.
 */
#include "imap_anomaly.h"

#include <stddef.h>

static const char *const anomaly_names[] = {
#define IMAP_ANOMALY_NAME(id, name, sev, sid, desc) name,
    IMAP_ANOMALY_TABLE(IMAP_ANOMALY_NAME)
#undef IMAP_ANOMALY_NAME
};

static const char *const anomaly_descriptions[] = {
#define IMAP_ANOMALY_DESC(id, name, sev, sid, desc) desc,
    IMAP_ANOMALY_TABLE(IMAP_ANOMALY_DESC)
#undef IMAP_ANOMALY_DESC
};

static const unsigned char anomaly_severities[] = {
#define IMAP_ANOMALY_SEV(id, name, sev, sid, desc) sev,
    IMAP_ANOMALY_TABLE(IMAP_ANOMALY_SEV)
#undef IMAP_ANOMALY_SEV
};

static const unsigned anomaly_sids[] = {
#define IMAP_ANOMALY_SID(id, name, sev, sid, desc) sid,
    IMAP_ANOMALY_TABLE(IMAP_ANOMALY_SID)
#undef IMAP_ANOMALY_SID
};

_Static_assert(sizeof anomaly_names / sizeof anomaly_names[0] == IMAP_ANOM__COUNT,
               "anomaly name table matches the enum");
_Static_assert(sizeof anomaly_descriptions / sizeof anomaly_descriptions[0] == IMAP_ANOM__COUNT,
               "anomaly description table matches the enum");

const char *imap_anomaly_name(imap_anomaly a)
{
    if ((unsigned)a >= IMAP_ANOM__COUNT)
        return "unknown";
    return anomaly_names[a];
}

const char *imap_anomaly_description(imap_anomaly a)
{
    if ((unsigned)a >= IMAP_ANOM__COUNT)
        return "unknown";
    return anomaly_descriptions[a];
}

int imap_anomaly_severity(imap_anomaly a)
{
    if ((unsigned)a >= IMAP_ANOM__COUNT)
        return 3;
    return anomaly_severities[a];
}

unsigned imap_anomaly_signature_id(imap_anomaly a)
{
    if ((unsigned)a >= IMAP_ANOM__COUNT)
        return 0;
    return anomaly_sids[a];
}
