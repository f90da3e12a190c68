/* connect_sync.c: reading the Connect Sync configuration export folder and its XML documents with libxml2.
 *
 * Every document is parsed into a tree from a bounded in-memory copy, walked by element local names (DSML by
 * namespace URI), and dropped. Small helpers keep a per-document context whose oom flag records an allocation
 * failure, so the walkers stay readable and the failure is reported once at the end.
 */
#include "groupbridge/connect_sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

#include "connect_sync_int.h"

#define DSML_NS "http://www.dsml.org/DSML"
#define MAX_PERSISTED 10000

typedef struct pctx {
	gb_cs_export *exp;
	const char *name;
	bool oom;
} pctx;

#define PUSH(c, arr, count)                                                                                            \
	({                                                                                                             \
		__typeof__(arr) _n = gb_cs_grow((arr), (count), sizeof(*(arr)));                                       \
		if (_n)                                                                                                \
			(arr) = _n;                                                                                    \
		else                                                                                                   \
			(c)->oom = true;                                                                               \
		_n ? &(arr)[(count)++] : NULL;                                                                         \
	})

/* ---- libxml2 helpers ----------------------------------------------------------------------------------- */

/* An element outside the DSML namespace with this local name (exports put everything but the schema in no
 * namespace; a default namespace added by some other tool is tolerated). */
static bool is_el(const xmlNode *n, const char *name)
{
	if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
		return false;
	return !n->ns || !n->ns->href || strcmp((const char *)n->ns->href, DSML_NS) != 0;
}

static bool is_dsml(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       strcmp((const char *)n->ns->href, DSML_NS) == 0 && strcmp((const char *)n->name, name) == 0;
}

/* The first element name among n and its following siblings; NULL when there is none. */
static xmlNode *el_from(xmlNode *n, const char *name)
{
	for (; n; n = n->next)
		if (is_el(n, name))
			return n;
	return NULL;
}

/* The first child element name of parent; NULL when there is none or parent is NULL. */
static xmlNode *child(const xmlNode *parent, const char *name)
{
	return parent ? el_from(parent->children, name) : NULL;
}

/* The next sibling element name after n: with child, a loop over the children of one name. */
static xmlNode *sibling(const xmlNode *n, const char *name)
{
	return el_from(n->next, name);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The element's own text (text and CDATA children), trimmed; NULL when empty. Allocation failure sets oom. */
static char *text_of(pctx *c, const xmlNode *n)
{
	const xmlNode *t, *only = NULL;
	size_t parts = 0, len;
	const char *s;
	char *r;

	if (!n)
		return NULL;
	for (t = n->children; t; t = t->next)
		if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content) {
			only = t;
			parts++;
		}
	if (parts == 0)
		return NULL;
	if (parts == 1) {
		s = (const char *)only->content;
		while (is_space(*s))
			s++;
		len = strlen(s);
		while (len > 0 && is_space(s[len - 1]))
			len--;
		if (len == 0)
			return NULL;
		r = gb_strndup(s, len);
		if (!r)
			c->oom = true;
		return r;
	}
	{
		gb_buf b;
		gb_buf_init(&b, GB_CS_MAX_FILE);
		for (t = n->children; t; t = t->next)
			if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content &&
			    gb_buf_puts(&b, (const char *)t->content, NULL) != 0) {
				c->oom = true;
				gb_buf_free(&b);
				return NULL;
			}
		s = gb_buf_cstr(&b);
		while (is_space(*s))
			s++;
		len = strlen(s);
		while (len > 0 && is_space(s[len - 1]))
			len--;
		r = len ? gb_strndup(s, len) : NULL;
		if (len && !r)
			c->oom = true;
		gb_buf_free(&b);
		return r;
	}
}

/* Whether the element's first text starts with prefix (ignoring case and leading white space): a cheap test that
 * spares a copy of every schema name. */
static bool text_has_prefix(const xmlNode *n, const char *prefix)
{
	const xmlNode *t;
	const char *s;

	for (t = n->children; t; t = t->next)
		if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content) {
			for (s = (const char *)t->content; is_space(*s); s++)
				;
			if (*s)
				return gb_str_ihas_prefix(s, prefix);
		}
	return false;
}

