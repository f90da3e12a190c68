/* mapping.c: the [provisioning] mappings over the expression language. */
#include "groupbridge/mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/buf.h"
#include "groupbridge/expr.h"
#include "groupbridge/util.h"

struct gb_mappings {
	gb_expr *cn;
	gb_expr *description;
	gb_expr *container;      /* NULL when the container is a constant DN */
	char *container_dn;      /* the constant, or NULL */
	gb_expr *sam;            /* NULL when not mapped */
	char *group_dn_extension;
	bool cn_default;         /* cn is Cloud Sync's default expression */
	bool sam_default;        /* samaccountname not configured: a derived name (gb_ad_sam_derive) */
};

void gb_mappings_free(gb_mappings *m)
{
	if (!m)
		return;
	gb_expr_free(m->cn);
	gb_expr_free(m->description);
	gb_expr_free(m->container);
	gb_expr_free(m->sam);
	free(m->container_dn);
	free(m->group_dn_extension);
	free(m);
}

/* Parses one mapping; on error the message names the key and shows a caret under the column. */
static int parse(const char *key, const char *text, bool need_deterministic, gb_expr **out, gb_error *err)
{
	gb_error e;
	gb_buf caret;
	int rc;

	rc = gb_expr_parse(text, out, &e);
	if (rc == GB_ENOMEM)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (rc) {
		size_t col = gb_expr_error_column(&e);

		gb_buf_init(&caret, 256 * 1024);
		if (col && gb_expr_caret(text, col, &caret, NULL) == 0)
			gb_error_set(err, GB_ECONFIG, "[provisioning] %s: %s\n%s", key, e.msg, gb_buf_cstr(&caret));
		else
			gb_error_set(err, GB_ECONFIG, "[provisioning] %s: %s", key, e.msg);
		gb_buf_free(&caret);
		return GB_ECONFIG;
	}
	if (need_deterministic && !gb_expr_is_deterministic(*out)) {
		gb_expr_free(*out);
		*out = NULL;
		return gb_error_set(err, GB_ECONFIG,
				    "[provisioning] %s: Guid, Now and RandomString give a new value on every run, which would "
				    "change every group on every run; use them only in samaccountname",
				    key);
	}
	return 0;
}

