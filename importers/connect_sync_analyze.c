/* connect_sync_analyze.c: what the export says about group writeback: the settings, each rule's role in the
 * migration, and the findings a person reads first. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "groupbridge/util.h"

#include "connect_sync_int.h"

#define P_VERSION "Microsoft.Synchronize.ServerConfigurationVersion"
#define P_STAGING "Microsoft.Synchronize.StagingMode"
#define P_SCHED_SUSPENDED "Microsoft.Synchronize.SchedulerSuspended"
#define P_DEL_THRESHOLD "Microsoft.OptionalFeature.ExportDeletionThreshold"
#define P_DEL_THRESHOLD_VALUE "Microsoft.OptionalFeature.ExportDeletionThresholdValue"
#define P_GWB "Microsoft.OptionalFeature.GroupWriteBack"
#define P_GWB_FOREST "Microsoft.GroupWriteBack.Forest"
#define P_GWB_CONTAINER "Microsoft.GroupWriteBack.Container"
#define P_DIREXT "Microsoft.OptionalFeature.DirectoryExtension"
#define P_DIREXT_ATTRS "Microsoft.OptionalFeature.DirectoryExtensionAttributes"
#define P_DIREXT_MAP "Microsoft.DirectoryExtension.SourceTargetAttributesMap"

static bool istr_contains(const char *hay, const char *needle)
{
	size_t n, i;

	if (!hay || !needle)
		return false;
	n = strlen(needle);
	for (i = 0; hay[i]; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

static bool iends_with(const char *s, const char *suffix)
{
	size_t a, b;

	if (!s)
		return false;
	a = strlen(s);
	b = strlen(suffix);
	return a >= b && gb_str_iequal(s + a - b, suffix);
}

static bool ieq(const char *a, const char *b)
{
	return a && b && gb_str_iequal(a, b);
}

static gb_cs_tristate tristate_of(const gb_cs_params *ps, const char *name)
{
	const char *v = gb_cs_param_get(ps, name);
	bool b;

	if (!v || gb_parse_bool(v, &b) != 0)
		return GB_CS_UNKNOWN;
	return b ? GB_CS_YES : GB_CS_NO;
}

static int dup_param(const gb_cs_params *ps, const char *name, char **out)
{
	const char *v = gb_cs_param_get(ps, name);

	free(*out);
	*out = NULL;
	if (!v)
		return 0;
	*out = gb_strdup(v);
	return *out ? 0 : GB_ENOMEM;
}

/* ---- rules --------------------------------------------------------------------------------------------- */

static bool has_scope(const gb_cs_rule *r, const char *attr, const char *op, const char *value)
{
	size_t i, j;

	for (i = 0; i < r->scope_count; i++)
		for (j = 0; j < r->scope[i].count; j++) {
			const gb_cs_scope *s = &r->scope[i].items[j];
			if (ieq(s->attribute, attr) && ieq(s->op, op) && (!value || ieq(s->value, value)))
				return true;
		}
	return false;
}

static bool is_group_rule(const gb_cs_rule *r)
{
	return ieq(r->source_type, "group") || ieq(r->target_type, "group");
}

