/* read.c: entries, paged searches, lookups, ranged reads of multi-valued attributes, groups, and the probe. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/internal.h"
#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

/* ---- controls ---- */

LDAPControl *gb_dir_extended_dn_control(void)
{
	/* ExtendedDnFlag 1 (string GUIDs and SIDs): BER SEQUENCE { INTEGER 1 } */
	static char value[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	static LDAPControl ctrl = {"1.2.840.113556.1.4.529", {sizeof value, value}, 0};

	return &ctrl;
}

/* ---- entries ---- */

const gb_dir_attr *gb_dir_entry_attr(const gb_dir_entry *e, const char *name)
{
	size_t i;

	for (i = 0; e && i < e->nattrs; i++)
		if (gb_str_iequal(e->attrs[i].name, name))
			return &e->attrs[i];
	return NULL;
}

const char *gb_dir_entry_str(const gb_dir_entry *e, const char *name)
{
	const gb_dir_attr *a = gb_dir_entry_attr(e, name);

	return a && a->nvalues ? a->values[0].data : NULL;
}

bool gb_dir_entry_guid(const gb_dir_entry *e, char *dst)
{
	const gb_dir_attr *a = gb_dir_entry_attr(e, "objectGUID");

	if (!a || a->nvalues != 1 || a->values[0].len != GB_AD_GUID_LEN)
		return false;
	gb_ad_guid_to_text((const unsigned char *)a->values[0].data, dst);
	return true;
}

bool gb_dir_entry_sid(const gb_dir_entry *e, char *dst)
{
	const gb_dir_attr *a = gb_dir_entry_attr(e, "objectSid");

	return a && a->nvalues == 1 &&
	       gb_ad_sid_to_text((const unsigned char *)a->values[0].data, a->values[0].len, dst, GB_AD_SID_TEXT_SIZE,
				 NULL) == 0;
}

void gb_dir_entry_free(gb_dir_entry *e)
{
	size_t i, j;

	if (!e)
		return;
	for (i = 0; i < e->nattrs; i++) {
		for (j = 0; j < e->attrs[i].nvalues; j++)
			free(e->attrs[i].values[j].data);
		free(e->attrs[i].values);
		free(e->attrs[i].name);
	}
	free(e->attrs);
	free(e->dn);
	free(e);
}

static int make_entry(LDAP *ld, LDAPMessage *msg, gb_dir_entry **out, gb_error *err)
{
	gb_dir_entry *e = calloc(1, sizeof *e);
	BerElement *ber = NULL;
	char *name, *dn;
	size_t cap = 0;
	int rc = 0;

	*out = NULL;
	if (!e)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	dn = ldap_get_dn(ld, msg);
	e->dn = gb_strdup(dn ? dn : "");
	if (dn)
		ldap_memfree(dn);
	if (!e->dn) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	for (name = ldap_first_attribute(ld, msg, &ber); name; name = ldap_next_attribute(ld, msg, ber)) {
		struct berval **vals = ldap_get_values_len(ld, msg, name);
		size_t n = vals ? (size_t)ldap_count_values_len(vals) : 0, i;
		gb_dir_attr *a;

		if (gb_grow(&e->attrs, e->nattrs, &cap, sizeof(*e->attrs), 8))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		if (!rc) {
			a = &e->attrs[e->nattrs++];
			memset(a, 0, sizeof *a);
			a->name = gb_strdup(name);
			a->values = n ? calloc(n, sizeof *a->values) : NULL;
			if (!a->name || (n && !a->values))
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			for (i = 0; !rc && i < n; i++) {
				if (vals[i]->bv_len > GB_DIRECTORY_MAX_VALUE) {
					rc = gb_error_set(err, GB_ETOOBIG, "ldap entry %s: a value of %s has %lu bytes",
							  e->dn, name, (unsigned long)vals[i]->bv_len);
					break;
				}
				a->values[i].data = malloc(vals[i]->bv_len + 1);
				if (!a->values[i].data) {
					rc = gb_error_set(err, GB_ENOMEM, "out of memory");
					break;
				}
				/* binary values (objectGUID, objectSid) may hold NUL: copied whole, terminated after */
				if (vals[i]->bv_len)
					memcpy(a->values[i].data, vals[i]->bv_val, vals[i]->bv_len);
				a->values[i].data[vals[i]->bv_len] = '\0';
				a->values[i].len = vals[i]->bv_len;
				a->nvalues++;
			}
		}
		if (vals)
			ldap_value_free_len(vals);
		ldap_memfree(name);
		if (rc)
			break;
	}
	if (ber)
		ber_free(ber, 0);
out:
	if (rc) {
		gb_dir_entry_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

/* ---- paged search ---- */

struct search_arg {
	const char *base;
	int scope;
	const char *filter;
	char **attrs;
	unsigned flags;
	gb_dir_entry_cb cb;
	void *ctx;
	gb_error *err;
	size_t delivered;
	int cb_rc;       /* the callback's (or the entry conversion's) failure, which ends the search */
	bool may_retry;  /* nothing delivered yet: running the search again repeats nothing */
};

static int search_op(gb_directory *d, LDAP *ld, void *argp)
{
	struct search_arg *a = argp;
	struct berval cookie = {0, NULL};
	struct timeval tv = {d->timeout, 0};
	int rc;

	do {
		LDAPControl *page = NULL, *ctrls[3], **sctrls = NULL, *resp;
		LDAPMessage *res = NULL, *msg;
		int nc = 0, errcode = LDAP_SUCCESS;

		if (a->scope != LDAP_SCOPE_BASE) {
			rc = ldap_create_page_control(ld, (ber_int_t)d->page_size, cookie.bv_val ? &cookie : NULL, 0,
						      &page);
			if (rc != LDAP_SUCCESS)
				break;
			ctrls[nc++] = page;
		}
		if (a->flags & GB_DIR_EXTENDED_DN)
			ctrls[nc++] = gb_dir_extended_dn_control();
		ctrls[nc] = NULL;
		rc = ldap_search_ext_s(ld, a->base, a->scope, a->filter, a->attrs, 0, ctrls, NULL, &tv, LDAP_NO_LIMIT,
				       &res);
		if (page)
			ldap_control_free(page);
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
		if (rc != LDAP_SUCCESS) {
			ldap_msgfree(res);
			break;
		}
		for (msg = ldap_first_message(ld, res); msg && !a->cb_rc; msg = ldap_next_message(ld, msg)) {
			int type = ldap_msgtype(msg);

			if (type == LDAP_RES_SEARCH_ENTRY) {
				gb_dir_entry *e = NULL;

				a->cb_rc = make_entry(ld, msg, &e, a->err);
				if (!a->cb_rc) {
					a->delivered++;
					a->cb_rc = a->cb(e, a->ctx, a->err);
				}
				gb_dir_entry_free(e);
			} else if (type == LDAP_RES_SEARCH_RESULT) {
				rc = ldap_parse_result(ld, msg, &errcode, NULL, NULL, NULL, &sctrls, 0);
				if (rc == LDAP_SUCCESS && errcode != LDAP_SUCCESS)
					rc = errcode;
				resp = sctrls ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, sctrls, NULL) : NULL;
				if (rc == LDAP_SUCCESS && resp) {
					ber_int_t count;
					rc = ldap_parse_pageresponse_control(ld, resp, &count, &cookie);
				}
				ldap_controls_free(sctrls);
				sctrls = NULL;
			}
			/* LDAP_RES_SEARCH_REFERENCE: continuation references are skipped (referrals are off) */
		}
		ldap_msgfree(res);
	} while (rc == LDAP_SUCCESS && !a->cb_rc && cookie.bv_len > 0);
	if (a->cb_rc && cookie.bv_len > 0) {
		/* stopped early: a page size of 0 with the cookie releases the server's paging state */
		LDAPControl *page = NULL, *ctrls[2] = {NULL, NULL};
		LDAPMessage *res = NULL;

		if (ldap_create_page_control(ld, 0, &cookie, 0, &page) == LDAP_SUCCESS) {
			ctrls[0] = page;
			ldap_search_ext_s(ld, a->base, a->scope, a->filter, a->attrs, 0, ctrls, NULL, &tv, 1, &res);
			ldap_msgfree(res);
			ldap_control_free(page);
		}
	}
	ber_memfree(cookie.bv_val);
	a->may_retry = a->delivered == 0;
	return a->cb_rc ? LDAP_SUCCESS : rc;
}

int gb_directory_search(gb_directory *d, const char *base, int scope, const char *filter, const char *const *attrs,
			unsigned flags, gb_dir_entry_cb cb, void *ctx, gb_error *err)
{
	struct search_arg a;
	int rc;

	memset(&a, 0, sizeof a);
	a.base = base ? base : ((flags & GB_DIR_GC) ? "" : d->base_dn);
	a.scope = scope == GB_DIR_BASE ? LDAP_SCOPE_BASE : scope == GB_DIR_ONELEVEL ? LDAP_SCOPE_ONELEVEL
										       : LDAP_SCOPE_SUBTREE;
	a.filter = filter ? filter : "(objectClass=*)";
	a.attrs = (char **)attrs; /* libldap's prototype lacks const; it does not write */
	a.flags = flags;
	a.cb = cb;
	a.ctx = ctx;
	a.err = err;
	a.may_retry = true;
	rc = gb_dir_run(d, (flags & GB_DIR_GC) != 0, "search", a.base, search_op, &a, &a.may_retry, err);
	gb_debug("ldap", "search %s: %.160s%s: %zu entries%s", *a.base ? a.base : "(root)", a.filter,
		 strlen(a.filter) > 160 ? "..." : "", a.delivered, rc ? ", then failed" : "");
	if (rc)
		return rc;
	return a.cb_rc;
}

/* ---- a search sent ahead ---- */

struct gb_dir_pending {
	gb_directory *d;
	unsigned long gen; /* d->ld_gen when sent: a reconnect since loses the answer */
	int msgid;
	int64_t t0;
	int64_t whole;     /* when the answer was seen whole (ms since t0), for the log */
	LDAPMessage *res;  /* the whole answer, once gb_directory_search_poll saw it */
	char filter[161];  /* its start, for the log */
};

int gb_directory_search_send(gb_directory *d, const char *filter, const char *const *attrs, gb_dir_pending **out,
			     gb_error *err)
{
	gb_dir_pending *p;
	int rc, msgid = -1;

	*out = NULL;
	if ((rc = gb_directory_connect(d, err)))
		return rc;
	if (!(p = calloc(1, sizeof(*p))))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	/* no paging: the caller asks for a few entries; a DC that stops a longer answer says so (sizeLimitExceeded),
	 * and the caller reads the usual way instead */
	rc = ldap_search_ext(d->ld, d->base_dn, LDAP_SCOPE_SUBTREE, filter, (char **)attrs, 0, NULL, NULL, NULL,
			     LDAP_NO_LIMIT, &msgid);
	if (rc != LDAP_SUCCESS) {
		free(p);
		return gb_dir_ldap_error(d, d->ld, rc, "search", d->base_dn, err);
	}
	p->d = d;
	p->gen = d->ld_gen;
	p->msgid = msgid;
	p->t0 = gb_time_mono_ms();
	snprintf(p->filter, sizeof(p->filter), "%s", filter);
	gb_debug("ldap", "search %s: %s%s: sent ahead, its answer taken later", d->base_dn, p->filter,
		 strlen(filter) >= sizeof(p->filter) ? "..." : "");
	*out = p;
	return 0;
}

void gb_dir_pending_free(gb_dir_pending *p)
{
	if (!p)
		return;
	if (p->res)
		ldap_msgfree(p->res);
	else if (p->d->ld && p->d->ld_gen == p->gen)
		ldap_abandon_ext(p->d->ld, p->msgid, NULL, NULL);
	free(p);
}

/* Whether the connection has something to read now: bytes on the socket, or held in its buffers (TLS decrypts a whole
 * record at a time, so a message can wait there while the socket shows nothing). */
static bool data_ready(LDAP *ld)
{
	Sockbuf *sb = NULL;
	ber_socket_t fd = -1;
	struct pollfd pfd;

	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb &&
	    ber_sockbuf_ctrl(sb, LBER_SB_OPT_DATA_READY, NULL) > 0)
		return true;
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0)
		return false;
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

/* At most this many messages read by one poll: an answer of a few hundred entries, and never an endless loop. */
#define POLL_MAX_READS 4096

bool gb_directory_search_poll(gb_dir_pending *p)
{
	struct timeval zero = {0, 0};
	LDAPMessage *res = NULL;

	if (p->res)
		return true;
	if (!p->d->ld || p->d->ld_gen != p->gen)
		return false;
	/* reads what the DC has sent so far (libldap keeps each message for its own request), so that its answers do not
	 * wait on a full connection; the answer is kept once whole. ldap_result with a zero timeout reads at most one
	 * message from the connection, so it is called while the connection has more to read: one call a poll left a
	 * hundred-entry answer unread across a whole delta listing. */
	for (int i = 0; i < POLL_MAX_READS; i++) {
		int got = ldap_result(p->d->ld, p->msgid, LDAP_MSG_ALL, &zero, &res);

		if (got > 0) {
			p->res = res;
			p->whole = gb_time_mono_ms() - p->t0;
			return true;
		}
		ldap_msgfree(res);
		res = NULL;
		if (got < 0 || !data_ready(p->d->ld)) /* a failure is for take to report */
			break;
	}
	return false;
}

static void entries_free(gb_dir_entry **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gb_dir_entry_free(v[i]);
	free(v);
}

/* Every entry of the answer res, kept until the result says the search went through. */
static int take_answer(gb_dir_pending *p, LDAPMessage *res, gb_dir_entry ***out, size_t *nout, gb_error *err)
{
	gb_directory *d = p->d;
	gb_dir_entry **v = NULL;
	LDAPMessage *msg;
	size_t n = 0, cap = 0;
	int rc = 0, result = -1;

	for (msg = ldap_first_message(d->ld, res); msg && !rc; msg = ldap_next_message(d->ld, msg)) {
		int type = ldap_msgtype(msg);

		if (type == LDAP_RES_SEARCH_ENTRY) {
			gb_dir_entry *e = NULL;

			if (gb_grow(&v, n, &cap, sizeof(*v), 16)) {
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
				break;
			}
			if (!(rc = make_entry(d->ld, msg, &e, err)))
				v[n++] = e;
		} else if (type == LDAP_RES_SEARCH_RESULT) {
			int prc = ldap_parse_result(d->ld, msg, &result, NULL, NULL, NULL, NULL, 0);

			if (prc != LDAP_SUCCESS)
				result = prc;
		}
	}
	if (!rc && result != LDAP_SUCCESS)
		rc = gb_dir_ldap_error(d, d->ld, result < 0 ? LDAP_OTHER : result, "search", d->base_dn, err);
	if (rc) {
		entries_free(v, n);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

int gb_directory_search_take(gb_dir_pending *p, gb_dir_entry_cb cb, void *ctx, gb_error *err)
{
	gb_directory *d = p->d;
	struct timeval tv = {d->timeout, 0};
	LDAPMessage *res = NULL;
	gb_dir_entry **v = NULL;
	size_t n = 0, i;
	int rc = 0, got;

	if (!d->ld || (!p->res && d->ld_gen != p->gen)) {
		rc = gb_error_set(err, GB_ERETRY, "ldap search %s: the connection was made again since the search was "
						  "sent", d->base_dn);
		free(p);
		return rc;
	}
	if (p->res) {
		res = p->res;
		p->res = NULL;
		got = 1;
	} else {
		got = ldap_result(d->ld, p->msgid, LDAP_MSG_ALL, &tv, &res);
		p->whole = gb_time_mono_ms() - p->t0;
	}
	if (got == 0)
		rc = gb_error_set(err, GB_ERETRY, "ldap search %s: no answer within %ld s", d->base_dn, d->timeout);
	else if (got < 0) {
		int lrc = LDAP_SERVER_DOWN;

		ldap_get_option(d->ld, LDAP_OPT_RESULT_CODE, &lrc);
		rc = gb_dir_ldap_error(d, d->ld, lrc, "search", d->base_dn, err);
	} else {
		rc = take_answer(p, res, &v, &n, err);
	}
	ldap_msgfree(res);
	gb_debug("ldap", "search %s: %s%s: %s, %zu entries, whole %lld ms and taken %lld ms after it was sent",
		 d->base_dn, p->filter, strlen(p->filter) >= sizeof(p->filter) - 1 ? "..." : "", rc ? "failed" : "taken", n,
		 (long long)p->whole, (long long)(gb_time_mono_ms() - p->t0));
	if (got == 0)
		ldap_abandon_ext(d->ld, p->msgid, NULL, NULL);
	free(p);
	for (i = 0; !rc && i < n; i++)
		rc = cb(v[i], ctx, err);
	entries_free(v, n);
	return rc;
}

/* ---- single entries ---- */

struct capture {
	gb_dir_entry *entry;
	size_t count;
	const char *what;
};

static int capture_cb(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	struct capture *c = ctx;
	gb_dir_entry *copy;
	size_t i, j;

	if (++c->count > 1)
		return gb_error_set(err, GB_ECONFLICT, "ldap search %s: more than one object matches (%s and %s)",
				    c->what, c->entry->dn, e->dn);
	copy = calloc(1, sizeof *copy);
	if (!copy)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	copy->dn = gb_strdup(e->dn);
	copy->attrs = e->nattrs ? calloc(e->nattrs, sizeof *copy->attrs) : NULL;
	if (!copy->dn || (e->nattrs && !copy->attrs))
		goto nomem;
	for (i = 0; i < e->nattrs; i++) {
		gb_dir_attr *to = &copy->attrs[i];

		copy->nattrs++;
		to->name = gb_strdup(e->attrs[i].name);
		to->values = e->attrs[i].nvalues ? calloc(e->attrs[i].nvalues, sizeof *to->values) : NULL;
		if (!to->name || (e->attrs[i].nvalues && !to->values))
			goto nomem;
		for (j = 0; j < e->attrs[i].nvalues; j++) {
			to->values[j].data = malloc(e->attrs[i].values[j].len + 1);
			if (!to->values[j].data)
				goto nomem;
			memcpy(to->values[j].data, e->attrs[i].values[j].data, e->attrs[i].values[j].len + 1);
			to->values[j].len = e->attrs[i].values[j].len;
			to->nvalues++;
		}
	}
	c->entry = copy;
	return 0;
nomem:
	gb_dir_entry_free(copy);
	return gb_error_set(err, GB_ENOMEM, "out of memory");
}

static int find_one(gb_directory *d, const char *base, int scope, const char *filter, const char *what,
		    const char *const *attrs, unsigned flags, gb_dir_entry **out, gb_error *err)
{
	struct capture c = {NULL, 0, what};
	int rc;

	*out = NULL;
	rc = gb_directory_search(d, base, scope, filter, attrs, flags, capture_cb, &c, err);
	if (rc) {
		gb_dir_entry_free(c.entry);
		return rc;
	}
	if (!c.entry)
		return gb_error_set(err, GB_ENOTFOUND, "ldap search %s: no such object", what);
	*out = c.entry;
	return 0;
}

int gb_directory_get(gb_directory *d, const char *dn, const char *const *attrs, unsigned flags, gb_dir_entry **out,
		     gb_error *err)
{
	return find_one(d, dn, GB_DIR_BASE, "(objectClass=*)", dn, attrs, flags, out, err);
}

int gb_directory_get_by_guid(gb_directory *d, const char *guid, const char *const *attrs, unsigned flags,
			     gb_dir_entry **out, gb_error *err)
{
	char base[64];

	*out = NULL;
	if (!gb_ad_guid_is_text(guid))
		return gb_error_set(err, GB_EINVAL, "\"%.64s\" is not a guid", guid ? guid : "(null)");
	snprintf(base, sizeof base, "<GUID=%s>", guid);
	return gb_directory_get(d, base, attrs, flags, out, err);
}

static void dc_forget(gb_directory *d)
{
	free((char *)d->dc.dsa);
	free((char *)d->dc.invocation_id);
	memset(&d->dc, 0, sizeof(d->dc));
	d->dc_ntds = false;
}

/* The root DSE part of the DC's identity: dsServiceName and the RODC capability. */
static int dc_read_root(gb_directory *d, gb_error *err)
{
	static const char *const attrs[] = {"dsServiceName", "supportedCapabilities", NULL};
	gb_dir_entry *root = NULL;
	const char *dsa;
	int rc;

	dc_forget(d);
	if ((rc = gb_directory_get(d, "", attrs, 0, &root, err)))
		return rc;
	d->dc_gen = d->ld_gen;
	if (!(dsa = gb_dir_entry_str(root, "dsServiceName")))
		rc = gb_error_set(err, GB_ENOTFOUND, "the rootDSE of %s names no dsServiceName", d->uri);
	else if (!(d->dc.dsa = gb_strdup(dsa)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	else
		d->dc.rodc = gb_directory_rootdse_is_rodc(root);
	gb_dir_entry_free(root);
	return rc;
}

/* The NTDS Settings part: invocationId and msDS-isRODC. A DC that lets nobody read them has no invocationId here and
 * is taken for writable, and that answer is kept for the connection. A transient failure (busy, unavailable, a
 * timeout) also leaves no invocationId, for this call only: the next call reads again, so a moment's load on the DC
 * does not cost every later pass the uSNChanged guard. */
static int dc_read_ntds(gb_directory *d, gb_error *err)
{
	static const char *const attrs[] = {"invocationId", "msDS-isRODC", NULL};
	gb_dir_entry *ntds = NULL;
	const gb_dir_attr *inv;
	const char *ro;
	char text[GB_AD_GUID_TEXT_SIZE];
	gb_error e;
	bool transient = false;
	int rc = 0;

	if (gb_directory_get(d, d->dc.dsa, attrs, 0, &ntds, &e) == 0) {
		ro = gb_dir_entry_str(ntds, "msDS-isRODC");
		d->dc.rodc |= ro && gb_str_iequal(ro, "TRUE");
		if ((inv = gb_dir_entry_attr(ntds, "invocationId")) && inv->nvalues && inv->values[0].len == 16) {
			gb_ad_guid_to_text((const unsigned char *)inv->values[0].data, text);
			if (!(d->dc.invocation_id = gb_strdup(text)))
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	} else if (e.code == GB_ENOMEM) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	} else if ((transient = e.code == GB_ERETRY || e.code == GB_ENET)) {
		gb_warn("ldap", "%s: the DC's invocationId cannot be read now (%s); it is read again next time", d->uri,
			e.msg);
	}
	gb_dir_entry_free(ntds);
	d->dc_ntds = rc == 0 && !transient;
	return rc;
}

/* d->dc for the connection the next operation uses, with its NTDS Settings part when ntds. Both parts must come over
 * one connection (a reconnect between them may have reached another DC): else they are read again, once. */
static int dc_ensure(gb_directory *d, bool ntds, gb_error *err)
{
	int rc = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!d->dc.dsa || d->dc_gen != d->ld_gen || !d->ld)
			rc = dc_read_root(d, err);
		if (!rc && ntds && !d->dc_ntds)
			rc = dc_read_ntds(d, err);
		if (rc || d->dc_gen == d->ld_gen)
			break;
	}
	if (!rc && d->dc_gen != d->ld_gen)
		rc = gb_error_set(err, GB_ERETRY, "%s: the connection changed while the DC's identity was read", d->uri);
	if (rc)
		dc_forget(d);
	return rc;
}

int gb_directory_dc_info(gb_directory *d, const gb_directory_dc **out, gb_error *err)
{
	int rc = dc_ensure(d, true, err);

	*out = rc ? NULL : &d->dc;
	return rc;
}

char *gb_directory_dsa(gb_directory *d, gb_error *err)
{
	char *dsa = NULL;

	if (dc_ensure(d, false, err) == 0 && !(dsa = gb_strdup(d->dc.dsa)))
		gb_error_set(err, GB_ENOMEM, "out of memory");
	return dsa;
}

static int find_by_filter(gb_directory *d, const char *attr, const char *value, const char *shown,
			  const char *const *attrs, unsigned flags, gb_dir_entry **out, gb_error *err)
{
	gb_buf f;
	char what[320];
	int rc;

	*out = NULL;
	gb_buf_init(&f, GB_BUF_DEFAULT_MAX);
	if ((rc = gb_buf_printf(&f, err, "(%s=", attr)) || (rc = gb_buf_puts(&f, value, err)) ||
	    (rc = gb_buf_putc(&f, ')', err)))
		goto out;
	snprintf(what, sizeof what, "%s=%s", attr, shown);
	rc = find_one(d, NULL, GB_DIR_SUBTREE, gb_buf_cstr(&f), what, attrs, flags, out, err);
out:
	gb_buf_free(&f);
	return rc;
}

int gb_directory_find_by_anchor(gb_directory *d, const char *anchor, const char *const *attrs, unsigned flags,
				gb_dir_entry **out, gb_error *err)
{
	gb_buf v;
	int rc;

	*out = NULL;
	if (!anchor || !*anchor)
		return gb_error_set(err, GB_EINVAL, "an empty anchor");
	gb_buf_init(&v, GB_BUF_DEFAULT_MAX);
	if (!(rc = gb_ad_filter_escape(anchor, strlen(anchor), &v, err)))
		rc = find_by_filter(d, GB_DIRECTORY_ANCHOR_ATTR, gb_buf_cstr(&v), anchor, attrs, flags, out, err);
	gb_buf_free(&v);
	return rc;
}

/* find_by_filter on a binary attribute (objectSid, objectGUID): the value escaped byte by byte; text names it in
 * messages. */
static int find_by_binary(gb_directory *d, const char *attr, const unsigned char *bin, size_t len, const char *text,
			  const char *const *attrs, unsigned flags, gb_dir_entry **out, gb_error *err)
{
	gb_buf v;
	int rc;

	gb_buf_init(&v, GB_BUF_DEFAULT_MAX);
	if (!(rc = gb_ad_filter_escape_binary(bin, len, &v, err)))
		rc = find_by_filter(d, attr, gb_buf_cstr(&v), text, attrs, flags, out, err);
	gb_buf_free(&v);
	return rc;
}

int gb_directory_find_by_sid(gb_directory *d, const char *sid, const char *const *attrs, unsigned flags,
			     gb_dir_entry **out, gb_error *err)
{
	unsigned char bin[GB_AD_SID_MAX_LEN];
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = gb_ad_sid_from_text(sid, bin, &len, err)))
		return rc;
	return find_by_binary(d, "objectSid", bin, len, sid, attrs, flags, out, err);
}

int gb_directory_find_by_guid(gb_directory *d, const char *guid, const char *const *attrs, unsigned flags,
			      gb_dir_entry **out, gb_error *err)
{
	unsigned char bin[GB_AD_GUID_LEN];
	int rc;

	*out = NULL;
	if ((rc = gb_ad_guid_from_text(guid, bin, err)))
		return rc;
	return find_by_binary(d, "objectGUID", bin, sizeof bin, guid, attrs, flags, out, err);
}

int gb_directory_guid_filter(const char *const *guids, size_t n, gb_buf *out, gb_error *err)
{
	size_t i;
	int rc = gb_buf_puts(out, "(|", err);

	for (i = 0; i < n && !rc; i++) {
		unsigned char bin[GB_AD_GUID_LEN];

		if ((rc = gb_ad_guid_from_text(guids[i], bin, err)) || (rc = gb_buf_puts(out, "(objectGUID=", err)) ||
		    (rc = gb_ad_filter_escape_binary(bin, sizeof bin, out, err)) || (rc = gb_buf_putc(out, ')', err)))
			break;
	}
	return rc ? rc : gb_buf_putc(out, ')', err);
}

int gb_directory_find_by_guids(gb_directory *d, const char *const *guids, size_t n, const char *const *attrs,
			       unsigned flags, gb_dir_entry_cb cb, void *ctx, gb_error *err)
{
	gb_buf f;
	size_t i;
	int rc = 0;

	gb_buf_init(&f, GB_BUF_DEFAULT_MAX);
	for (i = 0; i < n && !rc; i += GB_DIRECTORY_GUID_BATCH) {
		gb_buf_clear(&f);
		rc = gb_directory_guid_filter(guids + i, n - i < GB_DIRECTORY_GUID_BATCH ? n - i : GB_DIRECTORY_GUID_BATCH,
					      &f, err);
		if (!rc)
			rc = gb_directory_search(d, NULL, GB_DIR_SUBTREE, gb_buf_cstr(&f), attrs, flags, cb, ctx, err);
	}
	gb_buf_free(&f);
	return rc;
}

/* ---- ranged reads ---- */

/* One bound of a range: digits whose value fits, below ULONG_MAX (the next range starts at HIGH + 1, which must not
 * wrap to 0 and ask for the same values again); *end after them. */
static bool parse_bound(const char *s, unsigned long *v, char **end)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, end, 10);
	return errno == 0 && *v < ULONG_MAX;
}

