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

/* What several checks look at, worked out once from the analysed export. */
typedef struct facts {
	const gb_cs_connector *wc; /* the writeback forest's AD connector, NULL when unknown */
	const gb_cs_rule *coex_in, *coex_out, *del, *join;
	size_t soa_enabled, soa_total;
	const char *ou; /* effective_ou() */
} facts;

static void gather_facts(const gb_cs_export *exp, facts *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->wc = writeback_connector(exp);
	f->ou = effective_ou(exp);
	for (i = 0; i < exp->rule_count; i++) {
		const gb_cs_rule *r = &exp->rules[i];
		if ((r->roles & GB_CS_ROLE_COEX_INBOUND) && (!f->coex_in || f->coex_in->disabled))
			f->coex_in = r;
		if ((r->roles & GB_CS_ROLE_COEX_OUTBOUND) && (!f->coex_out || f->coex_out->disabled))
			f->coex_out = r;
		if ((r->roles & GB_CS_ROLE_DELETE_OUT_OF_SCOPE) && (!f->del || f->del->disabled))
			f->del = r;
		if ((r->roles & GB_CS_ROLE_GROUP_JOIN) && !f->join)
			f->join = r;
		if (r->roles & GB_CS_ROLE_SOAINAAD) {
			f->soa_total++;
			if (!r->disabled)
				f->soa_enabled++;
		}
	}
}

/* A check adds the finding code when what it looks for is there (0), or nothing (0); GB_ENOMEM. Each code has one
 * check, and the checks of one family (writeback.ou-*, staging.*) look at mutually exclusive conditions. */
typedef int (*check_fn)(gb_cs_export *exp, const facts *f, const char *code);

static const char *writeback_container_used(const gb_cs_export *exp)
{
	return exp->writeback_connector_container ? exp->writeback_connector_container : exp->writeback_container;
}

static int check_writeback_enabled(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!exp->writeback_enabled)
		return 0;
	return add(exp, GB_CS_INFO, code,
	           "group writeback is enabled: Connect Sync writes cloud groups to %s in forest %s",
	           or_dash(writeback_container_used(exp)),
	           or_dash(exp->writeback_forest ? exp->writeback_forest : f->wc ? f->wc->name : NULL));
}

static int check_writeback_disabled(gb_cs_export *exp, const facts *f, const char *code)
{
	(void)f;
	if (exp->writeback_enabled)
		return 0;
	return add(exp, GB_CS_INFO, code,
	           "group writeback is not enabled in this export, so Connect Sync writes no groups to Active "
	           "Directory and there are no written-back groups to hand over");
}

static int check_flag_mismatch(gb_cs_export *exp, const facts *f, const char *code)
{
	if (exp->writeback_flag != GB_CS_NO || f->soa_enabled == 0)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "the group writeback feature flag is off, yet %zu enabled SOAInAAD rules still write groups back",
	           f->soa_enabled);
}

static int check_rules_missing(gb_cs_export *exp, const facts *f, const char *code)
{
	if (exp->writeback_flag != GB_CS_YES || f->soa_total != 0)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "the group writeback feature flag is on, but the export holds no Group SOAInAAD rules");
}

static int check_container_mismatch(gb_cs_export *exp, const facts *f, const char *code)
{
	(void)f;
	if (!exp->writeback_container || !exp->writeback_connector_container ||
	    dn_equal(exp->writeback_container, exp->writeback_connector_container))
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "the writeback container differs between MV.xml (%s) and the AD connector's "
	           "Connector.GroupWriteBackContainerDn (%s); the connector's value is the one the rules use",
	           exp->writeback_container, exp->writeback_connector_container);
}

static int check_forest_unknown(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!exp->writeback_enabled || f->wc)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "group writeback is enabled, but no AD connector matches the writeback forest %s",
	           or_dash(exp->writeback_forest));
}

static int check_ou_override(gb_cs_export *exp, const facts *f, const char *code)
{
	const char *found = writeback_container_used(exp);

	(void)f;
	if (!exp->writeback_ou_override)
		return 0;
	if (found && !dn_equal(found, exp->writeback_ou_override))
		return add(exp, GB_CS_WARNING, code,
		           "the configuration's [migration] writeback_ou (%s) overrides the export's writeback "
		           "container (%s); the migration uses the configuration's",
		           exp->writeback_ou_override, found);
	if (!found)
		return add(exp, GB_CS_INFO, code,
		           "the writeback OU %s comes from the configuration's [migration] writeback_ou; the export "
		           "names none",
		           exp->writeback_ou_override);
	return 0;
}

static int check_ou_in_scope(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!f->ou || exp->writeback_ou_in_scope != GB_CS_YES)
		return 0;
	return add(exp, GB_CS_INFO, code, "the writeback OU %s is inside the included containers of connector %s",
	           f->ou, or_dash(f->wc ? f->wc->name : NULL));
}

static int check_ou_out_of_scope(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!f->ou || exp->writeback_ou_in_scope != GB_CS_NO)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "the writeback OU %s is outside the included containers of connector %s, so Connect Sync "
	           "cannot see or manage the groups it writes there",
	           f->ou, or_dash(f->wc ? f->wc->name : NULL));
}