static unsigned classify(const gb_cs_rule *r)
{
	unsigned roles = 0;
	size_t i;
	bool inbound = ieq(r->direction, "Inbound"), outbound = ieq(r->direction, "Outbound");

	if (is_group_rule(r))
		roles |= GB_CS_ROLE_GROUP;
	for (i = 0; i < r->mapping_count; i++) {
		const gb_cs_mapping *m = &r->mappings[i];
		if (istr_contains(m->expression, "%Connector.GroupWriteBackContainerDn%") ||
		    istr_contains(m->constant, "%Connector.GroupWriteBackContainerDn%"))
			roles |= GB_CS_ROLE_WRITEBACK_DN;
		if (inbound && ieq(m->dest, "reasonFiltered") && istr_contains(m->expression, "DeleteThisGroupInAD"))
			roles |= GB_CS_ROLE_DELETE_OUT_OF_SCOPE;
		if (inbound && (roles & GB_CS_ROLE_GROUP) && ieq(r->link_type, "Join") && ieq(m->dest, "cloudNoFlow") &&
		    m->flow == GB_CS_FLOW_CONSTANT && ieq(m->constant, "true"))
			roles |= GB_CS_ROLE_COEX_INBOUND;
	}
	if (gb_cs_guid_equal(r->id, GB_CS_COEX_INBOUND_ID) || ieq(r->name, GB_CS_COEX_INBOUND_NAME))
		roles |= GB_CS_ROLE_COEX_INBOUND;
	if (gb_cs_guid_equal(r->id, GB_CS_COEX_OUTBOUND_ID) || ieq(r->name, GB_CS_COEX_OUTBOUND_NAME) ||
	    (outbound && (roles & GB_CS_ROLE_GROUP) && ieq(r->link_type, "JoinNoFlow") &&
	     has_scope(r, "cloudNoFlow", "EQUAL", "true")))
		roles |= GB_CS_ROLE_COEX_OUTBOUND;
	if (gb_cs_guid_equal(r->id, GB_CS_DELETE_RULE_ID) || ieq(r->name, GB_CS_DELETE_RULE_NAME))
		roles |= GB_CS_ROLE_DELETE_OUT_OF_SCOPE;
	if (!(roles & (GB_CS_ROLE_COEX_INBOUND | GB_CS_ROLE_COEX_OUTBOUND | GB_CS_ROLE_DELETE_OUT_OF_SCOPE))) {
		if (istr_contains(r->name, "Group SOAInAAD") || istr_contains(r->immutable_tag, "GroupSOAInAAD"))
			roles |= GB_CS_ROLE_SOAINAAD;
		if (!r->immutable_tag && (roles & GB_CS_ROLE_GROUP))
			roles |= GB_CS_ROLE_CUSTOM_GROUP;
	}
	if (ieq(r->name, "Out to AD - Group Writeback Member Limit") ||
	    istr_contains(r->immutable_tag, "GroupWritebackMemberLimit"))
		roles |= GB_CS_ROLE_MEMBER_LIMIT;
	if (ieq(r->name, "In from AD - Group Join") ||
	    gb_str_ihas_prefix(r->immutable_tag ? r->immutable_tag : "", "Microsoft.InfromADGroupJoin."))
		roles |= GB_CS_ROLE_GROUP_JOIN;
	return roles;
}

/* ---- distinguished names ------------------------------------------------------------------------------- */

/* Lower case, no spaces around ',' and '=' (outside escapes): enough to compare DNs typed by people. */
static void dn_norm(const char *dn, char *out, size_t n)
{
	size_t o = 0;
	const char *p;

	for (p = dn; *p && o + 1 < n; p++) {
		char ch = *p;
		if (ch == '\\' && p[1]) {
			out[o++] = ch;
			if (o + 1 < n)
				out[o++] = *++p;
			continue;
		}
		if (ch == ' ' && (o == 0 || out[o - 1] == ',' || out[o - 1] == '=' || p[1] == ',' || p[1] == '=' ||
		                  p[1] == ' ' || p[1] == '\0'))
			continue;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		out[o++] = ch;
	}
	out[o] = '\0';
}

/* Length of ancestor when dn (both normalised) is ancestor itself or below it; 0 otherwise. */
static size_t under(const char *dn, const char *anc)
{
	size_t a = strlen(dn), b = strlen(anc);

	if (b == 0 || a < b || strcmp(dn + a - b, anc) != 0)
		return 0;
	if (a == b)
		return b;
	if (dn[a - b - 1] != ',' || (a - b >= 2 && dn[a - b - 2] == '\\'))
		return 0;
	return b;
}

