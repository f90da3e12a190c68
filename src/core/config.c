/* config.c: the INI configuration, read with libinih and validated against a table of known keys.
 *
 * libinih is fed through our own line reader so that every problem can name its line: the handler does not get
 * line numbers in Debian's build, and section headers never reach the handler at all. The reader also turns a line
 * longer than libinih's buffer into a clear error instead of a silently split value.
 */
#include "groupbridge/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "groupbridge/buf.h"
#include "groupbridge/directory.h"
#include "groupbridge/graph_client.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

enum key_type { K_STR, K_BOOL, K_LONG, K_LIST };

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset; /* into gb_config */
	long min, max;
};

#define S(sec, field) offsetof(gb_config, sec) + offsetof(gb_config_##sec, field)

static const struct key_def keys[] = {
	{"graph", "tenant_id", K_STR, S(graph, tenant_id), 0, 0},
	{"graph", "client_id", K_STR, S(graph, client_id), 0, 0},
	{"graph", "client_secret_file", K_STR, S(graph, client_secret_file), 0, 0},
	{"graph", "client_secret_env", K_STR, S(graph, client_secret_env), 0, 0},
	{"graph", "certificate_file", K_STR, S(graph, certificate_file), 0, 0},
	{"graph", "private_key_file", K_STR, S(graph, private_key_file), 0, 0},
	{"graph", "authority_url", K_STR, S(graph, authority_url), 0, 0},
	{"graph", "graph_url", K_STR, S(graph, graph_url), 0, 0},
	{"graph", "ca_file", K_STR, S(graph, ca_file), 0, 0},
	{"graph", "jwt_alg", K_STR, S(graph, jwt_alg), 0, 0},
	{"graph", "timeout", K_LONG, S(graph, timeout), 1, 3600},
	{"graph", "max_throttle_wait", K_LONG, S(graph, max_throttle_wait), 0, 86400},
	{"graph", "max_concurrency", K_LONG, S(graph, max_concurrency), 1, 1000},
	{"directory", "uri", K_STR, S(directory, uri), 0, 0},
	{"directory", "bind_dn", K_STR, S(directory, bind_dn), 0, 0},
	{"directory", "bind_password_file", K_STR, S(directory, bind_password_file), 0, 0},
	{"directory", "bind_password_env", K_STR, S(directory, bind_password_env), 0, 0},
	{"directory", "base_dn", K_STR, S(directory, base_dn), 0, 0},
	{"directory", "ca_file", K_STR, S(directory, ca_file), 0, 0},
	{"directory", "start_tls", K_BOOL, S(directory, start_tls), 0, 0},
	{"directory", "allow_insecure", K_BOOL, S(directory, allow_insecure), 0, 0},
	{"directory", "gc_uri", K_STR, S(directory, gc_uri), 0, 0},
	{"directory", "timeout", K_LONG, S(directory, timeout), 1, 3600},
	{"directory", "member_batch", K_LONG, S(directory, member_batch), 1, 5000},
	{"directory", "writes_in_flight", K_LONG, S(directory, writes_in_flight), 1, 64},
	{"directory", "bind_method", K_STR, S(directory, bind_method), 0, 0},
	{"directory", "keytab", K_STR, S(directory, keytab), 0, 0},
	{"directory", "principal", K_STR, S(directory, principal), 0, 0},
	{"provisioning", "scope", K_STR, S(provisioning, scope), 0, 0},
	{"provisioning", "groups", K_STR, S(provisioning, groups), 0, 0},
	{"provisioning", "groups_file", K_STR, S(provisioning, groups_file), 0, 0},
	{"provisioning", "filter", K_LIST, S(provisioning, filters), 0, 0},
	{"provisioning", "target_container", K_STR, S(provisioning, target_container), 0, 0},
	{"provisioning", "cn", K_STR, S(provisioning, cn), 0, 0},
	{"provisioning", "description", K_STR, S(provisioning, description), 0, 0},
	{"provisioning", "samaccountname", K_STR, S(provisioning, samaccountname), 0, 0},
	{"provisioning", "group_dn_extension", K_STR, S(provisioning, group_dn_extension), 0, 0},
	{"provisioning", "membership", K_STR, S(provisioning, membership), 0, 0},
	{"provisioning", "delete_threshold", K_LONG, S(provisioning, delete_threshold), 0, 1000000},
	{"provisioning", "move_on_container_change", K_BOOL, S(provisioning, move_on_container_change), 0, 0},
	{"provisioning", "allowed_containers", K_STR, S(provisioning, allowed_containers), 0, 0},
	{"provisioning", "metrics_file", K_STR, S(provisioning, metrics_file), 0, 0},
	{"migration", "connect_sync_export", K_STR, S(migration, connect_sync_export), 0, 0},
	{"migration", "writeback_ou", K_STR, S(migration, writeback_ou), 0, 0},
	{"migration", "handoff_target", K_STR, S(migration, handoff_target), 0, 0},
	{"migration", "cloudsync_service_principal", K_STR, S(migration, cloudsync_service_principal), 0, 0},
	{"migration", "cloudsync_job_id", K_STR, S(migration, cloudsync_job_id), 0, 0},
	{"migration", "cloudsync_rule_id", K_STR, S(migration, cloudsync_rule_id), 0, 0},
	{"migration", "convert_groups", K_STR, S(migration, convert_groups), 0, 0},
	{"migration", "convert_groups_file", K_STR, S(migration, convert_groups_file), 0, 0},
	{"migration", "tenant_domain", K_STR, S(migration, tenant_domain), 0, 0},
	{"migration", "handoff_wave_size", K_LONG, S(migration, handoff_wave_size), 1, 1000},
	{"migration", "handoff_accept_renames", K_BOOL, S(migration, handoff_accept_renames), 0, 0},
};