int gb_mappings_new(const gb_config_provisioning *cfg, gb_mappings **out, gb_error *err)
{
	gb_mappings *m;
	int rc;

	*out = NULL;
	if (!cfg->target_container)
		return gb_error_set(err, GB_ECONFIG,
				    "[provisioning] needs target_container: a DN such as OU=Groups,DC=contoso,DC=com, or an "
				    "expression (there is no default, so that groups never land in a guessed container)");
	m = calloc(1, sizeof(*m));
	if (!m)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	m->cn_default = !cfg->cn;
	m->sam_default = !cfg->samaccountname;
	rc = parse("cn", cfg->cn ? cfg->cn : GB_DEFAULT_CN_EXPR, true, &m->cn, err);
	if (!rc)
		rc = parse("description", cfg->description ? cfg->description : GB_DEFAULT_DESCRIPTION_EXPR, true,
			   &m->description, err);
	if (!rc && cfg->samaccountname)
		rc = parse("samaccountname", cfg->samaccountname, false, &m->sam, err);
	if (!rc && cfg->group_dn_extension && !(m->group_dn_extension = gb_strdup(cfg->group_dn_extension)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc) {
		/* An expression when it parses as one; otherwise it must be a well-formed DN constant. */
		gb_error expr_err, dn_err;
		gb_ad_dn *dn = NULL;

		if (gb_expr_parse(cfg->target_container, &m->container, &expr_err) == 0) {
			if (!gb_expr_is_deterministic(m->container)) {
				gb_expr_free(m->container);
				m->container = NULL;
				rc = parse("target_container", cfg->target_container, true, &m->container, err);
			}
		} else if (gb_ad_dn_parse(cfg->target_container, &dn, &dn_err) == 0 && dn->nrdns > 0) {
			m->container_dn = gb_strdup(cfg->target_container);
			if (!m->container_dn)
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		} else {
			rc = parse("target_container", cfg->target_container, true, &m->container, err);
			if (rc == GB_ECONFIG)
				gb_error_prefix(err, "[provisioning] target_container is neither a DN (%s) nor an expression",
						dn_err.msg);
		}
		gb_ad_dn_free(dn);
	}
	if (rc) {
		gb_mappings_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

static const char *tri(gb_tri t)
{
	return t == GB_TRI_TRUE ? "True" : t == GB_TRI_FALSE ? "False" : NULL;
}

static int lookup(const char *name, void *user, gb_expr_attr *out, gb_error *err)
{
	const void *const *pair = user;
	const gb_mappings *m = pair[0];
	const gb_cloud_group *g = pair[1];

	(void)err;
	if (gb_str_iequal(name, "objectId") || gb_str_iequal(name, "id"))
		out->value = g->id;
	else if (gb_str_iequal(name, "displayName"))
		out->value = g->display_name;
	else if (gb_str_iequal(name, "description"))
		out->value = g->description;
	else if (gb_str_iequal(name, "securityEnabled"))
		out->value = tri(g->security_enabled);
	else if (gb_str_iequal(name, "mailEnabled"))
		out->value = tri(g->mail_enabled);
	else if (gb_str_iequal(name, "onPremisesSyncEnabled"))
		out->value = tri(g->on_prem_sync_enabled);
	else if (gb_str_iequal(name, "onPremisesSecurityIdentifier"))
		out->value = g->on_prem_sid;
	else if (m->group_dn_extension && gb_str_iequal(name, m->group_dn_extension))
		out->value = g->group_dn_ext;
	return 0;
}

/* Cloud Sync's default cn is Left(Trim([displayName]), 51) + "_" + 12 characters, sized for cn's 64; .NET's Left counts
 * UTF-16 units and so does AD, but the expression language counts code points, so a name with characters outside the
 * BMP (emoji) would give a cn over 64 units that AD refuses (AD review D4). Cut the name part to 51 units then, as
 * Cloud Sync does, never splitting a character. */
static void fit_default_cn(char *cn)
{
	char *sep = strrchr(cn, '_');
	size_t keep;

	if (gb_ad_utf16_len(cn) <= GB_AD_CN_MAX || !sep)
		return;
	*sep = '\0';
	keep = gb_ad_utf16_prefix(cn, 51);
	*sep = '_';
	memmove(cn + keep, sep, strlen(sep) + 1);
}

/* The default sAMAccountName: derived from displayName (trimmed) and the object id, so that AD never generates a
 * "$XXXX-..." name (see gb_ad_sam_derive and the README). */
static int derive_sam(const gb_cloud_group *g, char **out, gb_error *err)
{
	char sam[GB_AD_SAM_BUF];
	const char *name = g->display_name;
	int rc;

	while (name && (*name == ' ' || *name == '\t'))
		name++;
	if ((rc = gb_ad_sam_derive(name, g->id, sam, sizeof(sam), err)))
		return rc;
	*out = gb_strdup(sam);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

int gb_mappings_eval(void *ctx, gb_mapping_field field, const gb_cloud_group *group, char **out, gb_error *err)
{
	const gb_mappings *m = ctx;
	const void *pair[2] = {m, group};
	const gb_expr *e = NULL;
	int rc;

	*out = NULL;
	switch (field) {
	case GB_MAPPING_CN: e = m->cn; break;
	case GB_MAPPING_DESCRIPTION: e = m->description; break;
	case GB_MAPPING_SAM:
		if (m->sam_default)
			return derive_sam(group, out, err);
		e = m->sam;
		break;
	case GB_MAPPING_CONTAINER:
		if (m->container_dn) {
			*out = gb_strdup(m->container_dn);
			return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
		}
		e = m->container;
		break;
	}
	if (!e)
		return 0;
	rc = gb_expr_eval_string(e, lookup, (void *)pair, out, err);
	if (rc == 0 && *out && !**out) {
		/* Left(Trim(null), 448) is "": AD holds no empty strings, so empty is no value. */
		free(*out);
		*out = NULL;
	}
	if (rc == 0 && *out && field == GB_MAPPING_CN && m->cn_default)
		fit_default_cn(*out);
	return rc;
}

const char *gb_mappings_constant_container(const gb_mappings *m)
{
	const char *constant = NULL;

	if (m->container_dn)
		return m->container_dn;
	return m->container && gb_expr_is_constant(m->container, &constant) ? constant : NULL;
}