/* Parses "LOW-HIGH" or "LOW-*" after ";range=". */
static bool parse_range(const char *s, unsigned long *low, unsigned long *high, bool *star)
{
	char *end;

	if (!parse_bound(s, low, &end) || *end != '-')
		return false;
	s = end + 1;
	if (s[0] == '*' && s[1] == '\0') {
		*star = true;
		return true;
	}
	*star = false;
	return parse_bound(s, high, &end) && *end == '\0';
}

int gb_directory_range_step(const char *attr, unsigned long low, const char *const *names, const size_t *counts,
			    size_t n, gb_dir_range_step *out, gb_error *err)
{
	size_t alen = strlen(attr), i;
	long plain = -1, ranged = -1;
	unsigned long rlow = 0, rhigh = 0;
	bool star = false;

	out->take = -1;
	out->done = true;
	out->next = 0;
	for (i = 0; i < n; i++) {
		const char *name = names[i];

		if (gb_str_iequal(name, attr)) {
			plain = (long)i;
		} else if (gb_str_ihas_prefix(name, attr) && gb_str_ihas_prefix(name + alen, ";range=")) {
			if (ranged >= 0)
				return gb_error_set(err, GB_EPARSE, "ldap reply has two ranges of %s (%s and %s)", attr,
						    names[ranged], name);
			if (!parse_range(name + alen + 7, &rlow, &rhigh, &star))
				return gb_error_set(err, GB_EPARSE, "ldap reply has a malformed range \"%.100s\"", name);
			ranged = (long)i;
		}
	}
	if (ranged >= 0) {
		if (rlow != low)
			return gb_error_set(err, GB_EPARSE, "ldap reply %s starts at %lu, asked from %lu", names[ranged],
					    rlow, low);
		if (!star && rhigh < rlow)
			return gb_error_set(err, GB_EPARSE, "ldap reply has an empty range \"%.100s\"", names[ranged]);
		out->take = ranged;
		out->done = star;
		out->next = star ? 0 : rhigh + 1;
		return 0;
	}
	if (plain >= 0 && counts[plain] > 0) {
		/* the server ignored the range and sent every value; past the first chunk that would repeat values */
		if (low > 0)
			return gb_error_set(err, GB_EPARSE, "ldap reply sent all of %s when asked from %lu", attr, low);
		out->take = plain;
	}
	return 0;
}

