/* engine.c: the apply engine's stages (gate, dispatch, record), its executor table and its ordering (apply.h). */
#include "groupbridge/apply.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/map.h"
#include "groupbridge/util.h"

#include "apply/apply_int.h"

static int state_only(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err)
{
	(void)o, (void)op, (void)target, (void)x, (void)err;
	return 0;
}

/* One executor per kind (plan.h says what each kind means). */
static const gb_executor executors[GB_OP_KIND_COUNT] = {
    [GB_OP_CREATE_GROUP] = gb_exec_ldap_create,
    [GB_OP_SET_ATTRS] = gb_exec_ldap_set,
    [GB_OP_RENAME] = gb_exec_ldap_rename,
    [GB_OP_MOVE] = gb_exec_ldap_rename,
    [GB_OP_ADD_MEMBERS] = gb_exec_ldap_add_members,
    [GB_OP_REMOVE_MEMBERS] = gb_exec_ldap_remove_members,
    [GB_OP_DELETE_GROUP] = gb_exec_ldap_delete,
    [GB_OP_UNMANAGE] = state_only,
    [GB_OP_ADD_VALUE] = gb_exec_ldap_add_value,
    [GB_OP_DELETE_VALUE] = gb_exec_ldap_delete_value,
    [GB_OP_HANDOFF] = state_only,
    [GB_OP_GRAPH_CREATE_APP] = gb_exec_graph_create_app,
    [GB_OP_GRAPH_CREATE_SP] = gb_exec_graph_create_sp,
    [GB_OP_GRAPH_CREATE_EXTENSION] = gb_exec_graph_create_extension,
    [GB_OP_GRAPH_SET_EXTENSION] = gb_exec_graph_set_extension,
    [GB_OP_GRAPH_SET_SOA] = gb_exec_graph_set_soa,
    [GB_OP_GRAPH_ASSIGN_ROLE] = gb_exec_graph_assign_role,
    [GB_OP_GRAPH_REMOVE_ROLE] = gb_exec_graph_remove_role,
};

void gb_exec_out_clear(gb_exec_out *x)
{
	free(x->dn_after);
	free(x->guid);
	free(x->created_id);
	memset(x, 0, sizeof(*x));
}

/* ---- ordering ---- */

static const char *object_key(const gb_op *op)
{
	return op->object_id ? op->object_id : op->target;
}

static int add_dep(gb_apply_order *ord, size_t i, size_t on, gb_apply_dep_kind kind, gb_error *err)
{
	gb_apply_dep *d;
	size_t k;

	for (k = 0; k < ord->ndeps[i]; k++)
		if (ord->deps[i][k].op == on)
			return 0;
	d = realloc(ord->deps[i], (ord->ndeps[i] + 1) * sizeof(*d));
	if (!d)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	d[ord->ndeps[i]].op = on;
	d[ord->ndeps[i]].kind = kind;
	ord->deps[i] = d;
	ord->ndeps[i]++;
	return 0;
}

/* Operation i names a group created earlier in the plan (by the DN that create addresses). */
static int created_refs(gb_apply_order *ord, const gb_plan *plan, size_t i, const gb_map *created, gb_error *err)
{
	const gb_op *op = &plan->ops[i];
	uintptr_t c;
	size_t k;
	int rc = 0;

	if (op->target && (c = (uintptr_t)gb_map_get(created, op->target)) != 0 && c - 1 != i)
		rc = add_dep(ord, i, c - 1, GB_DEP_CREATED, err);
	for (k = 0; !rc && k < op->nvalues; k++)
		if ((c = (uintptr_t)gb_map_get(created, op->values[k])) != 0 && c - 1 != i)
			rc = add_dep(ord, i, c - 1, GB_DEP_CREATED, err);
	return rc;
}

/* A create's sAMAccountName, else NULL. */
static const char *sam_of(const gb_op *op)
{
	size_t k;

	for (k = 0; op->kind == GB_OP_CREATE_GROUP && k < op->nattrs; k++)
		if (gb_str_iequal(op->attrs[k].name, "sAMAccountName"))
			return op->attrs[k].after;
	return NULL;
}