static char *child_text(pctx *c, const xmlNode *parent, const char *name)
{
	return text_of(c, child(parent, name));
}

static char *attr_of(pctx *c, const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *r = NULL;

	if (!v)
		return NULL;
	if (v[0]) {
		r = gb_strdup((const char *)v);
		if (!r)
			c->oom = true;
	}
	xmlFree(v);
	return r;
}

static bool text_is_true(const char *s)
{
	return s && (gb_str_iequal(s, "true") || strcmp(s, "1") == 0 || gb_str_iequal(s, "yes"));
}

/* Whether the text of parent's child name says true (text_is_true); false when there is no such child. */
static bool child_true(pctx *c, const xmlNode *parent, const char *name)
{
	char *s = child_text(c, parent, name);
	bool yes = text_is_true(s);

	free(s);
	return yes;
}

/* The text of parent's child name as a normalised GUID (gb_cs_guid_norm), allocated; NULL when there is no such
 * child or when out of memory (then c->oom is set). */
static char *child_guid(pctx *c, const xmlNode *parent, const char *name)
{
	char *s = child_text(c, parent, name), *guid = gb_cs_guid_norm(s);

	if (s && !guid)
		c->oom = true;
	free(s);
	return guid;
}

/* A copy of the name of the file being read; NULL when out of memory (then c->oom is set). */
static char *file_name(pctx *c)
{
	char *f = gb_strdup(c->name);

	if (!f)
		c->oom = true;
	return f;
}

static void list_add(pctx *c, gb_cs_strlist *l, char *owned)
{
	char **slot;

	if (!owned)
		return;
	slot = PUSH(c, l->items, l->count);
	if (!slot) {
		free(owned);
		return;
	}
	*slot = owned;
}

/* Collects the text of every `name` child of parent into l (empty ones skipped). */
static void list_children(pctx *c, gb_cs_strlist *l, const xmlNode *parent, const char *name)
{
	const xmlNode *n;

	for (n = child(parent, name); n && !c->oom; n = sibling(n, name))
		list_add(c, l, text_of(c, n));
}

/* Appends every <parameter name=...> child of parent-values to ps. */
static void read_parameters(pctx *c, gb_cs_params *ps, const xmlNode *values)
{
	const xmlNode *n;

	for (n = child(values, "parameter"); n && !c->oom; n = sibling(n, "parameter")) {
		gb_cs_param *p;
		char *enc;

		p = PUSH(c, ps->items, ps->count);
		if (!p)
			return;
		p->name = attr_of(c, n, "name");
		p->use = attr_of(c, n, "use");
		enc = attr_of(c, n, "encrypted");
		if (!text_is_true(enc))
			p->value = text_of(c, n);
		free(enc);
	}
}

/* Depth-first successor of n inside the subtree rooted at root (elements only). */
static xmlNode *next_el(xmlNode *n, const xmlNode *root)
{
	if (n->children) {
		xmlNode *k;
		for (k = n->children; k; k = k->next)
			if (k->type == XML_ELEMENT_NODE)
				return k;
	}
	while (n && n != root) {
		xmlNode *s;
		for (s = n->next; s; s = s->next)
			if (s->type == XML_ELEMENT_NODE)
				return s;
		n = n->parent;
	}
	return NULL;
}

/* ---- documents ----------------------------------------------------------------------------------------- */

static void read_partition(pctx *c, gb_cs_connector *con, const xmlNode *pn)
{
	gb_cs_partition *p = PUSH(c, con->partitions, con->partition_count);
	const xmlNode *filter, *containers;

	if (!p)
		return;
	p->name = child_text(c, pn, "name");
	p->display_name = child_text(c, pn, "display-name");
	p->selected = child_true(c, pn, "selected");
	filter = child(pn, "filter");
	list_children(c, &p->object_classes, child(filter, "object-classes"), "object-class");
	containers = child(filter, "containers");
	list_children(c, &p->inclusions, child(containers, "inclusions"), "inclusion");
	list_children(c, &p->exclusions, child(containers, "exclusions"), "exclusion");
}