struct values_ctx {
	const char *attr;
	unsigned long low;
	gb_dir_value_cb cb;
	void *ctx;
	gb_dir_range_step step;
};

static int values_cb(const gb_dir_entry *e, void *ctxp, gb_error *err)
{
	struct values_ctx *c = ctxp;
	const char *names[64];
	size_t counts[64], i, n = e->nattrs < 64 ? e->nattrs : 64;
	int rc;

	for (i = 0; i < n; i++) {
		names[i] = e->attrs[i].name;
		counts[i] = e->attrs[i].nvalues;
	}
	if ((rc = gb_directory_range_step(c->attr, c->low, names, counts, n, &c->step, err)))
		return gb_error_prefix(err, "reading %s of %s", c->attr, e->dn);
	if (c->step.take >= 0) {
		const gb_dir_attr *a = &e->attrs[c->step.take];
		for (i = 0; i < a->nvalues; i++)
			if ((rc = c->cb(a->values[i].data, a->values[i].len, c->ctx, err)))
				return rc;
	}
	return 0;
}

int gb_directory_read_values(gb_directory *d, const char *dn, const char *attr, unsigned flags, gb_dir_value_cb cb,
			     void *ctx, gb_error *err)
{
	struct values_ctx c;
	char name[160];
	int rc;

	memset(&c, 0, sizeof c);
	c.attr = attr;
	c.cb = cb;
	c.ctx = ctx;
	for (;;) {
		const char *attrs[2] = {name, NULL};
		struct capture cap = {NULL, 0, dn};
		gb_dir_entry *e;

		snprintf(name, sizeof name, "%s;range=%lu-%lu", attr, c.low, c.low + (unsigned long)d->range_size - 1);
		/* the step's entry is captured first and handed out after, so a retried step repeats no value */
		rc = gb_directory_search(d, dn, GB_DIR_BASE, "(objectClass=*)", attrs, flags & ~(unsigned)GB_DIR_GC,
					 capture_cb, &cap, err);
		if (rc)
			return rc;
		if (!cap.entry)
			return gb_error_set(err, GB_ENOTFOUND, "ldap search %s: no such object", dn);
		e = cap.entry;
		rc = values_cb(e, &c, err);
		gb_dir_entry_free(e);
		if (rc)
			return rc;
		if (c.step.done)
			return 0;
		c.low = c.step.next;
	}
}