static int check_ou_unknown(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!exp->writeback_enabled || f->ou)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "group writeback is enabled, but the export names no writeback container; set "
	           "[migration] writeback_ou in the configuration");
}

/* coexistence rules (migration steps 3 and 4) */
static bool in_force(const gb_cs_rule *r)
{
	return r && !r->disabled;
}

static int check_coexistence_present(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!in_force(f->coex_in) || !in_force(f->coex_out))
		return 0;
	return add(exp, GB_CS_INFO, code,
	           "both coexistence rules (%s, %s) are present and enabled, so the Connect Sync side of the "
	           "hand-over is done",
	           rule_label(f->coex_in), rule_label(f->coex_out));
}

static int check_coexistence_partial(gb_cs_export *exp, const facts *f, const char *code)
{
	bool in_ok = in_force(f->coex_in), out_ok = in_force(f->coex_out);

	if (in_ok == out_ok)
		return 0;
	return add(exp, GB_CS_DANGER, code,
	           "only one coexistence rule is in force (%s; the %s rule %s), and disabling writeback with "
	           "one rule alone still deletes the written-back groups",
	           rule_label(in_ok ? f->coex_in : f->coex_out), in_ok ? "outbound JoinNoFlow" : "inbound cloudNoFlow",
	           (in_ok ? f->coex_out : f->coex_in) ? "is disabled" : "is missing");
}

static int check_coexistence_missing(gb_cs_export *exp, const facts *f, const char *code)
{
	if (in_force(f->coex_in) || in_force(f->coex_out))
		return 0;
	if (!exp->writeback_enabled && !f->coex_in && !f->coex_out)
		return add(exp, GB_CS_INFO, code,
		           "the coexistence rules (%s, %s) are not present; none are needed while group writeback "
		           "is off",
		           GB_CS_COEX_INBOUND_ID, GB_CS_COEX_OUTBOUND_ID);
	return add(exp, exp->writeback_enabled ? GB_CS_WARNING : GB_CS_INFO, code,
	           "the coexistence rules (inbound cloudNoFlow %s, outbound JoinNoFlow %s) are %s; they must "
	           "be in place before group writeback is disabled, or Connect Sync deletes the groups it "
	           "wrote",
	           GB_CS_COEX_INBOUND_ID, GB_CS_COEX_OUTBOUND_ID,
	           (f->coex_in || f->coex_out) ? "present but disabled" : "not present");
}

static int check_delete_rule_present(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!in_force(f->del))
		return 0;
	return add(exp, GB_CS_DANGER, code,
	           "DANGER: rule %s deletes AD groups that leave writeback scope, so disabling writeback would "
	           "delete the written-back groups in Active Directory",
	           rule_label(f->del));
}

static int check_delete_rule_disabled(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!f->del || !f->del->disabled)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "rule %s, which deletes AD groups that leave writeback scope, is present but disabled; "
	           "keep it disabled or delete it before the migration",
	           rule_label(f->del));
}

/* the export's own state */
static int check_staging_on(gb_cs_export *exp, const facts *f, const char *code)
{
	(void)f;
	if (exp->staging_mode != GB_CS_YES)
		return 0;
	return add(exp, GB_CS_INFO, code,
	           "staging mode is on (per %s): this server imports and synchronises but exports nothing",
	           or_dash(exp->staging_mode_source));
}

static int check_staging_off(gb_cs_export *exp, const facts *f, const char *code)
{
	(void)f;
	if (exp->staging_mode != GB_CS_NO)
		return 0;
	return add(exp, GB_CS_INFO, code,
	           "staging mode is off (per %s): this server exports to Active Directory and Entra ID",
	           or_dash(exp->staging_mode_source));
}

static int check_staging_unknown(gb_cs_export *exp, const facts *f, const char *code)
{
	(void)f;
	if (exp->staging_mode == GB_CS_YES || exp->staging_mode == GB_CS_NO)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "the export does not say whether staging mode is on; check with Get-ADSyncScheduler");
}

static int check_scheduler_suspended(gb_cs_export *exp, const facts *f, const char *code)
{
	(void)f;
	if (exp->scheduler_suspended != GB_CS_YES)
		return 0;
	return add(exp, GB_CS_INFO, code, "the sync scheduler is suspended on this server");
}

static int check_delete_threshold_disabled(gb_cs_export *exp, const facts *f, const char *code)
{
	(void)f;
	if (exp->delete_threshold_enabled != GB_CS_NO)
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "the accidental-delete threshold is disabled, so nothing stops a large deletion from being "
	           "exported");
}

static int check_group_join_filter(gb_cs_export *exp, const facts *f, const char *code)
{
	if (!f->join || has_scope(f->join, "adminDescription", "NOTSTARTSWITH", "Group_"))
		return 0;
	return add(exp, GB_CS_WARNING, code,
	           "rule %s lacks the scope adminDescription NOTSTARTSWITH Group_, so written-back groups can be "
	           "synchronised back to Entra ID as new groups",
	           rule_label(f->join));
}