/* Operation i after the previous operation of another object under the same name (key: its DN, or "sam:" and the
 * sAMAccountName it creates), whichever succeeds: the first in plan order gets the name, as one at a time. */
static int same_name(gb_apply_order *ord, const gb_plan *plan, size_t i, gb_map *names, const char *name,
		     gb_error *err)
{
	uintptr_t prev = (uintptr_t)gb_map_get(names, name);
	int rc = 0;

	if (prev && !gb_str_iequal(object_key(&plan->ops[prev - 1]), object_key(&plan->ops[i])))
		rc = add_dep(ord, i, prev - 1, GB_DEP_SAME_NAME, err);
	return rc ? rc : gb_map_set(names, name, (void *)(uintptr_t)(i + 1), err);
}

static int name_refs(gb_apply_order *ord, const gb_plan *plan, size_t i, gb_map *names, gb_error *err)
{
	const gb_op *op = &plan->ops[i];
	const char *sam = sam_of(op);
	char *key;
	int rc = 0;

	if (op->target && *op->target)
		rc = same_name(ord, plan, i, names, op->target, err);
	if (!rc && sam && *sam) {
		size_t len = strlen(sam) + sizeof("sam:");

		if (!(key = malloc(len)))
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		snprintf(key, len, "sam:%s", sam);
		rc = same_name(ord, plan, i, names, key, err);
		free(key);
	}
	return rc;
}

int gb_apply_order_new(const gb_plan *plan, gb_apply_order **out, gb_error *err)
{
	gb_apply_order *ord = calloc(1, sizeof(*ord));
	gb_map *last = NULL, *created = NULL, *names = NULL;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!ord)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	ord->nops = plan->nops;
	ord->deps = calloc(plan->nops ? plan->nops : 1, sizeof(*ord->deps));
	ord->ndeps = calloc(plan->nops ? plan->nops : 1, sizeof(*ord->ndeps));
	if (!ord->deps || !ord->ndeps)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &last, err);
	if (!rc)
		rc = gb_map_new(0, &created, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &names, err);
	for (i = 0; !rc && i < plan->nops; i++) {
		const gb_op *op = &plan->ops[i];
		const char *key = object_key(op);
		uintptr_t prev = key ? (uintptr_t)gb_map_get(last, key) : 0;

		if (prev)
			rc = add_dep(ord, i, prev - 1, GB_DEP_SAME_OBJECT, err);
		if (!rc && key)
			rc = gb_map_set(last, key, (void *)(uintptr_t)(i + 1), err);
		if (!rc && gb_map_count(created))
			rc = created_refs(ord, plan, i, created, err);
		if (!rc && key)
			rc = name_refs(ord, plan, i, names, err);
		if (!rc && op->kind == GB_OP_CREATE_GROUP && op->target)
			rc = gb_map_set(created, op->target, (void *)(uintptr_t)(i + 1), err);
	}
	gb_map_free(last);
	gb_map_free(created);
	gb_map_free(names);
	if (rc) {
		gb_apply_order_free(ord);
		return rc;
	}
	*out = ord;
	return 0;
}

void gb_apply_order_free(gb_apply_order *order)
{
	size_t i;

	if (!order)
		return;
	for (i = 0; order->deps && i < order->nops; i++)
		free(order->deps[i]);
	free(order->deps);
	free(order->ndeps);
	free(order);
}

/* ---- the engine ---- */

/* One operation in flight: what dispatch found, until record has written it. */
typedef struct slot {
	gb_audit_outcome outcome;
	int code;
	gb_error msg;
	char *target;
	gb_exec_out x;
} slot;

