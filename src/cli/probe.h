/* probe.h: live checks of what a configuration points at, for `config check` (private to the program). */
#ifndef GROUPBRIDGE_CLI_PROBE_H
#define GROUPBRIDGE_CLI_PROBE_H

#include "groupbridge/config.h"

/* Reports one result: check name, pass (non-zero) or fail, and a detail line without secrets. */
typedef void (*gb_probe_report)(const char *check, int ok, const char *detail);

/* Runs every probe the configuration allows (LDAP bind and schema when [directory] is present, a Graph token when
 * [graph] is) and reports each. Returns the number of failed probes. */
int gb_probe_all(const gb_config *cfg, gb_probe_report report);

#endif