static void add_extension_name(pctx *c, gb_cs_connector *con, char *owned)
{
	if (!owned)
		return;
	if (!gb_str_ihas_prefix(owned, "extension_") || gb_cs_strlist_has(&con->extension_attributes, owned)) {
		free(owned);
		return;
	}
	list_add(c, &con->extension_attributes, owned);
}

static void read_connector(pctx *c, xmlNode *root)
{
	gb_cs_export *exp = c->exp;
	gb_cs_connector *con = PUSH(c, exp->connectors, exp->connector_count);
	xmlNode *n, *priv, *cfg, *schema;
	char *ext_file = NULL;

	if (!con)
		return;
	con->file = file_name(c);
	con->id = child_guid(c, root, "id");
	con->name = child_text(c, root, "name");
	con->category = child_text(c, root, "category");
	con->subtype = child_text(c, root, "subtype");

	priv = child(root, "private-configuration");
	cfg = child(priv, "adma-configuration");
	if (cfg) {
		con->forest = child_text(c, cfg, "forest-name");
		read_parameters(c, &con->params, child(cfg, "parameter-values"));
	}
	cfg = child(priv, "MAConfig");
	if (cfg) {
		read_parameters(c, &con->params, child(cfg, "parameter-values"));
		ext_file = child_text(c, child(cfg, "extension-config"), "filename");
	}
	if (!con->writeback_container) {
		const char *v = gb_cs_param_get(&con->params, "Connector.GroupWriteBackContainerDn");
		if (v && !(con->writeback_container = gb_strdup(v)))
			c->oom = true;
	}

	if (con->id && gb_cs_guid_equal(con->id, GB_CS_ENTRA_CONNECTOR_ID))
		con->kind = GB_CS_CONNECTOR_ENTRA;
	else if (con->category && gb_str_iequal(con->category, "Extensible2") &&
	         ((con->subtype && strstr(con->subtype, "Azure Active Directory")) ||
	          (ext_file && gb_str_iequal(ext_file, "Microsoft.Azure.ActiveDirectory.Connector.dll"))))
		con->kind = GB_CS_CONNECTOR_ENTRA;
	else if (con->category && gb_str_iequal(con->category, "AD"))
		con->kind = GB_CS_CONNECTOR_AD;
	free(ext_file);

	for (n = child(child(root, "ma-partition-data"), "partition"); n && !c->oom; n = sibling(n, "partition"))
		read_partition(c, con, n);

	/* extension attributes: DSML attribute-type names in the schema (schema/dsml/directory-schema/attribute-type,
	 * each level matched by namespace URI; only these levels are visited, not the whole schema subtree) */
	schema = child(root, "schema");
	for (n = schema ? schema->children : NULL; n && !c->oom; n = n->next) {
		xmlNode *ds, *at, *k;
		if (!is_dsml(n, "dsml"))
			continue;
		for (ds = n->children; ds && !c->oom; ds = ds->next) {
			if (!is_dsml(ds, "directory-schema"))
				continue;
			for (at = ds->children; at && !c->oom; at = at->next) {
				if (!is_dsml(at, "attribute-type"))
					continue;
				for (k = at->children; k; k = k->next)
					if (is_dsml(k, "name") && text_has_prefix(k, "extension_"))
						add_extension_name(c, con, text_of(c, k));
			}
		}
	}
	for (n = child(child(root, "attribute-inclusion"), "attribute"); n && !c->oom; n = sibling(n, "attribute"))
		add_extension_name(c, con, text_of(c, n));
}

static void read_global(pctx *c, xmlNode *root)
{
	gb_cs_export *exp = c->exp;
	xmlNode *mv = child(root, "mv-data"), *n;

	exp->has_global_settings = true;
	if (!exp->server)
		exp->server = attr_of(c, root, "server");
	if (!exp->export_date)
		exp->export_date = attr_of(c, root, "export-date");
	for (n = child(mv, "parameter-values"); n && !c->oom; n = sibling(n, "parameter-values"))
		read_parameters(c, &exp->global_params, n);
}