typedef struct engine {
	const gb_plan *plan;
	const gb_apply_opts *o;
	const char *tag;
	gb_apply_result *res;
	gb_apply_order *order;
	unsigned char *status; /* per operation: its gb_audit_outcome once recorded */
	gb_map *dn_now;        /* object key -> where an earlier rename or move left it (owned strings) */
	size_t batch;
	gb_error stop;         /* set when the apply must stop once this operation is recorded */
	gb_pool *pool;         /* writes in flight (NULL: one at a time) */
	size_t in_flight;      /* at most this many units sent and not recorded */
} engine;

/* A unit: one operation, or two sent as one request, from dispatch until record. Dispatch (prepare, execute,
 * complete) fills its slots; execute may run on a pool worker and touches nothing but the unit. */
typedef struct unit {
	engine *e;
	size_t i, n;
	slot slots[2];
	int rc, nrc;   /* execute: the outcomes of the operation and of the one sent with it */
	bool nskip;    /* the one sent with it was not sent */
	gb_error oe, ne;
	bool done;     /* completed: ready to record */
} unit;

static void slot_clear(slot *s)
{
	free(s->target);
	gb_exec_out_clear(&s->x);
	memset(s, 0, sizeof(*s));
}

/* Gate: skipped when an operation this one depends on as its object's did not succeed. */
static bool blocked(const engine *e, size_t i)
{
	size_t k;

	for (k = 0; k < e->order->ndeps[i]; k++)
		if (e->order->deps[i][k].kind == GB_DEP_SAME_OBJECT &&
		    e->status[e->order->deps[i][k].op] != GB_OUTCOME_OK)
			return true;
	return false;
}

static size_t unit_size(const engine *e, size_t i)
{
	const gb_plan *p = e->plan;

	return i + 1 < p->nops && gb_op_kind_is_ldap(p->ops[i].kind) &&
		       gb_exec_ldap_pairs(&p->ops[i], &p->ops[i + 1], e->batch)
		   ? 2
		   : 1;
}

static int set_target(engine *e, const gb_op *op, slot *s)
{
	const char *key = object_key(op), *now = key ? gb_map_get(e->dn_now, key) : NULL;

	s->target = gb_strdup(now ? now : op->target ? op->target : "");
	return s->target ? 0 : GB_ENOMEM;
}

static void finish_slot(engine *e, const gb_op *op, slot *s, int rc, const gb_error *msg)
{
	s->code = rc;
	s->outcome = rc ? GB_OUTCOME_FAILED : GB_OUTCOME_OK;
	if (rc) {
		s->msg = *msg;
		gb_err(e->tag, "%s %s: %s", gb_op_kind_name(op->kind), s->target, msg->msg);
	}
	/* The directory stopped answering and reconnecting failed: every later operation would wait for the same
	 * reconnect and fail too. This one is recorded, then the apply stops; a rerun plans the rest. */
	if (rc == GB_ERETRY && gb_op_kind_is_ldap(op->kind) && !e->stop.code)
		gb_error_set(&e->stop, GB_ERETRY,
			     "%s %s: %s; stopped after %zu of %zu operations, run again when the directory answers",
			     gb_op_kind_name(op->kind), s->target, msg->msg, (size_t)(op - e->plan->ops) + 1,
			     e->plan->nops);
	if (rc == GB_ENOMEM && !e->stop.code)
		gb_error_set(&e->stop, GB_ENOMEM, "%s", msg->msg);
}

static void progress(const engine *e, size_t i, const char *target, bool carried)
{
	const gb_op *op = &e->plan->ops[i];

	if (e->o->progress)
		fprintf(e->o->progress, "[%zu/%zu] %s %s%s\n", i + 1, e->plan->nops, gb_op_kind_name(op->kind), target,
			carried ? " (sent with the operation before)" : "");
	else
		gb_info(e->tag, "[%zu/%zu] %s %s%s", i + 1, e->plan->nops, gb_op_kind_name(op->kind), target,
			carried ? " (sent with the operation before)" : "");
}

/* Dispatch, on the engine's thread: where each operation goes, the progress line, the caller's check. Non-zero only
 * for running out of memory; a refusal of the check is the unit's outcome (u->rc) and nothing is sent. */