/* Keys that would put a secret in the file itself: refused with a pointer to the right key. */
static const struct {
	const char *section, *name, *instead;
} secret_keys[] = {
	{"graph", "client_secret", "client_secret_file or client_secret_env"},
	{"graph", "private_key", "private_key_file"},
	{"directory", "bind_password", "bind_password_file or bind_password_env"},
	{"directory", "password", "bind_password_file or bind_password_env"},
};

static const char *sections[] = {"graph", "directory", "provisioning", "migration"};

struct parse {
	const char *name;     /* file name for messages */
	const char *text;     /* the remaining text */
	int line;             /* line number of the line last handed to libinih */
	int continuation;     /* that line began with white space (a continued value) */
	int section_line[4];  /* where each section started, 0 when absent */
	int key_line[sizeof(keys) / sizeof(keys[0])];
	const struct key_def *last_key;
	gb_config *cfg;
	gb_error *err;
	int failed;
};

static int fail(struct parse *p, int line, const char *fmt, const char *a, const char *b, const char *c)
{
	char msg[GB_ERROR_MSG_MAX];

	if (p->failed)
		return 0;
	snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "", c ? c : "");
	gb_error_set(p->err, GB_ECONFIG, "%s:%d: %s", p->name, line, msg);
	p->failed = 1;
	return 0;
}

static int section_index(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(sections[i], name) == 0)
			return (int)i;
	return -1;
}

static bool *section_present(gb_config *cfg, int idx)
{
	switch (idx) {
	case 0: return &cfg->graph.present;
	case 1: return &cfg->directory.present;
	case 2: return &cfg->provisioning.present;
	default: return &cfg->migration.present;
	}
}