static void read_rule(pctx *c, xmlNode *root)
{
	gb_cs_export *exp = c->exp;
	gb_cs_rule *r = PUSH(c, exp->rules, exp->rule_count);
	xmlNode *g, *k;
	char *s;

	if (!r)
		return;
	r->file = file_name(c);
	r->id = child_guid(c, root, "id");
	r->name = child_text(c, root, "name");
	r->description = child_text(c, root, "description");
	r->immutable_tag = child_text(c, root, "immutable-tag");
	r->direction = child_text(c, root, "direction");
	r->disabled = child_true(c, root, "disabled");
	r->connector = child_guid(c, root, "connector");
	r->source_type = child_text(c, root, "sourceObjectType");
	r->target_type = child_text(c, root, "targetObjectType");
	r->link_type = child_text(c, root, "linkType");
	s = child_text(c, root, "precedence");
	r->precedence = -1;
	if (s && gb_parse_long(s, 0, 1000000000L, &r->precedence) != 0)
		r->precedence = -1;
	free(s);

	/* scope: each <conditions> is an AND group; groups are OR-ed */
	for (g = child(child(root, "synchronizationCriteria"), "conditions"); g && !c->oom;
	     g = sibling(g, "conditions")) {
		gb_cs_scope_group *sg = PUSH(c, r->scope, r->scope_count);

		for (k = sg ? child(g, "scope") : NULL; k && !c->oom; k = sibling(k, "scope")) {
			gb_cs_scope *sc = PUSH(c, sg->items, sg->count);

			if (!sc)
				break;
			sc->attribute = child_text(c, k, "csAttribute");
			sc->op = child_text(c, k, "csOperator");
			sc->value = child_text(c, k, "csValue");
		}
	}
	for (g = child(child(root, "relationshipCriteria"), "conditions"); g && !c->oom;
	     g = sibling(g, "conditions")) {
		gb_cs_join_group *jg = PUSH(c, r->join, r->join_count);

		for (k = jg ? child(g, "condition") : NULL; k && !c->oom; k = sibling(k, "condition")) {
			gb_cs_join *j = PUSH(c, jg->items, jg->count);

			if (!j)
				break;
			j->cs_attribute = child_text(c, k, "csAttribute");
			j->mv_attribute = child_text(c, k, "ilmAttribute");
			j->case_sensitive = child_true(c, k, "caseSensitive");
		}
	}
	for (g = child(child(root, "attribute-mappings"), "mapping"); g && !c->oom; g = sibling(g, "mapping")) {
		gb_cs_mapping *m;
		xmlNode *src;

		m = PUSH(c, r->mappings, r->mapping_count);
		if (!m)
			break;
		s = attr_of(c, g, "execute-once");
		m->execute_once = text_is_true(s);
		free(s);
		m->dest = child_text(c, g, "dest");
		m->expression = child_text(c, g, "expression");
		m->merge = child_text(c, g, "valueMergeType");
		src = child(g, "src");
		list_children(c, &m->sources, src, "attr");
		if (m->expression)
			m->flow = GB_CS_FLOW_EXPRESSION;
		else if (m->sources.count)
			m->flow = GB_CS_FLOW_DIRECT;
		else {
			m->flow = GB_CS_FLOW_CONSTANT;
			m->constant = text_of(c, src);
		}
	}
}