/* ---- groups ---- */

/* True for a DN in a domain's CN=ForeignSecurityPrincipals container: the stand-in of a principal of another
 * forest (or a well-known SID), which AD keeps a domain local group from taking into universal scope. */
bool gb_directory_is_foreign_principal(const char *dn)
{
	gb_ad_dn *p = NULL;
	bool fsp;

	if (gb_ad_dn_parse(dn, &p, NULL))
		return false;
	fsp = p->nrdns >= 2 && p->rdns[1].navas == 1 && gb_str_iequal(p->rdns[1].avas[0].type, "CN") &&
	      gb_ad_str_equal(p->rdns[1].avas[0].value, p->rdns[1].avas[0].value_len, "ForeignSecurityPrincipals", 25);
	gb_ad_dn_free(p);
	return fsp;
}

/* A domain local group holding a foreign security principal cannot become universal: the first one found is its
 * scope_blocker. */
static int note_foreign(gb_ad_group *g, const char *dn, gb_error *err)
{
	if (!(g->group_type & 0x4) || g->scope_blocker)
		return 0;
	g->scope_blocker = gb_strdup(dn);
	return g->scope_blocker ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

/* One member value ("<GUID=...>;<SID=...>;DN"): a foreign security principal is noted (the domain local group's
 * scope_blocker); with keep it is counted and the value's objectGUID joins the group's members. */
static int member_value(gb_ad_group *g, const char *value, bool keep, gb_error *err)
{
	char guid[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	const char *plain;
	int rc;

	if ((rc = gb_ad_extended_dn_split(value, guid, sid, &plain, err)))
		return rc;
	if (keep && !guid[0])
		return gb_error_set(err, GB_EPARSE, "member %.200s of %s came without its guid", value, g->dn);
	if (gb_directory_is_foreign_principal(plain)) {
		g->nforeign += keep;
		if ((rc = note_foreign(g, plain, err)))
			return rc;
	}
	return keep ? gb_ad_group_add_member(g, guid, err) : 0;
}

static int member_guid_cb(const char *value, size_t len, void *ctx, gb_error *err)
{
	(void)len;
	return member_value(ctx, value, true, err);
}

/* The members of a domain local group read only for its foreign security principals (read_scope_blocker). */
static int foreign_only_cb(const char *value, size_t len, void *ctx, gb_error *err)
{
	(void)len;
	return member_value(ctx, value, false, err);
}

static int dup_attr(const gb_dir_entry *e, const char *name, char **dst, gb_error *err)
{
	const char *v = gb_dir_entry_str(e, name);

	if (!v)
		return 0;
	*dst = gb_strdup(v);
	return *dst ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

static int blocker_dn_cb(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	char **dn = ctx;

	if (*dn)
		return 0;
	*dn = gb_strdup(e->dn);
	return *dn ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

/* AD's membership rules for a change to universal scope ("Changing a group's scope"), which Samba does not enforce and
 * a Windows DC does: a global group must not be a member of another global group, and a domain local group must not
 * hold another domain local group nor a foreign security principal (a member from another forest, kept in the
 * domain's CN=ForeignSecurityPrincipals: found among the member values). Both groups are of one domain (a global group
 * holds only groups of its domain, and a domain local group of another domain cannot be a member), and the Global
 * Catalog does not hold a global or domain local group's member values, so the DC is searched from the root of that
 * domain, not from base_dn, which may be narrower. */
static int read_scope_blocker(gb_directory *d, gb_ad_group *g, gb_error *err)
{
	static const char *const attrs[] = {"1.1", NULL};
	bool global = g->group_type & 0x2;
	gb_buf f;
	int rc;

	if (!g->dn || (!global && !(g->group_type & 0x4)) || g->scope_blocker)
		return 0;
	gb_buf_init(&f, 4096);
	rc = gb_buf_puts(&f, global ? "(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=2)(member="
				    : "(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=4)(memberOf=",
			 err);
	if (!rc)
		rc = gb_ad_filter_escape(g->dn, strlen(g->dn), &f, err);
	if (!rc)
		rc = gb_buf_puts(&f, "))", err);
	if (!rc)
		rc = gb_directory_search(d, gb_ad_dn_domain(g->dn) ? gb_ad_dn_domain(g->dn) : g->dn, GB_DIR_SUBTREE,
					 gb_buf_cstr(&f), attrs, 0, blocker_dn_cb, &g->scope_blocker, err);
	gb_buf_free(&f);
	/* A delegated account may not read a foreign security principal's memberOf, so they are found among the group's
	 * own member values (already seen when the members were read) */
	if (!rc && !global && !g->scope_blocker && !g->members_read)
		rc = gb_directory_read_values(d, g->dn, "member", GB_DIR_EXTENDED_DN, foreign_only_cb, g, err);
	return rc;
}

const char *const gb_directory_group_attrs[] = {"cn",          "objectGUID",     "objectSid",  GB_DIRECTORY_ANCHOR_ATTR,
						 "adminDescription", "description", "displayName", "sAMAccountName",
						 "groupType",  "adminCount",  "uSNChanged",  NULL};

int gb_directory_group_from_entry(gb_directory *d, const gb_dir_entry *e, bool with_members, gb_ad_group **out,
				  gb_error *err)
{
	gb_ad_group *g = NULL;
	char guid[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	const char *v;
	int rc = 0;

	*out = NULL;
	g = calloc(1, sizeof *g);
	if (!g || !(g->dn = gb_strdup(e->dn)) || (gb_dir_entry_guid(e, guid) && !(g->guid = gb_strdup(guid))) ||
	    (gb_dir_entry_sid(e, sid) && !(g->sid = gb_strdup(sid)))) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = dup_attr(e, "cn", &g->cn, err)) || (rc = dup_attr(e, GB_DIRECTORY_ANCHOR_ATTR, &g->anchor, err)) ||
	    (rc = dup_attr(e, "adminDescription", &g->admin_description, err)) ||
	    (rc = dup_attr(e, "description", &g->description, err)) ||
	    (rc = dup_attr(e, "displayName", &g->display_name, err)) ||
	    (rc = dup_attr(e, "sAMAccountName", &g->sam_account_name, err)))
		goto out;
	if ((v = gb_dir_entry_str(e, "groupType")))
		g->group_type = strtol(v, NULL, 10);
	if ((v = gb_dir_entry_str(e, "adminCount")))
		g->admin_count = (int)strtol(v, NULL, 10);
	if (with_members) {
		char *gdn = g->guid ? NULL : g->dn;
		char base[64];

		snprintf(base, sizeof base, "<GUID=%s>", g->guid ? g->guid : "");
		if ((rc = gb_directory_read_values(d, gdn ? gdn : base, "member", GB_DIR_EXTENDED_DN, member_guid_cb, g,
						   err)))
			goto out;
		g->members_read = true;
	}
	if ((rc = read_scope_blocker(d, g, err)))
		goto out;
	*out = g;
	g = NULL;
out:
	gb_ad_group_free(g);
	return rc;
}

int gb_directory_read_group(gb_directory *d, const char *dn, bool with_members, gb_ad_group **out, gb_error *err)
{
	gb_dir_entry *e = NULL;
	int rc;

	*out = NULL;
	if ((rc = gb_directory_get(d, dn, gb_directory_group_attrs, 0, &e, err)))
		return rc;
	rc = gb_directory_group_from_entry(d, e, with_members, out, err);
	gb_dir_entry_free(e);
	return rc;
}

int gb_dir_entry_dup(const gb_dir_entry *e, gb_dir_entry **out, gb_error *err)
{
	gb_dir_entry *c = calloc(1, sizeof *c);
	size_t i, j;

	*out = NULL;
	if (!c || !(c->dn = gb_strdup(e->dn)) || (e->nattrs && !(c->attrs = calloc(e->nattrs, sizeof *c->attrs))))
		goto oom;
	for (i = 0; i < e->nattrs; i++, c->nattrs++) {
		const gb_dir_attr *a = &e->attrs[i];
		gb_dir_attr *b = &c->attrs[i];

		if (!(b->name = gb_strdup(a->name)) || (a->nvalues && !(b->values = calloc(a->nvalues, sizeof *b->values))))
			goto oom_attr;
		for (j = 0; j < a->nvalues; j++, b->nvalues++) {
			if (!(b->values[j].data = malloc(a->values[j].len + 1)))
				goto oom_attr;
			memcpy(b->values[j].data, a->values[j].data, a->values[j].len);
			b->values[j].data[a->values[j].len] = '\0';
			b->values[j].len = a->values[j].len;
		}
	}
	*out = c;
	return 0;
oom_attr:
	c->nattrs++; /* the attribute being copied is freed with the others */
oom:
	gb_dir_entry_free(c);
	return gb_error_set(err, GB_ENOMEM, "out of memory");
}

/* ---- probe ---- */

int gb_directory_probe(const gb_config *cfg, char *detail, size_t n, int *has_anchor_attr, gb_error *err)
{
	static const char *const root_attrs[] = {"schemaNamingContext", "dnsHostName", NULL};
	static const char *const no_attrs[] = {"1.1", NULL};
	gb_directory *d = NULL;
	gb_dir_entry *root = NULL, *attr = NULL;
	const char *schema, *host;
	const char *tls;
	int rc;

	if (n > 0)
		detail[0] = '\0';
	*has_anchor_attr = 0;
	if ((rc = gb_directory_open_config(cfg, &d, err)))
		return rc;
	if ((rc = gb_directory_get(d, "", root_attrs, 0, &root, err)))
		goto out;
	schema = gb_dir_entry_str(root, "schemaNamingContext");
	host = gb_dir_entry_str(root, "dnsHostName");
	if (!schema) {
		rc = gb_error_set(err, GB_ELDAP, "ldap %s: the root dse names no schemaNamingContext", d->uri);
		goto out;
	}
	rc = find_one(d, schema, GB_DIR_ONELEVEL, "(lDAPDisplayName=" GB_DIRECTORY_ANCHOR_ATTR ")",
		      "schema attribute " GB_DIRECTORY_ANCHOR_ATTR, no_attrs, 0, &attr, err);
	if (rc == 0)
		*has_anchor_attr = 1;
	else if (rc != GB_ENOTFOUND)
		goto out;
	rc = 0;
	if (gb_str_ihas_prefix(d->uri, "ldaps://"))
		tls = "ldaps";
	else if (d->start_tls)
		tls = "starttls";
	else
		tls = "no tls (allow_insecure)";
	snprintf(detail, n, "%s (%s, ca %s) bound as %s%s; dc %s", d->uri, tls,
		 strncmp(tls, "no", 2) == 0 ? "none" : d->ca_file ? d->ca_file : "system trust store",
		 d->bind_method == GB_DIR_BIND_GSSAPI ? d->principal : d->bind_dn,
		 d->bind_method == GB_DIR_BIND_GSSAPI ? " (kerberos, sasl/gssapi)" : "", host ? host : "unknown");
out:
	gb_dir_entry_free(attr);
	gb_dir_entry_free(root);
	gb_directory_free(d);
	return rc;
}