/* An fgets-like reader over the text that also checks section headers and line lengths. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *nl, *s, *e;
	size_t len;

	if (p->failed || !*p->text)
		return NULL;
	nl = strchr(p->text, '\n');
	len = nl ? (size_t)(nl - p->text) + 1 : strlen(p->text);
	p->line++;
	if (len + 1 > (size_t)num) {
		fail(p, p->line, "line is longer than %s characters; continue a long value on indented lines", "199",
		     NULL, NULL);
		return NULL;
	}
	memcpy(str, p->text, len);
	str[len] = '\0';
	p->text += len;
	p->continuation = (str[0] == ' ' || str[0] == '\t');

	/* Section headers: libinih does not report them, so validate them here. */
	for (s = str; *s == ' ' || *s == '\t'; s++)
		;
	if (*s == '[') {
		char name[64];
		int idx;

		e = strchr(s, ']');
		if (!e || (size_t)(e - s - 1) >= sizeof(name)) {
			fail(p, p->line, "malformed section header", NULL, NULL, NULL);
			return NULL;
		}
		memcpy(name, s + 1, (size_t)(e - s - 1));
		name[e - s - 1] = '\0';
		idx = section_index(name);
		if (idx < 0) {
			fail(p, p->line, "unknown section [%s]; known sections: [graph] [directory] [provisioning] [migration]",
			     name, NULL, NULL);
			return NULL;
		}
		if (p->section_line[idx]) {
			fail(p, p->line, "section [%s] appears twice", name, NULL, NULL);
			return NULL;
		}
		p->section_line[idx] = p->line;
		*section_present(p->cfg, idx) = true;
		p->last_key = NULL;
	}
	return str;
}

static int append_list(char ***list, const char *value)
{
	size_t n = 0;
	char **l;

	while (*list && (*list)[n])
		n++;
	l = realloc(*list, sizeof(char *) * (n + 2));
	if (!l)
		return GB_ENOMEM;
	*list = l;
	l[n] = gb_strdup(value);
	l[n + 1] = NULL;
	return l[n] ? 0 : GB_ENOMEM;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char *base = (char *)p->cfg;
	size_t i;

	if (p->failed)
		return 0;
	/* A continued value: libinih calls again with the same name; join the pieces with one space. */
	if (p->continuation && p->last_key && strcmp(p->last_key->name, name) == 0 &&
	    (p->last_key->type == K_STR || p->last_key->type == K_LIST)) {
		char **slot;
		char *joined;
		size_t la, lb;

		if (p->last_key->type == K_STR) {
			slot = (char **)(base + p->last_key->offset);
		} else {
			char **list = *(char ***)(base + p->last_key->offset);
			size_t n = 0;
			while (list[n + 1])
				n++;
			slot = &list[n];
		}
		la = strlen(*slot);
		lb = strlen(value);
		if (la == 0) {
			char *v = gb_strdup(value);
			if (!v)
				return fail(p, p->line, "out of memory", NULL, NULL, NULL);
			free(*slot);
			*slot = v;
			return 1;
		}
		joined = malloc(la + lb + 2);
		if (!joined)
			return fail(p, p->line, "out of memory", NULL, NULL, NULL);
		memcpy(joined, *slot, la);
		joined[la] = ' ';
		memcpy(joined + la + 1, value, lb + 1);
		free(*slot);
		*slot = joined;
		return 1;
	}
	for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (strcmp(secret_keys[i].section, section) == 0 && strcmp(secret_keys[i].name, name) == 0)
			return fail(p, p->line, "[%s] %s: secrets are not kept in the configuration file; use %s", section,
				    name, secret_keys[i].instead);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key_def *k = &keys[i];
		bool b;
		long l;

		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
			continue;
		if (p->key_line[i] && k->type != K_LIST)
			return fail(p, p->line, "[%s] %s is set twice", section, name, NULL);
		p->key_line[i] = p->line;
		p->last_key = k;
		switch (k->type) {
		case K_STR:
			/* An empty value may be continued on the following indented lines; still empty at the end of the
			 * file is an error (checked in check_empty). */
			*(char **)(base + k->offset) = gb_strdup(value);
			if (!*(char **)(base + k->offset))
				return fail(p, p->line, "out of memory", NULL, NULL, NULL);
			return 1;
		case K_LIST:
			if (!*value)
				return fail(p, p->line, "[%s] %s is empty", section, name, NULL);
			if (append_list((char ***)(base + k->offset), value))
				return fail(p, p->line, "out of memory", NULL, NULL, NULL);
			return 1;
		case K_BOOL:
			if (gb_parse_bool(value, &b))
				return fail(p, p->line, "[%s] %s must be yes or no, not \"%s\"", section, name, value);
			*(bool *)(base + k->offset) = b;
			return 1;
		case K_LONG: {
			char range[64];
			if (gb_parse_long(value, k->min, k->max, &l) == 0) {
				*(long *)(base + k->offset) = l;
				return 1;
			}
			snprintf(range, sizeof(range), "a whole number from %ld to %ld", k->min, k->max);
			return fail(p, p->line, "[%s] %s must be %s", section, name, range);
		}
		}
	}
	if (!*section)
		return fail(p, p->line, "%s is outside any section", name, NULL, NULL);
	return fail(p, p->line, "unknown key %s in [%s]", name, section, NULL);
}