/* PersistedState.xml: its layout is not documented, so keep every Key/Value pair and every leaf element's text. */
static void read_persisted(pctx *c, xmlNode *root)
{
	gb_cs_export *exp = c->exp;
	xmlNode *n;

	exp->has_persisted_state = true;
	for (n = root; n && !c->oom && exp->persisted.count < MAX_PERSISTED; n = next_el(n, root)) {
		xmlNode *k, *key = NULL, *val = NULL;
		bool leaf = true;
		gb_cs_param *p;

		for (k = n->children; k; k = k->next) {
			if (k->type != XML_ELEMENT_NODE)
				continue;
			leaf = false;
			if (gb_str_iequal((const char *)k->name, "Key"))
				key = k;
			else if (gb_str_iequal((const char *)k->name, "Value"))
				val = k;
		}
		if (key && val) {
			p = PUSH(c, exp->persisted.items, exp->persisted.count);
			if (!p)
				return;
			p->name = text_of(c, key);
			p->value = text_of(c, val);
		} else if (leaf && !gb_str_iequal((const char *)n->name, "Key") &&
		           !gb_str_iequal((const char *)n->name, "Value")) {
			char *v = text_of(c, n);
			if (!v)
				continue;
			p = PUSH(c, exp->persisted.items, exp->persisted.count);
			if (!p) {
				free(v);
				return;
			}
			p->name = gb_strdup((const char *)n->name);
			if (!p->name)
				c->oom = true;
			p->value = v;
		}
	}
}

/* ---- parsing one document ------------------------------------------------------------------------------- */

typedef struct doctype_guard {
	bool seen;
	int line;
} doctype_guard;

/* Called by libxml2 for <!DOCTYPE ...> before any declaration is read: refuse the document there. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr p = ctx;
	doctype_guard *g = p->_private;

	(void)name;
	(void)external_id;
	(void)system_id;
	g->seen = true;
	g->line = p->input ? p->input->line : 0;
	xmlStopParser(p);
}

static void lower_first(char *s)
{
	if (s[0] >= 'A' && s[0] <= 'Z')
		s[0] = (char)(s[0] - 'A' + 'a');
}

static const char *root_name_for(gb_cs_doc_kind kind)
{
	switch (kind) {
	case GB_CS_DOC_CONNECTOR: return "ma-data";
	case GB_CS_DOC_GLOBAL: return "saved-mv-configuration";
	case GB_CS_DOC_RULE: return "synchronizationRule";
	default: return NULL;
	}
}

typedef struct bounded_fd {
	int fd;
	size_t left; /* bytes still allowed: the size checked before parsing */
} bounded_fd;