bool gb_cs_dn_in_scope(const gb_cs_partition *p, const char *dn)
{
	char nd[2048], na[2048];
	size_t i, best = 0, len;
	bool included = false;

	if (!p || !dn || !*dn)
		return false;
	dn_norm(dn, nd, sizeof(nd));
	for (i = 0; i < p->inclusions.count; i++) {
		dn_norm(p->inclusions.items[i], na, sizeof(na));
		len = under(nd, na);
		if (len > best) {
			best = len;
			included = true;
		}
	}
	for (i = 0; i < p->exclusions.count; i++) {
		dn_norm(p->exclusions.items[i], na, sizeof(na));
		len = under(nd, na);
		if (len >= best && len > 0) {
			best = len;
			included = false;
		}
	}
	return included;
}

static bool dn_equal(const char *a, const char *b)
{
	char x[2048], y[2048];

	if (!a || !b)
		return false;
	dn_norm(a, x, sizeof(x));
	dn_norm(b, y, sizeof(y));
	return strcmp(x, y) == 0;
}

/* ---- directory extensions ------------------------------------------------------------------------------ */

static char *field(const char *s, size_t n)
{
	while (n > 0 && (*s == ' '))
		s++, n--;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	return gb_strndup(s, n);
}

static int read_extensions(gb_cs_export *exp)
{
	const char *attrs = gb_cs_param_get(&exp->global_params, P_DIREXT_ATTRS);
	const char *map = gb_cs_param_get(&exp->global_params, P_DIREXT_MAP);
	const char *p, *end;

	gb_cs_extensions_clear(exp);
	for (p = attrs; p && *p; p = *end ? end + 1 : end) {
		const char *dots[3] = {NULL, NULL, NULL}, *q;
		gb_cs_extension *e, *n;
		int k = 0;

		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		for (q = p; q < end && k < 3; q++)
			if (*q == '.')
				dots[k++] = q;
		if (end == p)
			continue;
		n = gb_cs_grow(exp->extensions, exp->extension_count, sizeof(*n));
		if (!n)
			return GB_ENOMEM;
		exp->extensions = n;
		e = &n[exp->extension_count++];
		e->source = field(p, (size_t)((dots[0] ? dots[0] : end) - p));
		if (dots[0])
			e->object_class = field(dots[0] + 1, (size_t)((dots[1] ? dots[1] : end) - dots[0] - 1));
		if (dots[1])
			e->type = field(dots[1] + 1, (size_t)((dots[2] ? dots[2] : end) - dots[1] - 1));
		if (dots[2])
			e->flag = field(dots[2] + 1, (size_t)(end - dots[2] - 1));
		if (!e->source || (dots[0] && !e->object_class) || (dots[1] && !e->type) || (dots[2] && !e->flag))
			return GB_ENOMEM;
	}
	/* the map names the cloud attribute: "<adAttr>.extension_<app>_<adAttr>" */
	for (p = map; p && *p; p = *end ? end + 1 : end) {
		const char *dot;
		size_t i;
		bool matched = false;

		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		dot = memchr(p, '.', (size_t)(end - p));
		if (!dot)
			continue;
		for (i = 0; i < exp->extension_count; i++) {
			gb_cs_extension *e = &exp->extensions[i];
			if (!e->target && strlen(e->source) == (size_t)(dot - p) &&
			    strncasecmp(e->source, p, (size_t)(dot - p)) == 0) {
				e->target = field(dot + 1, (size_t)(end - dot - 1));
				if (!e->target)
					return GB_ENOMEM;
				matched = true;
			}
		}
		if (!matched) {
			gb_cs_extension *n = gb_cs_grow(exp->extensions, exp->extension_count, sizeof(*n));
			if (!n)
				return GB_ENOMEM;
			exp->extensions = n;
			n[exp->extension_count].source = field(p, (size_t)(dot - p));
			n[exp->extension_count].target = field(dot + 1, (size_t)(end - dot - 1));
			exp->extension_count++;
			if (!n[exp->extension_count - 1].source || !n[exp->extension_count - 1].target)
				return GB_ENOMEM;
		}
	}
	for (size_t i = 0; i < exp->extension_count; i++) {
		gb_cs_extension *e = &exp->extensions[i];
		bool group = !e->object_class || ieq(e->object_class, "group");

		if (group && (ieq(e->source, "distinguishedName") || iends_with(e->target, "_GroupDN")))
			e->group_dn = "likely";
		else if (e->object_class && ieq(e->object_class, "group") && (!e->type || ieq(e->type, "String")))
			e->group_dn = "possible";
		else
			e->group_dn = "no";
	}
	return 0;
}