static int key_line(const struct parse *p, const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return p->key_line[i];
	return 0;
}

static bool one_of(const char *v, const char *a, const char *b)
{
	return strcmp(v, a) == 0 || strcmp(v, b) == 0;
}

static int set_default(char **slot, const char *value)
{
	if (*slot)
		return 0;
	*slot = gb_strdup(value);
	return *slot ? 0 : GB_ENOMEM;
}

/* A string key left empty (nothing on its line, nothing continued below it). */
static void check_empty(struct parse *p)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = keys[i].type == K_STR ? *(char **)((char *)p->cfg + keys[i].offset) : NULL;
		if (v && !*v)
			fail(p, p->key_line[i], "[%s] %s is empty", keys[i].section, keys[i].name, NULL);
	}
}

/* [directory]'s credentials: simple (bind_dn and one password source) or gssapi (keytab and principal, and none of
 * the simple bind's keys, so that a forgotten password file never lingers next to a keytab). Returns p->failed. */
static int validate_bind(struct parse *p)
{
	gb_config_directory *d = &p->cfg->directory;
	int pw = (d->bind_password_file != NULL) + (d->bind_password_env != NULL), sl = p->section_line[1];

	if (set_default(&d->bind_method, "simple"))
		return fail(p, sl, "out of memory", NULL, NULL, NULL), p->failed;
	if (!one_of(d->bind_method, "simple", "gssapi"))
		fail(p, key_line(p, "directory", "bind_method"), "[directory] bind_method must be simple or gssapi, not "
		     "\"%s\"", d->bind_method, NULL, NULL);
	else if (strcmp(d->bind_method, "gssapi") == 0) {
		const char *simple_key = d->bind_dn ? "bind_dn" : d->bind_password_file ? "bind_password_file"
				       : d->bind_password_env ? "bind_password_env" : NULL;

		if (simple_key)
			fail(p, key_line(p, "directory", simple_key), "[directory] %s is for bind_method = simple; "
			     "bind_method = gssapi binds as principal with the keys in keytab", simple_key, NULL, NULL);
		else if (!d->keytab)
			fail(p, sl, "[directory] bind_method = gssapi needs keytab (a keytab file, or credential:NAME)",
			     NULL, NULL, NULL);
		else if (!d->principal)
			fail(p, sl, "[directory] bind_method = gssapi needs principal (the account's Kerberos name, such "
			     "as svc-groupbridge@CONTOSO.COM)", NULL, NULL, NULL);
	} else if (d->keytab || d->principal) {
		fail(p, key_line(p, "directory", d->keytab ? "keytab" : "principal"),
		     "[directory] %s is for bind_method = gssapi", d->keytab ? "keytab" : "principal", NULL, NULL);
	} else if (!d->bind_dn) {
		fail(p, sl, "[directory] needs bind_dn", NULL, NULL, NULL);
	} else if (pw == 0) {
		fail(p, sl, "[directory] needs bind_password_file or bind_password_env", NULL, NULL, NULL);
	} else if (pw > 1) {
		fail(p, sl, "[directory] has both bind_password_file and bind_password_env; keep one", NULL, NULL, NULL);
	}
	return p->failed;
}