static int prepare(engine *e, unit *u)
{
	const gb_op *op = &e->plan->ops[u->i];

	gb_error_clear(&u->oe);
	gb_error_clear(&u->ne);
	u->rc = u->nrc = 0;
	u->nskip = false;
	if (set_target(e, op, &u->slots[0]) || (u->n == 2 && set_target(e, &e->plan->ops[u->i + 1], &u->slots[1])))
		return GB_ENOMEM;
	progress(e, u->i, u->slots[0].target, false);
	u->rc = e->o->check ? e->o->check(e->o->ctx, op, &u->oe) : 0;
	u->nskip = u->rc != 0; /* refused by the check: the operation sent with it is not sent either */
	return 0;
}

/* Dispatch, anywhere: sends the unit with the connection dir (opts->dir, or a pool worker's). */
static void execute(unit *u, gb_directory *dir)
{
	const engine *e = u->e;
	const gb_op *op = &e->plan->ops[u->i];
	gb_apply_opts o = *e->o;

	if (u->rc)
		return;
	o.dir = dir;
	if (u->n == 2)
		u->rc = gb_exec_ldap_pair(&o, op, u->slots[0].target, &e->plan->ops[u->i + 1], &u->slots[0].x, &u->nrc,
					  &u->nskip, &u->ne, &u->oe);
	else if ((unsigned)op->kind >= GB_OP_KIND_COUNT || !executors[op->kind])
		u->rc = gb_error_set(&u->oe, GB_EUNSUPPORTED, "%s %s: no executor for this kind of operation",
				     gb_op_kind_name(op->kind), u->slots[0].target);
	else
		u->rc = executors[op->kind](&o, op, u->slots[0].target, &u->slots[0].x, &u->oe);
}

static void execute_job(void *job, gb_directory *dir)
{
	execute(job, dir);
}

/* Dispatch, on the engine's thread, once sent: each slot's outcome (and the stop it may call for). */
static void complete(engine *e, unit *u)
{
	finish_slot(e, &e->plan->ops[u->i], &u->slots[0], u->rc, &u->oe);
	if (u->n == 2 && u->nskip) {
		u->slots[1].outcome = GB_OUTCOME_SKIPPED;
		gb_error_set(&u->slots[1].msg, 0, "an earlier operation on this group failed");
	} else if (u->n == 2) {
		progress(e, u->i + 1, u->slots[1].target, true);
		finish_slot(e, &e->plan->ops[u->i + 1], &u->slots[1], u->nrc, &u->ne);
	}
	u->done = true;
}

/* before (after = 0) or after of an operation as JSON text for its audit record: every attribute it concerns, and
 * its member values, new RDN and parent, and what the write produced. NULL when there is nothing to say. */
static char *op_json(const gb_op *op, const slot *s, int after)
{
	json_t *o = json_object();
	size_t i;
	char *text;

	for (i = 0; i < op->nattrs; i++) {
		const char *v = after ? op->attrs[i].after : op->attrs[i].before;
		json_object_set_new(o, op->attrs[i].name, v ? json_string(v) : json_null());
	}
	if (after && op->nvalues) {
		json_t *a = json_array();
		for (i = 0; i < op->nvalues; i++)
			json_array_append_new(a, json_string(op->values[i]));
		json_object_set_new(o, "member", a);
	}
	if (after && op->new_rdn)
		json_object_set_new(o, "rdn", json_string(op->new_rdn));
	if (after && op->new_parent)
		json_object_set_new(o, "parent", json_string(op->new_parent));
	if (after && s->outcome == GB_OUTCOME_OK && s->x.guid)
		json_object_set_new(o, "objectGUID", json_string(s->x.guid));
	if (after && s->outcome == GB_OUTCOME_OK && s->x.created_id)
		json_object_set_new(o, "id", json_string(s->x.created_id));
	text = json_object_size(o) ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return text;
}