/* ---- findings ------------------------------------------------------------------------------------------ */

static int add(gb_cs_export *exp, gb_cs_severity sev, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int add(gb_cs_export *exp, gb_cs_severity sev, const char *code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	gb_cs_finding *n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = gb_cs_grow(exp->findings, exp->finding_count, sizeof(*n));
	if (!n)
		return GB_ENOMEM;
	exp->findings = n;
	n[exp->finding_count].severity = sev;
	n[exp->finding_count].code = gb_strdup(code);
	n[exp->finding_count].message = gb_strdup(msg);
	exp->finding_count++;
	if (!n[exp->finding_count - 1].code || !n[exp->finding_count - 1].message)
		return GB_ENOMEM;
	return 0;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "(not set)";
}

static const gb_cs_connector *writeback_connector(const gb_cs_export *exp)
{
	const gb_cs_connector *only = NULL, *with_container = NULL;
	size_t i, ads = 0;

	for (i = 0; i < exp->connector_count; i++) {
		const gb_cs_connector *c = &exp->connectors[i];
		if (c->kind != GB_CS_CONNECTOR_AD)
			continue;
		ads++;
		only = c;
		if (c->writeback_container && !with_container)
			with_container = c;
		if (exp->writeback_forest &&
		    (ieq(c->name, exp->writeback_forest) || ieq(c->forest, exp->writeback_forest)))
			return c;
	}
	if (exp->writeback_forest)
		return NULL;
	if (with_container)
		return with_container;
	return ads == 1 ? only : NULL;
}

static gb_cs_tristate ou_in_scope(const gb_cs_connector *c, const char *ou)
{
	size_t i;
	char nd[2048], np[2048];

	if (!c || !ou)
		return GB_CS_UNKNOWN;
	dn_norm(ou, nd, sizeof(nd));
	for (i = 0; i < c->partition_count; i++) {
		const gb_cs_partition *p = &c->partitions[i];
		if (!p->name)
			continue;
		dn_norm(p->name, np, sizeof(np));
		if (!under(nd, np))
			continue;
		return p->selected && gb_cs_dn_in_scope(p, ou) ? GB_CS_YES : GB_CS_NO;
	}
	return GB_CS_NO; /* no partition of the connector holds the OU */
}

/* The OU the migration works on: the configuration's override, else the connector's parameter (what the rules
 * use), else MV.xml's. */
static const char *effective_ou(const gb_cs_export *exp)
{
	if (exp->writeback_ou_override)
		return exp->writeback_ou_override;
	return exp->writeback_connector_container ? exp->writeback_connector_container : exp->writeback_container;
}

static const char *rule_label(const gb_cs_rule *r)
{
	return r->name ? r->name : r->id ? r->id : "(unnamed rule)";
}

static int findings(gb_cs_export *exp)
{
	const gb_cs_connector *wc = writeback_connector(exp);
	const gb_cs_rule *coex_in = NULL, *coex_out = NULL, *del = NULL, *join = NULL;
	size_t i, soa_enabled = 0, soa_total = 0;
	const char *ou;
	int rc = 0;

	for (i = 0; i < exp->rule_count; i++) {
		const gb_cs_rule *r = &exp->rules[i];
		if ((r->roles & GB_CS_ROLE_COEX_INBOUND) && (!coex_in || coex_in->disabled))
			coex_in = r;
		if ((r->roles & GB_CS_ROLE_COEX_OUTBOUND) && (!coex_out || coex_out->disabled))
			coex_out = r;
		if ((r->roles & GB_CS_ROLE_DELETE_OUT_OF_SCOPE) && (!del || del->disabled))
			del = r;
		if ((r->roles & GB_CS_ROLE_GROUP_JOIN) && !join)
			join = r;
		if (r->roles & GB_CS_ROLE_SOAINAAD) {
			soa_total++;
			if (!r->disabled)
				soa_enabled++;
		}
	}

	/* writeback on or off */
	if (exp->writeback_enabled)
		rc = add(exp, GB_CS_INFO, "writeback.enabled",
		         "group writeback is enabled: Connect Sync writes cloud groups to %s in forest %s",
		         or_dash(exp->writeback_connector_container ? exp->writeback_connector_container
		                                                    : exp->writeback_container),
		         or_dash(exp->writeback_forest ? exp->writeback_forest
		                 : wc                  ? wc->name
		                                       : NULL));
	else
		rc = add(exp, GB_CS_INFO, "writeback.disabled",
		         "group writeback is not enabled in this export, so Connect Sync writes no groups to Active "
		         "Directory and there are no written-back groups to hand over");
	if (!rc && exp->writeback_flag == GB_CS_NO && soa_enabled > 0)
		rc = add(
		    exp, GB_CS_WARNING, "writeback.flag-mismatch",
		    "the group writeback feature flag is off, yet %zu enabled SOAInAAD rules still write groups back",
		    soa_enabled);
	if (!rc && exp->writeback_flag == GB_CS_YES && soa_total == 0)
		rc = add(exp, GB_CS_WARNING, "writeback.rules-missing",
		         "the group writeback feature flag is on, but the export holds no Group SOAInAAD rules");
	if (!rc && exp->writeback_container && exp->writeback_connector_container &&
	    !dn_equal(exp->writeback_container, exp->writeback_connector_container))
		rc = add(exp, GB_CS_WARNING, "writeback.container-mismatch",
		         "the writeback container differs between MV.xml (%s) and the AD connector's "
		         "Connector.GroupWriteBackContainerDn (%s); the connector's value is the one the rules use",
		         exp->writeback_container, exp->writeback_connector_container);
	if (!rc && exp->writeback_enabled && !wc)
		rc = add(exp, GB_CS_WARNING, "writeback.forest-unknown",
		         "group writeback is enabled, but no AD connector matches the writeback forest %s",
		         or_dash(exp->writeback_forest));
	ou = effective_ou(exp);
	if (!rc && exp->writeback_ou_override) {
		const char *found =
		    exp->writeback_connector_container ? exp->writeback_connector_container : exp->writeback_container;
		if (found && !dn_equal(found, exp->writeback_ou_override))
			rc = add(exp, GB_CS_WARNING, "writeback.ou-override",
			         "the configuration's [migration] writeback_ou (%s) overrides the export's writeback "
			         "container (%s); the migration uses the configuration's",
			         exp->writeback_ou_override, found);
		else if (!found)
			rc = add(
			    exp, GB_CS_INFO, "writeback.ou-override",
			    "the writeback OU %s comes from the configuration's [migration] writeback_ou; the export "
			    "names none",
			    exp->writeback_ou_override);
	}
	if (!rc && ou && exp->writeback_ou_in_scope == GB_CS_YES)
		rc = add(exp, GB_CS_INFO, "writeback.ou-in-scope",
		         "the writeback OU %s is inside the included containers of connector %s", ou,
		         or_dash(wc ? wc->name : NULL));
	else if (!rc && ou && exp->writeback_ou_in_scope == GB_CS_NO)
		rc = add(exp, GB_CS_WARNING, "writeback.ou-out-of-scope",
		         "the writeback OU %s is outside the included containers of connector %s, so Connect Sync "
		         "cannot see or manage the groups it writes there",
		         ou, or_dash(wc ? wc->name : NULL));
	else if (!rc && exp->writeback_enabled && !ou)
		rc = add(exp, GB_CS_WARNING, "writeback.ou-unknown",
		         "group writeback is enabled, but the export names no writeback container; set "
		         "[migration] writeback_ou in the configuration");

	/* coexistence rules (migration steps 3 and 4) */
	if (!rc) {
		bool in_ok = coex_in && !coex_in->disabled, out_ok = coex_out && !coex_out->disabled;
		if (in_ok && out_ok)
			rc = add(
			    exp, GB_CS_INFO, "coexistence.present",
			    "both coexistence rules (%s, %s) are present and enabled, so the Connect Sync side of the "
			    "hand-over is done",
			    rule_label(coex_in), rule_label(coex_out));
		else if (in_ok || out_ok)
			rc = add(
			    exp, GB_CS_DANGER, "coexistence.partial",
			    "only one coexistence rule is in force (%s; the %s rule %s), and disabling writeback with "
			    "one rule alone still deletes the written-back groups",
			    rule_label(in_ok ? coex_in : coex_out),
			    in_ok ? "outbound JoinNoFlow" : "inbound cloudNoFlow",
			    (in_ok ? coex_out : coex_in) ? "is disabled" : "is missing");
		else if (!exp->writeback_enabled && !coex_in && !coex_out)
			rc =
			    add(exp, GB_CS_INFO, "coexistence.missing",
			        "the coexistence rules (%s, %s) are not present; none are needed while group writeback "
			        "is off",
			        GB_CS_COEX_INBOUND_ID, GB_CS_COEX_OUTBOUND_ID);
		else
			rc = add(
			    exp, exp->writeback_enabled ? GB_CS_WARNING : GB_CS_INFO, "coexistence.missing",
			    "the coexistence rules (inbound cloudNoFlow %s, outbound JoinNoFlow %s) are %s; they must "
			    "be in place before group writeback is disabled, or Connect Sync deletes the groups it "
			    "wrote",
			    GB_CS_COEX_INBOUND_ID, GB_CS_COEX_OUTBOUND_ID,
			    (coex_in || coex_out) ? "present but disabled" : "not present");
	}
	if (!rc && del && !del->disabled)
		rc = add(exp, GB_CS_DANGER, "delete-rule.present",
		         "DANGER: rule %s deletes AD groups that leave writeback scope, so disabling writeback would "
		         "delete the written-back groups in Active Directory",
		         rule_label(del));
	else if (!rc && del)
		rc = add(exp, GB_CS_WARNING, "delete-rule.disabled",
		         "rule %s, which deletes AD groups that leave writeback scope, is present but disabled; "
		         "keep it disabled or delete it before the migration",
		         rule_label(del));

	/* the export's own state */
	if (!rc) {
		if (exp->staging_mode == GB_CS_YES)
			rc =
			    add(exp, GB_CS_INFO, "staging.on",
			        "staging mode is on (per %s): this server imports and synchronises but exports nothing",
			        or_dash(exp->staging_mode_source));
		else if (exp->staging_mode == GB_CS_NO)
			rc = add(exp, GB_CS_INFO, "staging.off",
			         "staging mode is off (per %s): this server exports to Active Directory and Entra ID",
			         or_dash(exp->staging_mode_source));
		else
			rc = add(exp, GB_CS_WARNING, "staging.unknown",
			         "the export does not say whether staging mode is on; check with Get-ADSyncScheduler");
	}
	if (!rc && exp->scheduler_suspended == GB_CS_YES)
		rc = add(exp, GB_CS_INFO, "scheduler.suspended", "the sync scheduler is suspended on this server");
	if (!rc && exp->delete_threshold_enabled == GB_CS_NO)
		rc = add(exp, GB_CS_WARNING, "delete-threshold.disabled",
		         "the accidental-delete threshold is disabled, so nothing stops a large deletion from being "
		         "exported");
	if (!rc && join && !has_scope(join, "adminDescription", "NOTSTARTSWITH", "Group_"))
		rc = add(exp, GB_CS_WARNING, "group-join.filter-missing",
		         "rule %s lacks the scope adminDescription NOTSTARTSWITH Group_, so written-back groups can be "
		         "synchronised back to Entra ID as new groups",
		         rule_label(join));
	else if (!rc && !join && exp->rule_count > 0)
		rc = add(exp, GB_CS_WARNING, "group-join.missing",
		         "the standard rule In from AD - Group Join is not in the export");

	for (i = 0; !rc && i < exp->rule_count; i++) {
		const gb_cs_rule *r = &exp->rules[i];
		if (r->roles & GB_CS_ROLE_CUSTOM_GROUP)
			rc =
			    add(exp, GB_CS_WARNING, "custom-rule",
			        "custom rule %s (%s, %s, precedence %ld%s) acts on groups; the migration must consider "
			        "what it does",
			        rule_label(r), or_dash(r->direction), or_dash(r->link_type), r->precedence,
			        r->disabled ? ", disabled" : "");
	}
	for (i = 0; !rc && i < exp->extension_count; i++) {
		const gb_cs_extension *e = &exp->extensions[i];
		if (strcmp(e->group_dn, "no") != 0)
			rc = add(
			    exp, GB_CS_INFO, "dirext.group-dn",
			    "directory extension %s (from %s on %s) %s carry a group's distinguished name; consider it "
			    "for [provisioning] group_dn_extension",
			    or_dash(e->target), or_dash(e->source), or_dash(e->object_class),
			    strcmp(e->group_dn, "likely") == 0 ? "likely can" : "could");
	}
	for (i = 0; !rc && i < exp->connector_count; i++) {
		const gb_cs_connector *c = &exp->connectors[i];
		for (size_t j = 0; !rc && j < c->extension_attributes.count; j++)
			if (iends_with(c->extension_attributes.items[j], "_GroupDN"))
				rc =
				    add(exp, GB_CS_INFO, "dirext.group-dn",
				        "connector %s knows the extension attribute %s, which likely carries a group's "
				        "distinguished name",
				        or_dash(c->name), c->extension_attributes.items[j]);
	}
	return rc;
}

static void sort_findings(gb_cs_export *exp)
{
	size_t i, j;

	for (i = 1; i < exp->finding_count; i++) {
		gb_cs_finding f = exp->findings[i];
		for (j = i; j > 0 && exp->findings[j - 1].severity < f.severity; j--)
			exp->findings[j] = exp->findings[j - 1];
		exp->findings[j] = f;
	}
}

int gb_cs_analyze(gb_cs_export *exp, gb_error *err)
{
	const gb_cs_params *g = &exp->global_params;
	const gb_cs_connector *wc;
	const char *v;
	long n;
	size_t i;
	int rc;

	gb_cs_findings_clear(exp);
	if (dup_param(g, P_VERSION, &exp->version) || dup_param(g, P_GWB_FOREST, &exp->writeback_forest) ||
	    dup_param(g, P_GWB_CONTAINER, &exp->writeback_container))
		return gb_error_set(err, GB_ENOMEM, "analysing the export: out of memory");
	exp->staging_mode = tristate_of(g, P_STAGING);
	exp->staging_mode_source = exp->staging_mode != GB_CS_UNKNOWN ? "MV.xml" : NULL;
	if (exp->staging_mode == GB_CS_UNKNOWN) {
		/* PersistedState.xml's layout is not documented: accept any key naming staging mode */
		for (i = 0; i < exp->persisted.count; i++) {
			bool b;
			if (istr_contains(exp->persisted.items[i].name, "StagingMode") &&
			    exp->persisted.items[i].value && gb_parse_bool(exp->persisted.items[i].value, &b) == 0) {
				exp->staging_mode = b ? GB_CS_YES : GB_CS_NO;
				exp->staging_mode_source = "PersistedState.xml";
				break;
			}
		}
	}
	exp->scheduler_suspended = tristate_of(g, P_SCHED_SUSPENDED);
	exp->delete_threshold_enabled = tristate_of(g, P_DEL_THRESHOLD);
	v = gb_cs_param_get(g, P_DEL_THRESHOLD_VALUE);
	exp->delete_threshold = v && gb_parse_long(v, 0, 1000000000L, &n) == 0 ? n : -1;
	exp->writeback_flag = tristate_of(g, P_GWB);
	exp->dirext_enabled = tristate_of(g, P_DIREXT);

	exp->group_join_filter = false;
	exp->writeback_enabled = exp->writeback_flag == GB_CS_YES;
	for (i = 0; i < exp->rule_count; i++) {
		gb_cs_rule *r = &exp->rules[i];
		const gb_cs_connector *c = gb_cs_find_connector(exp, r->connector);

		r->roles = classify(r);
		r->detailed = r->roles != 0;
		if ((r->roles & GB_CS_ROLE_GROUP_JOIN) && has_scope(r, "adminDescription", "NOTSTARTSWITH", "Group_"))
			exp->group_join_filter = true;
		if ((r->roles & GB_CS_ROLE_SOAINAAD) && !r->disabled && ieq(r->direction, "Outbound") &&
		    ieq(r->link_type, "Provision") && (!c || c->kind == GB_CS_CONNECTOR_AD))
			exp->writeback_enabled = true;
	}
	wc = writeback_connector(exp);
	free(exp->writeback_connector_container);
	exp->writeback_connector_container = NULL;
	if (wc && wc->writeback_container && !(exp->writeback_connector_container = gb_strdup(wc->writeback_container)))
		return gb_error_set(err, GB_ENOMEM, "analysing the export: out of memory");
	exp->writeback_ou_in_scope = ou_in_scope(wc, effective_ou(exp));
	rc = read_extensions(exp);
	if (!rc)
		rc = findings(exp);
	if (rc)
		return gb_error_set(err, GB_ENOMEM, "analysing the export: out of memory");
	sort_findings(exp);
	return 0;
}

/* ---- provenance -------------------------------------------------------------------------------------------- */

static const char *const sources[][2] = {
    {"server", "GlobalSettings/MV.xml: saved-mv-configuration/@server"},
    {"export_date", "GlobalSettings/MV.xml: saved-mv-configuration/@export-date"},
    {"version", "GlobalSettings/MV.xml: parameter " P_VERSION},
    {"staging_mode",
     "GlobalSettings/MV.xml: parameter " P_STAGING "; when absent, PersistedState.xml: a key naming StagingMode"},
    {"scheduler_suspended", "GlobalSettings/MV.xml: parameter " P_SCHED_SUSPENDED},
    {"delete_threshold.enabled", "GlobalSettings/MV.xml: parameter " P_DEL_THRESHOLD},
    {"delete_threshold.value", "GlobalSettings/MV.xml: parameter " P_DEL_THRESHOLD_VALUE},
    {"writeback.flag", "GlobalSettings/MV.xml: parameter " P_GWB},
    {"writeback.enabled", "the flag, or an enabled outbound Provision rule of the Group SOAInAAD family on an AD "
                          "connector"},
    {"writeback.forest", "GlobalSettings/MV.xml: parameter " P_GWB_FOREST},
    {"writeback.container", "GlobalSettings/MV.xml: parameter " P_GWB_CONTAINER},
    {"writeback.connector_container",
     "Connectors/<the writeback forest's AD connector>: private-configuration/adma-configuration/parameter-values/"
     "parameter Connector.GroupWriteBackContainerDn"},
    {"writeback.ou_in_scope", "Connectors/<the writeback forest's AD connector>: ma-partition-data/partition/"
                              "filter/containers (the closest listed container decides)"},
    {"writeback.group_join_filter", "SynchronizationRules/<In from AD - Group Join>: synchronizationCriteria"},
    {"directory_extensions", "GlobalSettings/MV.xml: parameters " P_DIREXT ", " P_DIREXT_ATTRS ", " P_DIREXT_MAP},
};

const char *const gb_cs_source_fields[] = {
    "server",
    "export_date",
    "version",
    "staging_mode",
    "scheduler_suspended",
    "delete_threshold.enabled",
    "delete_threshold.value",
    "writeback.flag",
    "writeback.enabled",
    "writeback.forest",
    "writeback.container",
    "writeback.connector_container",
    "writeback.ou_in_scope",
    "writeback.group_join_filter",
    "directory_extensions",
    NULL,
};

const char *gb_cs_source_of(const char *field)
{
	size_t i;

	for (i = 0; field && i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(sources[i][0], field) == 0)
			return sources[i][1];
	return NULL;
}