/* Checks what single keys cannot: required keys, one credential source, URL schemes, enumerations. */
static void validate(struct parse *p)
{
	gb_config *c = p->cfg;
	int sl;

	if (c->graph.present) {
		gb_config_graph *g = &c->graph;
		int secret = (g->client_secret_file != NULL) + (g->client_secret_env != NULL);
		int cert = g->certificate_file || g->private_key_file;

		sl = p->section_line[0];
		if (!g->tenant_id)
			fail(p, sl, "[graph] needs tenant_id", NULL, NULL, NULL);
		else if (!g->client_id)
			fail(p, sl, "[graph] needs client_id", NULL, NULL, NULL);
		else if (secret + cert == 0)
			fail(p, sl, "[graph] needs a credential: client_secret_file, client_secret_env, or certificate_file "
				    "with private_key_file", NULL, NULL, NULL);
		else if (secret > 1 || (secret && cert))
			fail(p, sl, "[graph] has more than one credential; keep exactly one", NULL, NULL, NULL);
		else if (cert && !(g->certificate_file && g->private_key_file))
			fail(p, sl, "[graph] certificate_file and private_key_file go together", NULL, NULL, NULL);
		if (set_default(&g->authority_url, GB_DEFAULT_AUTHORITY_URL) || set_default(&g->graph_url, GB_DEFAULT_GRAPH_URL))
			fail(p, sl, "out of memory", NULL, NULL, NULL);
		if (g->jwt_alg && strcmp(g->jwt_alg, "PS256") != 0 && strcmp(g->jwt_alg, "RS256") != 0)
			fail(p, key_line(p, "graph", "jwt_alg"), "[graph] jwt_alg must be PS256 or RS256, not \"%s\"", g->jwt_alg,
			     NULL, NULL);
		if (g->jwt_alg && !cert)
			fail(p, key_line(p, "graph", "jwt_alg"), "[graph] jwt_alg is for certificate credentials", NULL, NULL,
			     NULL);
		if (!gb_str_ihas_prefix(g->authority_url, "https://"))
			fail(p, key_line(p, "graph", "authority_url"), "[graph] authority_url must start with https://", NULL,
			     NULL, NULL);
		if (!gb_str_ihas_prefix(g->graph_url, "https://"))
			fail(p, key_line(p, "graph", "graph_url"), "[graph] graph_url must start with https://", NULL, NULL,
			     NULL);
	}
	if (c->directory.present) {
		gb_config_directory *d = &c->directory;

		sl = p->section_line[1];
		if (!d->uri)
			fail(p, sl, "[directory] needs uri", NULL, NULL, NULL);
		else if (validate_bind(p))
			; /* its message is set */
		else if (!d->base_dn)
			fail(p, sl, "[directory] needs base_dn", NULL, NULL, NULL);
		else if (gb_str_ihas_prefix(d->uri, "ldaps://")) {
			if (d->start_tls)
				fail(p, key_line(p, "directory", "start_tls"),
				     "[directory] start_tls is for ldap:// URIs; ldaps:// is already encrypted", NULL, NULL, NULL);
		} else if (gb_str_ihas_prefix(d->uri, "ldap://")) {
			if (!d->start_tls && !d->allow_insecure)
				fail(p, key_line(p, "directory", "uri"),
				     "[directory] uri %s %s unencrypted; use ldaps://, or start_tls = yes "
				     "(allow_insecure = yes is for test directories only)", d->uri,
				     strcmp(d->bind_method, "gssapi") == 0 ? "would bind and read" : "sends the password",
				     NULL);
		} else {
			fail(p, key_line(p, "directory", "uri"), "[directory] uri must start with ldaps:// or ldap://", NULL,
			     NULL, NULL);
		}
	}
	if (c->provisioning.present) {
		gb_config_provisioning *v = &c->provisioning;

		if (set_default(&v->scope, "selected") || set_default(&v->membership, "authoritative"))
			fail(p, p->section_line[2], "out of memory", NULL, NULL, NULL);
		if (!one_of(v->scope, "selected", "all"))
			fail(p, key_line(p, "provisioning", "scope"), "[provisioning] scope must be selected or all, not \"%s\"",
			     v->scope, NULL, NULL);
		if (!one_of(v->membership, "authoritative", "additive"))
			fail(p, key_line(p, "provisioning", "membership"),
			     "[provisioning] membership must be authoritative or additive, not \"%s\"", v->membership, NULL,
			     NULL);
		if (strcmp(v->scope, "selected") == 0 && v->filters)
			fail(p, key_line(p, "provisioning", "filter"), "[provisioning] filter needs scope = all", NULL, NULL,
			     NULL);
		if (strcmp(v->scope, "all") == 0 && (v->groups || v->groups_file))
			fail(p, p->section_line[2], "[provisioning] groups and groups_file go with scope = selected", NULL,
			     NULL, NULL);
	}
	if (c->migration.present) {
		gb_config_migration *m = &c->migration;

		if (set_default(&m->handoff_target, "groupbridge"))
			fail(p, p->section_line[3], "out of memory", NULL, NULL, NULL);
		if (!one_of(m->handoff_target, "groupbridge", "cloudsync"))
			fail(p, key_line(p, "migration", "handoff_target"),
			     "[migration] handoff_target must be groupbridge or cloudsync, not \"%s\"", m->handoff_target, NULL,
			     NULL);
	}
}