/* One operation's audit record and the caller's hook (inside the unit's transaction). */
static int record_one(engine *e, size_t i, slot *s, gb_error *err)
{
	const gb_op *op = &e->plan->ops[i];
	char *before = op_json(op, s, 0), *after = op_json(op, s, 1);
	gb_apply_outcome out;
	gb_audit_entry a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.run_id = e->o->run_id;
	a.step = e->o->step;
	a.operation = gb_op_kind_operation(op->kind);
	a.target = s->target;
	a.before = before;
	a.after = after;
	a.outcome = s->outcome;
	a.message = s->outcome == GB_OUTCOME_OK ? NULL : s->msg.msg;
	rc = gb_audit_append(e->o->st, &a, NULL, err);
	memset(&out, 0, sizeof(out));
	out.outcome = s->outcome;
	out.code = s->code;
	out.message = a.message;
	out.target = s->target;
	out.dn_after = s->outcome == GB_OUTCOME_OK ? s->x.dn_after : NULL;
	out.guid = s->outcome == GB_OUTCOME_OK ? s->x.guid : NULL;
	out.created_id = s->outcome == GB_OUTCOME_OK ? s->x.created_id : NULL;
	if (!rc && e->o->hook)
		rc = e->o->hook(e->o->ctx, e->o->st, op, &out, err);
	free(before);
	free(after);
	return rc;
}

/* The engine's own bookkeeping of a unit whose outcomes were committed. */
static int book(engine *e, size_t i, size_t n, slot *slots, gb_error *err)
{
	size_t k;
	int rc = 0;

	for (k = 0; !rc && k < n; k++) {
		const gb_op *op = &e->plan->ops[i + k];

		e->status[i + k] = (unsigned char)slots[k].outcome;
		e->res->recorded++;
		e->res->applied += slots[k].outcome == GB_OUTCOME_OK;
		e->res->failed += slots[k].outcome == GB_OUTCOME_FAILED;
		e->res->skipped += slots[k].outcome == GB_OUTCOME_SKIPPED;
		/* where a rename or move left the object: later operations on it go there */
		if (slots[k].outcome == GB_OUTCOME_OK && slots[k].x.dn_after &&
		    (op->kind == GB_OP_RENAME || op->kind == GB_OP_MOVE) && object_key(op)) {
			char *old = gb_map_get(e->dn_now, object_key(op));
			rc = gb_map_set(e->dn_now, object_key(op), slots[k].x.dn_after, err);
			if (!rc) {
				free(old);
				slots[k].x.dn_after = NULL;
			}
		}
	}
	return rc;
}

/* The kinds that may be in flight together: writes to one group each, with no effect on any other name. */
static bool may_overlap(const engine *e, const unit *u)
{
	size_t k;

	if (!e->pool)
		return false;
	for (k = 0; k < u->n; k++)
		switch (e->plan->ops[u->i + k].kind) {
		case GB_OP_CREATE_GROUP:
		case GB_OP_SET_ATTRS:
		case GB_OP_ADD_MEMBERS:
		case GB_OP_REMOVE_MEMBERS:
		case GB_OP_ADD_VALUE:
		case GB_OP_DELETE_VALUE:
			break;
		default:
			return false;
		}
	return true;
}

/* Every operation the unit depends on (outside it) is recorded: the first `recorded` operations are. */
static bool deps_recorded(const engine *e, const unit *u, size_t recorded)
{
	size_t k, d;

	for (k = 0; k < u->n; k++)
		for (d = 0; d < e->order->ndeps[u->i + k]; d++)
			if (e->order->deps[u->i + k][d].op < u->i && e->order->deps[u->i + k][d].op >= recorded)
				return false;
	return true;
}

/* The gate: the unit is skipped (recorded as such, nothing sent) when an operation it depends on as its object's
 * did not succeed. */