static int bounded_read(void *ctx, char *buf, int len)
{
	bounded_fd *b = ctx;
	ssize_t n;

	if (b->left == 0 || len <= 0)
		return 0;
	if ((size_t)len > b->left)
		len = (int)b->left;
	do
		n = read(b->fd, buf, (size_t)len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	b->left -= (size_t)n;
	return (int)n;
}

static int bounded_close(void *ctx)
{
	(void)ctx; /* the caller closes the descriptor */
	return 0;
}

/* Parses from memory (data, len) or, when fd >= 0, from the open file (whose size the caller has bounded). */
static int parse_doc(gb_cs_export *exp, gb_cs_doc_kind kind, const char *name, const void *data, size_t len, int fd,
                     gb_error *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	xmlNode *root;
	doctype_guard guard = {false, 0};
	pctx c = {exp, name ? name : "(document)", false};
	const char *want;
	/* no NOENT, DTDLOAD, DTDATTR or XINCLUDE: nothing outside the document is ever read */
	const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
	                    XML_PARSE_COMPACT | XML_PARSE_NOBLANKS;
	int rc = 0;

	if (len > GB_CS_MAX_FILE)
		return gb_error_set(err, GB_ETOOBIG, "%s: %zu bytes, above the limit of %zu", c.name, len,
		                    GB_CS_MAX_FILE);
	if (len == 0)
		return gb_error_set(err, GB_EPARSE, "%s:1: malformed xml: the file is empty", c.name);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return gb_error_set(err, GB_ENOMEM, "%s: out of memory creating the xml parser", c.name);
	ctxt->_private = &guard;
	ctxt->sax->internalSubset = refuse_doctype;
	if (fd >= 0) {
		bounded_fd b = {fd, len};
		doc = xmlCtxtReadIO(ctxt, bounded_read, bounded_close, &b, c.name, NULL, options);
	} else
		doc = xmlCtxtReadMemory(ctxt, data, (int)len, c.name, NULL, options);
	if (guard.seen) {
		rc = gb_error_set(err, GB_EPARSE,
		                  "%s:%d: document type declarations are refused (they can pull in external entities); "
		                  "a Connect Sync export has none",
		                  c.name, guard.line > 0 ? guard.line : 1);
		goto done;
	}
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed");
		msg[strcspn(msg, "\n")] = '\0';
		lower_first(msg);
		rc = gb_error_set(err, GB_EPARSE, "%s:%d: malformed xml: %s", c.name, e && e->line > 0 ? e->line : 1,
		                  msg);
		goto done;
	}
	root = xmlDocGetRootElement(doc);
	if (!root) {
		rc = gb_error_set(err, GB_EPARSE, "%s:1: malformed xml: no root element", c.name);
		goto done;
	}
	if (kind == GB_CS_DOC_ANY) {
		if (is_el(root, "ma-data"))
			kind = GB_CS_DOC_CONNECTOR;
		else if (is_el(root, "saved-mv-configuration"))
			kind = GB_CS_DOC_GLOBAL;
		else if (is_el(root, "synchronizationRule"))
			kind = GB_CS_DOC_RULE;
		else
			goto done; /* an unknown document is ignored, as unknown elements are */
	}
	want = root_name_for(kind);
	if (want && !is_el(root, want)) {
		if (kind == GB_CS_DOC_GLOBAL)
			goto done; /* GlobalSettings may hold other documents; only MV.xml matters */
		rc = gb_error_set(err, GB_EPARSE, "%s:%d: expected a <%s> document, found <%s>", c.name,
		                  (int)xmlGetLineNo(root), want, (const char *)root->name);
		goto done;
	}
	switch (kind) {
	case GB_CS_DOC_CONNECTOR: read_connector(&c, root); break;
	case GB_CS_DOC_GLOBAL: read_global(&c, root); break;
	case GB_CS_DOC_RULE: read_rule(&c, root); break;
	case GB_CS_DOC_PERSISTED: read_persisted(&c, root); break;
	default: break;
	}
	if (c.oom)
		rc = gb_error_set(err, GB_ENOMEM, "%s: out of memory", c.name);
done:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

int gb_cs_add_document(gb_cs_export *exp, gb_cs_doc_kind kind, const char *name, const void *data, size_t len,
                       gb_error *err)
{
	return parse_doc(exp, kind, name, data, len, -1, err);
}

/* ---- the folder ---------------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_xml_suffix(const char *s)
{
	size_t n = strlen(s);

	return n > 4 && gb_str_iequal(s + n - 4, ".xml");
}

/* Lists the *.xml files of dir, sorted. GB_ENOTFOUND when dir is absent. */
static int list_xml(const char *dir, gb_cs_strlist *out, gb_error *err)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	d = opendir(dir);
	if (!d)
		return gb_error_set(err, errno == ENOENT ? GB_ENOTFOUND : GB_EIO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char path[4096];

		if (e->d_name[0] == '.' || !has_xml_suffix(e->d_name))
			continue;
		if (out->count >= GB_CS_MAX_FILES) {
			rc = gb_error_set(err, GB_ETOOBIG, "%s: more than %d xml files", dir, GB_CS_MAX_FILES);
			break;
		}
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path)) {
			rc = gb_error_set(err, GB_EINVAL, "%s/%s: path too long", dir, e->d_name);
			break;
		}
		if (gb_cs_strlist_add(out, path) != 0) {
			rc = gb_error_set(err, GB_ENOMEM, "listing %s: out of memory", dir);
			break;
		}
	}
	closedir(d);
	if (!rc && out->count > 1) /* qsort must not see the NULL array of an empty folder */
		qsort(out->items, out->count, sizeof(*out->items), cmp_str);
	return rc;
}

/* Opens path, checks it is a regular file within the bounds, and parses it straight from the descriptor (libxml2
 * reads it in small chunks, so no copy of the whole file is made). */