static void set_numeric_defaults(gb_config *c)
{
	c->graph.timeout = 60;
	c->graph.max_throttle_wait = 900;
	c->graph.max_concurrency = GB_GRAPH_DEFAULT_CONCURRENCY;
	c->directory.timeout = 30;
	c->directory.member_batch = GB_DIRECTORY_MEMBER_BATCH;
	c->directory.writes_in_flight = 16;
	c->provisioning.delete_threshold = 500;
	c->migration.handoff_wave_size = 10;
}

int gb_config_parse(const char *name, const char *text, gb_config **out, gb_error *err)
{
	struct parse p;
	gb_config *cfg;
	int rc;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	set_numeric_defaults(cfg);
	cfg->path = gb_strdup(name);
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.text = text;
	p.cfg = cfg;
	p.err = err;
	/* Skip a UTF-8 byte order mark ourselves: the reader hands libinih the text line by line. */
	if ((unsigned char)p.text[0] == 0xEF && (unsigned char)p.text[1] == 0xBB && (unsigned char)p.text[2] == 0xBF)
		p.text += 3;
	rc = ini_parse_stream(reader, &p, handler, &p);
	if (!p.failed && rc > 0)
		fail(&p, rc, "cannot parse this line (expected [section] or key = value)", NULL, NULL, NULL);
	if (!p.failed && rc < 0)
		fail(&p, p.line, "out of memory", NULL, NULL, NULL);
	if (!p.failed)
		check_empty(&p);
	if (!p.failed)
		validate(&p);
	if (p.failed) {
		gb_config_free(cfg);
		return GB_ECONFIG;
	}
	*out = cfg;
	return 0;
}