static int skip_unit(engine *e, unit *u)
{
	size_t k;

	for (k = 0; k < u->n; k++) {
		u->slots[k].outcome = GB_OUTCOME_SKIPPED;
		gb_error_set(&u->slots[k].msg, 0, "an earlier operation on this %s failed",
			     gb_op_kind_is_graph(e->plan->ops[u->i + k].kind) ? "object" : "group");
		if (set_target(e, &e->plan->ops[u->i + k], &u->slots[k]))
			return GB_ENOMEM;
	}
	u->done = true;
	return 0;
}

/* Starts the unit: skipped, sent to a pool worker, or sent here and now. */
static int start(engine *e, unit *u)
{
	if (blocked(e, u->i))
		return skip_unit(e, u);
	if (prepare(e, u))
		return GB_ENOMEM;
	if (!u->rc && may_overlap(e, u) && gb_pool_submit(e->pool, execute_job, u))
		return 0;
	execute(u, e->o->dir);
	complete(e, u);
	return 0;
}

typedef struct window {
	unit *u;      /* a ring of in_flight units, in plan order */
	size_t head, count;
	size_t next;  /* the first operation not started */
	size_t recorded;
} window;

/* Records the units at the head of the window that are done, in plan order, in one transaction: one commit (one
 * sync of the state database to disk) for all of them, rather than one per unit, which on a disk slower to sync than
 * the DC is to answer would pace the writes. The records and their order are those of one transaction per unit. */
static int record_done(engine *e, window *w, gb_error *err)
{
	size_t n = 0, j, k;
	int rc;

	while (n < w->count && w->u[(w->head + n) % e->in_flight].done)
		n++;
	if (!n)
		return 0;
	rc = gb_store_begin(e->o->st, err);
	for (j = 0; !rc && j < n; j++) {
		unit *u = &w->u[(w->head + j) % e->in_flight];

		for (k = 0; !rc && k < u->n; k++)
			rc = record_one(e, u->i + k, &u->slots[k], err);
	}
	if (!rc)
		rc = gb_store_commit(e->o->st, err);
	else
		gb_store_rollback(e->o->st);
	if (!rc && n > 1)
		gb_debug(e->tag, "%zu writes' outcomes recorded in one transaction", n);
	for (j = 0; j < n; j++) {
		unit *u = &w->u[w->head];

		if (!rc)
			rc = book(e, u->i, u->n, u->slots, err);
		w->recorded += u->n;
		for (k = 0; k < 2; k++)
			slot_clear(&u->slots[k]);
		u->done = false;
		w->head = (w->head + 1) % e->in_flight;
		w->count--;
	}
	return rc;
}

/* Waits for one unit in flight to be sent, and completes it. */
static void wait_one(engine *e)
{
	unit *u = gb_pool_wait(e->pool);

	complete(e, u);
}

/* Completes every unit that has been sent meanwhile, without waiting, so that record_done records them together. */
static void take_finished(engine *e)
{
	unit *u;

	while ((u = gb_pool_take(e->pool)))
		complete(e, u);
}

/* Starts the next unit when the window has room and it may go now; true when it did. */
static int try_start(engine *e, window *w, bool *started)
{
	unit *u = &w->u[(w->head + w->count) % e->in_flight];

	*started = false;
	if (w->count == e->in_flight)
		return 0;
	u->e = e;
	u->i = w->next;
	u->n = unit_size(e, w->next);
	u->done = false;
	/* a unit that may not overlap goes alone; one that may goes once what it depends on is recorded, and not while a
	 * connection is reconnecting (a directory gone for good then fails only the writes already in flight) */
	if (may_overlap(e, u) ? !deps_recorded(e, u, w->recorded) || (w->count > 0 && gb_directory_reconnecting())
			      : w->count > 0)
		return 0;
	w->count++;
	w->next += u->n;
	*started = true;
	return start(e, u);
}