static int import_file(gb_cs_export *exp, const char *path, gb_cs_doc_kind kind, gb_error *err)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gb_error_set(err, errno == ENOENT ? GB_ENOTFOUND : GB_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return gb_error_set(err, GB_EIO, "%s: not a regular file", path);
	}
	if ((size_t)st.st_size > GB_CS_MAX_FILE) {
		close(fd);
		return gb_error_set(err, GB_ETOOBIG, "%s: %lld bytes, above the limit of %zu per file", path,
		                    (long long)st.st_size, GB_CS_MAX_FILE);
	}
	if (exp->byte_count + (size_t)st.st_size > GB_CS_MAX_TOTAL) {
		close(fd);
		return gb_error_set(err, GB_ETOOBIG, "%s: the export exceeds the limit of %zu bytes in all", path,
		                    GB_CS_MAX_TOTAL);
	}
	/* parse_doc reads no more than the size checked here, even if the file grows meanwhile */
	rc = parse_doc(exp, kind, path, NULL, (size_t)st.st_size, fd, err);
	close(fd);
	if (!rc) {
		exp->byte_count += (size_t)st.st_size;
		exp->file_count++;
	}
	return rc;
}

static int import_folder(gb_cs_export *exp, const char *dir, const char *sub, gb_cs_doc_kind kind, gb_error *err)
{
	gb_cs_strlist files = {NULL, 0};
	char path[4096];
	size_t i;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, sub) >= (int)sizeof(path))
		return gb_error_set(err, GB_EINVAL, "%s/%s: path too long", dir, sub);
	rc = list_xml(path, &files, err);
	if (rc == GB_ENOTFOUND)
		gb_error_set(err, GB_ENOTFOUND,
		             "%s: missing; the export folder is incomplete (expected Connectors, "
		             "GlobalSettings and SynchronizationRules)",
		             path);
	for (i = 0; !rc && i < files.count; i++) {
		rc = import_file(exp, files.items[i], kind, err);
	}
	gb_cs_strlist_free(&files);
	return rc;
}

/* PersistedState.xml beside the three folders, its name in any case (the folder may come from Windows). */
static bool find_persisted(const char *dir, char *path, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)) != NULL)
		if (gb_str_iequal(e->d_name, "PersistedState.xml"))
			found = snprintf(path, n, "%s/%s", dir, e->d_name) < (int)n;
	closedir(d);
	return found;
}

int gb_cs_import_dir(const char *dir, gb_cs_export **out, gb_error *err)
{
	gb_cs_export *exp = NULL;
	struct stat st;
	char path[4096];
	int rc;

	*out = NULL;
	if (!dir || !*dir)
		return gb_error_set(err, GB_EINVAL, "no export folder given");
	if (stat(dir, &st) != 0)
		return gb_error_set(err, errno == ENOENT ? GB_ENOTFOUND : GB_EIO, "export folder %s: %s", dir,
		                    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return gb_error_set(err, GB_EINVAL, "export folder %s: not a folder", dir);
	rc = gb_cs_export_new(&exp, err);
	if (rc)
		return rc;
	exp->dir = gb_strdup(dir);
	if (!exp->dir) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto fail;
	}
	rc = import_folder(exp, dir, "GlobalSettings", GB_CS_DOC_GLOBAL, err);
	if (rc)
		goto fail;
	if (!exp->has_global_settings) {
		rc = gb_error_set(
		    err, GB_ENOTFOUND,
		    "%s/GlobalSettings: no MV.xml (saved-mv-configuration) found; the export is incomplete", dir);
		goto fail;
	}
	rc = import_folder(exp, dir, "Connectors", GB_CS_DOC_CONNECTOR, err);
	if (rc)
		goto fail;
	rc = import_folder(exp, dir, "SynchronizationRules", GB_CS_DOC_RULE, err);
	if (rc)
		goto fail;
	if (find_persisted(dir, path, sizeof(path))) {
		rc = import_file(exp, path, GB_CS_DOC_PERSISTED, err);
		if (rc)
			goto fail;
	}
	rc = gb_cs_analyze(exp, err);
	if (rc)
		goto fail;
	*out = exp;
	return 0;
fail:
	gb_cs_export_free(exp);
	return rc;
}
