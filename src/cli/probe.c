/* probe.c: live checks for `config check`: an LDAP bind and the schema, and a Graph token. */
#include "cli/probe.h"

#include <stdio.h>

#include "groupbridge/directory.h"
#include "groupbridge/graph.h"

int gb_probe_all(const gb_config *cfg, gb_probe_report report)
{
	char detail[GB_ERROR_MSG_MAX + 256];
	gb_error err;
	int failed = 0, has_anchor = 0;

	if (cfg->directory.present) {
		gb_error_clear(&err);
		if (gb_directory_probe(cfg, detail, sizeof(detail), &has_anchor, &err) == 0) {
			report("ldap", 1, detail);
			if (has_anchor) {
				report("schema", 1, GB_DIRECTORY_ANCHOR_ATTR " is in the schema");
			} else {
				report("schema", 0,
				       GB_DIRECTORY_ANCHOR_ATTR " is not in the schema: the forest needs the Windows Server "
				       "2016 schema (or later) for Cloud Sync's anchor");
				failed++;
			}
		} else {
			report("ldap", 0, err.msg);
			report("schema", 0, "not checked: no LDAP connection");
			failed += 2;
		}
	}
	if (cfg->graph.present) {
		gb_error_clear(&err);
		if (gb_graph_probe(cfg, detail, sizeof(detail), &err) == 0) {
			report("graph", 1, detail);
		} else {
			report("graph", 0, err.msg);
			failed++;
		}
	}
	return failed;
}