static int run(engine *e, gb_error *err)
{
	window w;
	bool started, interrupted = false;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	if (!(w.u = calloc(e->in_flight, sizeof(*w.u))))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	while (!rc && ((!interrupted && !e->stop.code && w.next < e->plan->nops) || w.count)) {
		started = false;
		if (!interrupted && !e->stop.code && w.next < e->plan->nops && gb_stop_requested()) {
			/* Stop between operations: nothing more is sent, what is in flight is recorded, and a rerun plans
			 * the rest. */
			interrupted = true;
			gb_info(e->tag, "stopping on request after %zu of %zu operations", w.next, e->plan->nops);
		}
		/* A stop the directory called for (finish_slot) sends nothing more either. */
		if (!interrupted && !e->stop.code && w.next < e->plan->nops && try_start(e, &w, &started))
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		if (!rc) {
			take_finished(e);
			rc = record_done(e, &w, err);
		}
		if (!rc && !started && w.count && !w.u[w.head].done)
			wait_one(e);
	}
	if (!rc && e->stop.code)
		rc = gb_error_set(err, e->stop.code, "%s", e->stop.msg);
	else if (!rc && interrupted)
		rc = gb_error_set(err, GB_EINTERRUPTED, "stopped on request after %zu of %zu operations; run again to "
							 "finish",
				  w.recorded, e->plan->nops);
	/* a recording that failed: what is still in flight was sent; its outcome is what the next pass reads from AD */
	while (e->pool && gb_pool_busy(e->pool))
		(void)gb_pool_wait(e->pool);
	for (size_t k = 0; k < e->in_flight; k++)
		for (size_t j = 0; j < 2; j++)
			slot_clear(&w.u[k].slots[j]);
	free(w.u);
	return rc;
}

int gb_apply(const gb_plan *plan, const gb_apply_opts *opts, gb_apply_result *res, gb_error *err)
{
	engine e;
	size_t pos = 0, i;
	const char *key;
	void *v;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!opts || !opts->st || !opts->step)
		return gb_error_set(err, GB_EINVAL, "apply: a state database and a step name are needed");
	memset(&e, 0, sizeof(e));
	e.plan = plan;
	e.o = opts;
	e.tag = opts->log_tag ? opts->log_tag : opts->step;
	e.res = res;
	e.batch = opts->member_batch ? opts->member_batch : GB_DIRECTORY_MEMBER_BATCH;
	gb_error_clear(&e.stop);
	for (i = 0; i < plan->nops && !(opts->dir && gb_op_kind_is_ldap(plan->ops[i].kind)); i++)
		;
	/* The fence, in one place: every LDAP write of this plan lands below these containers or is refused. A read-only
	 * DC would refer every write elsewhere: refused before the first, with one message. */
	if (i < plan->nops) {
		rc = gb_directory_set_fence(opts->dir, opts->fence, err);
		gb_directory_lower_member_batch(opts->dir, (long)e.batch);
	}
	if (!rc && i < plan->nops)
		rc = gb_directory_check_writable(opts->dir, err);
	if (!rc)
		rc = gb_apply_order_new(plan, &e.order, err);
	if (!rc && !(e.status = calloc(plan->nops ? plan->nops : 1, 1)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &e.dn_now, err);
	e.in_flight = 1;
	if (!rc && opts->in_flight > 1 && opts->dir && !opts->check) {
		e.in_flight = opts->in_flight;
		rc = gb_pool_new(opts->dir, opts->in_flight, e.tag, &e.pool, err);
		gb_pool_expect(e.pool, plan->nops);
	}
	if (!rc)
		rc = run(&e, err);
	res->peak = e.pool && gb_pool_peak(e.pool) ? gb_pool_peak(e.pool) : res->applied + res->failed > 0;
	if (opts->dir)
		res->member_batch = (size_t)(e.pool ? gb_pool_member_batch(e.pool) : gb_directory_member_batch(opts->dir));
	gb_pool_free(e.pool);
	while (e.dn_now && gb_map_next(e.dn_now, &pos, &key, &v))
		free(v);
	gb_map_free(e.dn_now);
	free(e.status);
	gb_apply_order_free(e.order);
	return rc;
}