static int check_group_join_missing(gb_cs_export *exp, const facts *f, const char *code)
{
	if (f->join || exp->rule_count == 0)
		return 0;
	return add(exp, GB_CS_WARNING, code, "the standard rule In from AD - Group Join is not in the export");
}

static int check_custom_rules(gb_cs_export *exp, const facts *f, const char *code)
{
	size_t i;
	int rc = 0;

	(void)f;
	for (i = 0; !rc && i < exp->rule_count; i++) {
		const gb_cs_rule *r = &exp->rules[i];
		if (r->roles & GB_CS_ROLE_CUSTOM_GROUP)
			rc = add(exp, GB_CS_WARNING, code,
			         "custom rule %s (%s, %s, precedence %ld%s) acts on groups; the migration must consider "
			         "what it does",
			         rule_label(r), or_dash(r->direction), or_dash(r->link_type), r->precedence,
			         r->disabled ? ", disabled" : "");
	}
	return rc;
}

static int check_group_dn_extensions(gb_cs_export *exp, const facts *f, const char *code)
{
	size_t i, j;
	int rc = 0;

	(void)f;
	for (i = 0; !rc && i < exp->extension_count; i++) {
		const gb_cs_extension *e = &exp->extensions[i];
		if (e->group_dn && strcmp(e->group_dn, "no") != 0)
			rc = add(exp, GB_CS_INFO, code,
			         "directory extension %s (from %s on %s) %s carry a group's distinguished name; consider it "
			         "for [provisioning] group_dn_extension",
			         or_dash(e->target), or_dash(e->source), or_dash(e->object_class),
			         strcmp(e->group_dn, "likely") == 0 ? "likely can" : "could");
	}
	for (i = 0; !rc && i < exp->connector_count; i++) {
		const gb_cs_connector *c = &exp->connectors[i];
		for (j = 0; !rc && j < c->extension_attributes.count; j++)
			if (iends_with(c->extension_attributes.items[j], "_GroupDN"))
				rc = add(exp, GB_CS_INFO, code,
				         "connector %s knows the extension attribute %s, which likely carries a group's "
				         "distinguished name",
				         or_dash(c->name), c->extension_attributes.items[j]);
	}
	return rc;
}

/* Every finding the analysis knows, in the order it checks them (the order findings of one severity keep). */
static const struct {
	const char *code;
	check_fn check;
} checks[] = {
    {"writeback.enabled", check_writeback_enabled},
    {"writeback.disabled", check_writeback_disabled},
    {"writeback.flag-mismatch", check_flag_mismatch},
    {"writeback.rules-missing", check_rules_missing},
    {"writeback.container-mismatch", check_container_mismatch},
    {"writeback.forest-unknown", check_forest_unknown},
    {"writeback.ou-override", check_ou_override},
    {"writeback.ou-in-scope", check_ou_in_scope},
    {"writeback.ou-out-of-scope", check_ou_out_of_scope},
    {"writeback.ou-unknown", check_ou_unknown},
    {"coexistence.present", check_coexistence_present},
    {"coexistence.partial", check_coexistence_partial},
    {"coexistence.missing", check_coexistence_missing},
    {"delete-rule.present", check_delete_rule_present},
    {"delete-rule.disabled", check_delete_rule_disabled},
    {"staging.on", check_staging_on},
    {"staging.off", check_staging_off},
    {"staging.unknown", check_staging_unknown},
    {"scheduler.suspended", check_scheduler_suspended},
    {"delete-threshold.disabled", check_delete_threshold_disabled},
    {"group-join.filter-missing", check_group_join_filter},
    {"group-join.missing", check_group_join_missing},
    {"custom-rule", check_custom_rules},
    {"dirext.group-dn", check_group_dn_extensions},
};

#define CHECK_COUNT (sizeof(checks) / sizeof(checks[0]))

const char *gb_cs_finding_code(size_t i)
{
	return i < CHECK_COUNT ? checks[i].code : NULL;
}

/* Runs the checks named code (every check when code is NULL). */
static int findings(gb_cs_export *exp, const char *code)
{
	facts f;
	size_t i;
	int rc = 0;

	gather_facts(exp, &f);
	for (i = 0; !rc && i < CHECK_COUNT; i++)
		if (!code || strcmp(code, checks[i].code) == 0)
			rc = checks[i].check(exp, &f, checks[i].code);
	return rc;
}

int gb_cs_check(gb_cs_export *exp, const char *code, gb_error *err)
{
	size_t i;

	for (i = 0; code && i < CHECK_COUNT && strcmp(code, checks[i].code) != 0; i++)
		;
	if (!code || i == CHECK_COUNT)
		return gb_error_set(err, GB_EINVAL, "no finding check is called %s", code ? code : "(null)");
	gb_cs_findings_clear(exp);
	if (findings(exp, code))
		return gb_error_set(err, GB_ENOMEM, "checking %s: out of memory", code);
	return 0;
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
		rc = findings(exp, NULL);
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