int gb_config_load(const char *path, gb_config **out, gb_error *err)
{
	gb_buf b;
	int rc;

	*out = NULL;
	gb_buf_init(&b, CONFIG_MAX_BYTES);
	rc = gb_read_file(path, &b, err);
	if (rc) {
		gb_buf_free(&b);
		return rc == GB_ETOOBIG ? gb_error_set(err, GB_ECONFIG, "%s: larger than 1 MiB", path) : rc;
	}
	if (memchr(gb_buf_cstr(&b), '\0', b.len)) {
		gb_buf_free(&b);
		return gb_error_set(err, GB_ECONFIG, "%s: contains a NUL byte; is this a text file?", path);
	}
	rc = gb_config_parse(path, gb_buf_cstr(&b), out, err);
	gb_buf_free(&b);
	return rc;
}

void gb_config_free(gb_config *cfg)
{
	char *base;
	size_t i;

	if (!cfg)
		return;
	base = (char *)cfg;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].type == K_STR) {
			free(*(char **)(base + keys[i].offset));
		} else if (keys[i].type == K_LIST) {
			char **l = *(char ***)(base + keys[i].offset);
			size_t n;
			for (n = 0; l && l[n]; n++)
				free(l[n]);
			free(l);
		}
	}
	free(cfg->path);
	free(cfg);
}

int gb_config_require_graph(const gb_config *cfg, gb_error *err)
{
	if (cfg && cfg->graph.present)
		return 0;
	return gb_error_set(err, GB_ECONFIG, "%s: this command needs a [graph] section (tenant_id, client_id, and a "
					     "credential)", cfg && cfg->path ? cfg->path : "configuration");
}

int gb_config_require_directory(const gb_config *cfg, gb_error *err)
{
	if (cfg && cfg->directory.present)
		return 0;
	return gb_error_set(err, GB_ECONFIG, "%s: this command needs a [directory] section (uri, bind_dn, base_dn, and "
					     "a password source)", cfg && cfg->path ? cfg->path : "configuration");
}

static int read_secret(const char *file, const char *env, char **out, gb_error *err)
{
	int rc;

	*out = NULL;
	if (file)
		rc = gb_secret_read_file(file, out, err);
	else if (env)
		rc = gb_secret_read_env(env, out, err);
	else
		return gb_error_set(err, GB_ENOTFOUND, "no secret is configured");
	if (rc == 0 && gb_log_pin_secret(*out)) {
		gb_secret_free(*out);
		*out = NULL;
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	return rc;
}

int gb_config_graph_secret(const gb_config *cfg, char **out, gb_error *err)
{
	int rc = gb_config_require_graph(cfg, err);

	*out = NULL;
	return rc ? rc : read_secret(cfg->graph.client_secret_file, cfg->graph.client_secret_env, out, err);
}

int gb_config_bind_password(const gb_config *cfg, char **out, gb_error *err)
{
	int rc = gb_config_require_directory(cfg, err);

	*out = NULL;
	return rc ? rc : read_secret(cfg->directory.bind_password_file, cfg->directory.bind_password_env, out, err);
}

int gb_config_keytab(const gb_config *cfg, char **out, gb_error *err)
{
	char cred[PATH_MAX];
	const char *path;
	struct stat st;
	int rc = gb_config_require_directory(cfg, err);

	*out = NULL;
	if (rc)
		return rc;
	path = cfg->directory.keytab;
	if (!path)
		return gb_error_set(err, GB_ENOTFOUND, "[directory] has no keytab");
	if (gb_str_has_prefix(path, GB_CREDENTIAL_PREFIX)) {
		if ((rc = gb_credential_path(path, cred, sizeof cred, err)))
			return gb_error_prefix(err, "keytab");
		path = cred;
	}
	/* a keytab holds the account's keys: the same rule as a secret file (regular, no access for group or others) */
	if (lstat(path, &st) != 0)
		return gb_error_set(err, GB_ECONFIG, "keytab %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return gb_error_set(err, GB_ECONFIG, "keytab %s: not a regular file", path);
	if (st.st_mode & 077)
		return gb_error_set(err, GB_ECONFIG, "keytab %s is accessible by group or others (mode %03o); run chmod "
				    "600 %s", path, (unsigned)(st.st_mode & 0777), path);
	*out = gb_strdup(path);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}
