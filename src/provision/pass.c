/* pass.c: one provisioning pass in named phases (see provisioner.h): set up, read (incremental or full), plan, gate,
 * keep the plan, apply through the shared engine (apply.h), and record what the next pass builds from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/anchor.h"
#include "groupbridge/apply.h"
#include "groupbridge/log.h"
#include "groupbridge/mapping.h"
#include "groupbridge/plan_store.h"
#include "groupbridge/provision.h"
#include "groupbridge/util.h"

#include "provision/provision_int.h"

/* ---- apply: the engine, and provisioning's state changes per outcome ---- */

/* What the pass learns from the engine's outcomes, per group. */
typedef struct applied {
	const char *run_id;
	gb_map *failed;  /* object id -> 1: an operation of the group failed or was skipped */
	gb_map *dn_now;  /* object id -> DN after a rename or move (owned) */
	gb_map *guid;    /* object id -> objectGUID of a group created (owned) */
	gb_map *created; /* DN key (gb_provision_dn_key) of a group created -> its objectGUID (owned) */
	gb_map *made;    /* object id -> DN (owned) of a group created: their objectGUIDs are read after the writes */
	const gb_plan *plan;
	unsigned char *ok; /* per operation of plan: 1 once it was applied */
	gb_map *ops_of;    /* object id -> op_list (owned): the group's operations, in plan order (index_ops) */
	/* the uSNChanged guard's reads after the writes, sent as each group's last write is recorded (after_*) */
	gb_gather *g;      /* NULL: none sent during the writes */
	gb_map *usns;      /* objectGUID -> uSNChanged (owned strings) taken from those reads */
	gb_ptrs after_q;   /* objectGUIDs (owned) whose writes all went through, not asked for yet */
	gb_dir_ahead *after; /* reads sent (into usns) */
} applied;

/* The indexes of one group's operations in the plan. */
typedef struct op_list {
	size_t n, cap;
	size_t *i;
} op_list;

static void op_list_free(void *v)
{
	op_list *l = v;

	if (l)
		free(l->i);
	free(l);
}

/* a->ops_of, once: so that what AD holds of each group after the writes costs its own operations, not a walk of the
 * whole plan per group (10,000 groups of a first pass made that 10,000 walks of 20,000 operations) */
static int index_ops(applied *a, gb_error *err)
{
	size_t i;
	int rc = 0;

	if (a->ops_of || !a->plan)
		return 0;
	if ((rc = gb_map_new(GB_MAP_ICASE, &a->ops_of, err)))
		return rc;
	for (i = 0; !rc && i < a->plan->nops; i++) {
		const char *id = a->plan->ops[i].object_id;
		op_list *l;

		if (!id)
			continue;
		if (!(l = gb_map_get(a->ops_of, id))) {
			if (!(l = calloc(1, sizeof(*l))))
				return gb_error_set(err, GB_ENOMEM, "out of memory");
			if ((rc = gb_map_set(a->ops_of, id, l, err))) {
				free(l);
				return rc;
			}
		}
		if (gb_grow(&l->i, l->n, &l->cap, sizeof(*l->i), 4))
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		l->i[l->n++] = i;
	}
	return rc;
}

static int remember(gb_map *m, const char *id, const char *value, gb_error *err)
{
	char *copy = gb_strdup(value), *old = gb_map_get(m, id);

	if (!copy || gb_map_set(m, id, copy, err)) {
		free(copy);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	free(old);
	return 0;
}

/* A group created at dn: a later write of this pass that names it as a member by that DN named this objectGUID. */
static int remember_created(applied *a, const char *dn, const char *guid, gb_error *err)
{
	char *key = NULL;
	int rc = gb_provision_dn_key(dn, &key, err);

	if (!rc)
		rc = remember(a->created, key, guid, err);
	free(key);
	return rc;
}

/* ---- the uSNChanged after the writes, read as each group's writes end ---- */

#define AFTER_IN_FLIGHT 4

static const char *const usn_attrs[] = {"objectGUID", "uSNChanged", NULL};

static int keep_usn(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	char guid[GB_AD_GUID_TEXT_SIZE];
	const char *usn = gb_dir_entry_str(e, "uSNChanged");
	char *copy;

	if (!usn || !gb_dir_entry_guid(e, guid))
		return 0;
	if (!(copy = gb_strdup(usn)))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	free(gb_map_get(ctx, guid));
	return gb_map_set(ctx, guid, copy, err);
}

/* A read taken into a->usns, or one that gave nothing: its objectGUIDs are read again after the writes (usn_after
 * reads every one that no read sent ahead gave). */
static void after_done(void *tag, int rc, const gb_error *why, void *ctx)
{
	(void)tag;
	(void)ctx;
	if (rc)
		gb_debug("provision", "uSNChanged guard: %s; read again after the writes", why->msg);
}

/* Empties the queue of objectGUIDs not sent. */
static void after_q_drop(applied *a)
{
	for (size_t i = 0; i < a->after_q.n; i++)
		free(a->after_q.items[i]);
	a->after_q.n = 0;
}

/* Sends a read of the objectGUIDs queued (their uSNChanged), on the pass's own connection. Without wait (while writes
 * are in flight) it never waits for an answer: with the most reads out and the oldest not whole yet, it is not sent.
 * With wait (after the writes) it waits for the oldest instead. */
static int after_send(applied *a, bool wait, gb_error *err)
{
	gb_buf f;
	int rc = 0;

	if (!a->after_q.n)
		return 0;
	gb_buf_init(&f, 64 * 1024);
	rc = gb_directory_guid_filter((const char *const *)a->after_q.items, a->after_q.n, &f, err);
	if (!rc)
		rc = gb_dir_ahead_send(a->after, gb_buf_cstr(&f), NULL, wait, err);
	gb_buf_free(&f);
	after_q_drop(a);
	return rc;
}

/* Queues guid for a read of its uSNChanged, sent when a batch is full (after_send). */
static int after_queue(applied *a, const char *guid, bool wait, gb_error *err)
{
	int rc = gb_ptrs_push_copy(&a->after_q, guid, err);

	return !rc && a->after_q.n >= GB_DIRECTORY_GUID_BATCH ? after_send(a, wait, err) : rc;
}

static void after_clear(applied *a)
{
	gb_dir_ahead_free(a->after);
	after_q_drop(a);
	free(a->after_q.items);
	gb_provision__map_free_values(a->usns, free);
}

/* Op (recorded OK) was the last of its group's operations, all of which went through: the group's uSNChanged can be
 * read now, while the other groups' writes go on, rather than after all of them. Only for groups of the guard (read
 * or trusted before the writes). */
static int after_group(applied *a, const gb_op *op, gb_error *err)
{
	const op_list *l = gb_map_get(a->ops_of, op->object_id);
	const char *guid = NULL;

	gb_dir_ahead_poll(a->after); /* the answers so far: a DC does not go on while they are not read */
	if (!l || l->i[l->n - 1] != (size_t)(op - a->plan->ops) || gb_map_get(a->failed, op->object_id))
		return 0;
	if (gb_map_get(a->g->usn, op->object_id)) {
		char anchor[GB_ANCHOR_MAX];
		const gb_ad_group *ad = gb_anchor_format(op->object_id, anchor, sizeof(anchor))
						? NULL
						: gb_map_get(a->g->ad_by_anchor, anchor);

		guid = ad ? ad->guid : NULL;
	}
	return guid ? after_queue(a, guid, false, err) : 0;
}

/* The engine's hook: provisioning's state changes for one operation, in the transaction of its audit record. */
static int on_outcome(void *ctx, gb_store *st, const gb_op *op, const gb_apply_outcome *o, gb_error *err)
{
	applied *a = ctx;
	int rc = 0;

	if (o->outcome == GB_OUTCOME_OK && a->ok && op >= a->plan->ops && op < a->plan->ops + a->plan->nops)
		a->ok[op - a->plan->ops] = 1;
	if (!op->object_id)
		return 0;
	if (o->outcome != GB_OUTCOME_OK)
		return gb_map_set(a->failed, op->object_id, (void *)1, err);
	switch (op->kind) {
	case GB_OP_CREATE_GROUP:
		rc = gb_pstate_set_managed(st, op->object_id, o->dn_after, o->guid, GB_MANAGED, a->run_id, err);
		if (!rc && o->dn_after)
			rc = remember(a->made, op->object_id, o->dn_after, err);
		if (!rc && o->guid)
			rc = remember(a->guid, op->object_id, o->guid, err);
		if (!rc && o->guid && o->dn_after)
			rc = remember_created(a, o->dn_after, o->guid, err);
		break;
	case GB_OP_RENAME:
	case GB_OP_MOVE:
		rc = gb_pstate_set_dn(st, op->object_id, o->dn_after, err);
		if (!rc)
			rc = remember(a->dn_now, op->object_id, o->dn_after, err);
		break;
	case GB_OP_DELETE_GROUP:
		rc = gb_pstate_set_managed(st, op->object_id, o->target, op->guid, GB_DELETED, a->run_id, err);
		break;
	case GB_OP_UNMANAGE:
		rc = gb_pstate_set_managed(st, op->object_id, o->target, op->guid, GB_UNMANAGED, a->run_id, err);
		break;
	default: break;
	}
	/* groups this pass created are left to the read after the writes: a first pass's adds carry every member, and a
	 * read beside them held them up (S1 in make bench) */
	if (!rc && a->g && op->kind != GB_OP_DELETE_GROUP && op->kind != GB_OP_UNMANAGE &&
	    !gb_map_get(a->made, op->object_id))
		rc = after_group(a, op, err);
	return rc;
}

static void applied_clear(applied *a)
{
	gb_map *maps[4] = {a->dn_now, a->guid, a->created, a->made};
	size_t pos, i;
	const char *k;
	void *v;

	for (i = 0; i < 4; i++) {
		pos = 0;
		while (maps[i] && gb_map_next(maps[i], &pos, &k, &v))
			free(v);
		gb_map_free(maps[i]);
	}
	after_clear(a);
	gb_map_free(a->failed);
	gb_provision__map_free_values(a->ops_of, op_list_free);
	free(a->ok);
	memset(a, 0, sizeof(*a));
}

/* ---- the objectGUIDs of the groups created, read after the writes ---- */

static const char *const made_attrs[] = {"objectGUID", "uSNChanged", GB_DIRECTORY_ANCHOR_ATTR, NULL};

/* An entry of made_read's searches: the objectGUID of a group the pass created (a->guid, a->created) and, for the
 * uSNChanged guard, its uSNChanged after the writes (a->usns). */
static int keep_made(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	applied *a = ctx;
	const char *id = gb_anchor_object_id(gb_dir_entry_str(e, GB_DIRECTORY_ANCHOR_ATTR)), *dn;
	char guid[GB_AD_GUID_TEXT_SIZE];
	int rc;

	if (!id || !(dn = gb_map_get(a->made, id)) || !gb_dir_entry_guid(e, guid))
		return 0; /* not a group asked for (the filter matches exactly, so only a server's oddity) */
	rc = remember(a->guid, id, guid, err);
	if (!rc)
		rc = remember_created(a, dn, guid, err);
	if (!rc && a->usns)
		rc = keep_usn(e, a->usns, err);
	return rc;
}

/* The objectGUIDs of the groups the pass created, found by their anchors a hundred a search once every write is done:
 * reading each back after its add, on the connection that wrote it, made a search wait behind the writes queued at
 * the DC a thousand times in a first pass. A search that fails is only warned about: record_managed reads what is
 * missing one group at a time, and the uSNChanged guard reads those groups next time. */
static void made_read(applied *a, gb_directory *dir)
{
	gb_ptrs ids = {NULL, 0, 0};
	size_t pos = 0, i, j;
	const char *id;
	void *v;
	gb_error e;
	int rc = 0;

	gb_error_clear(&e);
	if (a->after) /* the reads sent during the writes share the connection: taken first */
		rc = gb_dir_ahead_take_all(a->after, &e);
	while (!rc && gb_map_next(a->made, &pos, &id, &v))
		if (!gb_map_get(a->guid, id))
			rc = gb_ptrs_push(&ids, (void *)id, &e);
	for (i = 0; !rc && i < ids.n; i += GB_DIRECTORY_GUID_BATCH) {
		gb_buf f;

		gb_buf_init(&f, 64 * 1024);
		rc = gb_buf_puts(&f, "(&(objectClass=group)(|", &e);
		for (j = i; !rc && j < ids.n && j < i + GB_DIRECTORY_GUID_BATCH; j++) {
			char anchor[GB_ANCHOR_MAX];

			if (!gb_anchor_format(ids.items[j], anchor, sizeof(anchor)))
				rc = gb_provision__anchor_term(anchor, &f, &e);
		}
		if (!rc)
			rc = gb_buf_puts(&f, "))", &e);
		if (!rc)
			rc = gb_directory_search(dir, NULL, GB_DIR_SUBTREE, gb_buf_cstr(&f), made_attrs, 0, keep_made, a,
						 &e);
		gb_buf_free(&f);
	}
	if (rc)
		gb_warn("provision", "reading the objectGUIDs of the %zu groups created: %s", ids.n, e.msg);
	free(ids.items);
}

/* Every group the plan provisions and whose operations all succeeded is managed from now on (in one transaction). */
static int record_managed(gb_store *st, gb_directory *dir, const gb_plan *plan, const applied *a, gb_error *err)
{
	size_t i;
	int rc;

	if (!plan->ngroups)
		return 0;
	rc = gb_store_begin(st, err);
	for (i = 0; !rc && i < plan->ngroups; i++) {
		const gb_plan_group *pg = &plan->groups[i];
		const char *dn = gb_map_get(a->dn_now, pg->object_id), *guid = pg->guid;
		char *read = NULL;

		if (gb_map_get(a->failed, pg->object_id))
			continue;
		if (!guid)
			guid = gb_map_get(a->guid, pg->object_id);
		if (!guid) {
			gb_ad_group *g = NULL;
			if (gb_directory_read_group(dir, dn ? dn : pg->dn, false, &g, NULL) == 0)
				read = gb_strdup(g->guid);
			gb_ad_group_free(g);
			guid = read;
		}
		rc = gb_pstate_set_managed(st, pg->object_id, dn ? dn : pg->dn, guid, GB_MANAGED, a->run_id, err);
		free(read);
	}
	if (!rc)
		return gb_store_commit(st, err);
	gb_store_rollback(st);
	return rc;
}

/* The objectGUID a member value written by this pass names, into g: "<GUID=...>", or the DN of a group the pass
 * created before (the plan names a nested group by its DN until it exists). False for any other value. */
static bool value_guid(const applied *a, const char *val, char g[GB_AD_GUID_TEXT_SIZE])
{
	const char *guid = NULL;
	char *key = NULL;

	if (strncmp(val, "<GUID=", 6) == 0 && strlen(val) == 6 + 36 + 1 && val[42] == '>') {
		memcpy(g, val + 6, 36);
		g[36] = '\0';
		return true;
	}
	if (a->created && gb_provision_dn_key(val, &key, NULL) == 0)
		guid = gb_map_get(a->created, key);
	free(key);
	if (!guid || strlen(guid) != 36)
		return false;
	memcpy(g, guid, 37);
	return true;
}

/* What AD holds of group id after this pass's writes: the members read (or trusted) with the objectGUIDs the
 * applied operations added and less those they removed. *wrote says whether an operation of the group was applied;
 * *exact is false when a value is not named by objectGUID or an operation of the group was not applied (the members
 * are then unknown). guids gets the result (copies: the caller frees them). */
static int members_after(const gb_ad_group *ad, const char *id, const applied *a, gb_ptrs *guids, bool *wrote,
			 bool *exact, gb_error *err)
{
	const op_list *ops = a->ops_of ? gb_map_get(a->ops_of, id) : NULL;
	gb_map *now = NULL;
	size_t i, j, pos = 0;
	const char *k;
	void *v;
	int rc = gb_map_new(GB_MAP_ICASE, &now, err);

	*wrote = false;
	*exact = true;
	for (i = 0; !rc && i < ad->nmembers; i++)
		rc = gb_map_set(now, ad->member_guids[i], (void *)1, err);
	for (size_t n = 0; !rc && ops && n < ops->n && *exact; n++) {
		const gb_op *op = &a->plan->ops[ops->i[n]];

		*exact = a->ok[ops->i[n]] != 0;
		*wrote = true;
		for (j = 0; !rc && *exact && j < op->nvalues; j++) {
			const char *val = op->values[j];
			char g[GB_AD_GUID_TEXT_SIZE];

			if (!value_guid(a, val, g)) {
				*exact = false;
				break;
			}
			if (op->kind == GB_OP_ADD_MEMBERS)
				rc = gb_map_set(now, g, (void *)1, err);
			else if (op->kind == GB_OP_REMOVE_MEMBERS)
				gb_map_del(now, g);
		}
	}
	while (!rc && *exact && gb_map_next(now, &pos, &k, &v))
		rc = gb_ptrs_push_copy(guids, k, err);
	gb_map_free(now);
	return rc;
}

/* The uSNChanged of guids into the map the queue a->after fills, through the same batches as during the writes,
 * AFTER_IN_FLIGHT of them out at once (a first pass reads a thousand groups here: one at a time, the DC waited on each
 * round trip). A search that fails gives nothing: its groups are read in full by the next pass. */
static int usn_read_all(applied *a, const gb_ptrs *guids, gb_error *err)
{
	int rc = 0;

	after_q_drop(a); /* what was queued and not sent is among guids */
	for (size_t i = 0; !rc && i < guids->n; i++)
		rc = after_queue(a, guids->items[i], true, err);
	if (!rc)
		rc = after_send(a, true, err);
	return rc ? rc : gb_dir_ahead_take_all(a->after, err);
}

/* The uSNChanged, after the writes, of every group of the guard that the pass wrote to: objectGUID -> value (owned
 * strings), read in searches of many GUIDs each rather than one read per group. Most were read while the writes went
 * on (after_group); those reads are taken here, and what they did not give is read now. */
static int usn_after(gb_gather *g, applied *a, gb_map **out, gb_error *err)
{
	gb_map *wrote = NULL;
	gb_ptrs guids = {NULL, 0, 0};
	size_t i, pos = 0;
	const char *id;
	void *v;
	int rc = gb_map_new(GB_MAP_ICASE, &wrote, err);

	if (!rc)
		rc = gb_dir_ahead_take_all(a->after, err);
	if (!rc && a->usns) {
		*out = a->usns; /* taken over */
		a->usns = NULL;
	} else if (!rc) {
		rc = gb_map_new(GB_MAP_ICASE, out, err);
	}
	for (i = 0; !rc && a->plan && i < a->plan->nops; i++)
		if (a->ok[i] && a->plan->ops[i].object_id)
			rc = gb_map_set(wrote, a->plan->ops[i].object_id, (void *)1, err);
	while (!rc && gb_map_next(g->usn, &pos, &id, &v)) {
		char anchor[GB_ANCHOR_MAX];
		const gb_ad_group *ad = gb_anchor_format(id, anchor, sizeof(anchor)) ? NULL
										: gb_map_get(g->ad_by_anchor, anchor);

		if (ad && ad->guid && gb_map_get(wrote, id) && !gb_map_get(*out, ad->guid))
			rc = gb_ptrs_push_copy(&guids, ad->guid, err);
	}
	pos = 0;
	while (!rc && gb_map_next(a->guid, &pos, &id, &v)) /* the groups this pass created */
		if (!gb_map_get(g->usn, id) && !gb_map_get(*out, v))
			rc = gb_ptrs_push_copy(&guids, v, err);
	if (!rc && guids.n && a->after)
		rc = usn_read_all(a, &guids, err);
	else if (!rc && guids.n)
		rc = gb_directory_find_by_guids(g->dir, (const char *const *)guids.items, guids.n, usn_attrs, 0,
						keep_usn, *out, err);
	for (i = 0; i < guids.n; i++)
		free(guids.items[i]);
	free(guids.items);
	gb_map_free(wrote);
	return rc;
}

/* The groups this pass created, for the uSNChanged guard: AD holds exactly what the pass wrote to each (its members by
 * objectGUID), as of the uSNChanged read after the writes, so the next pass need not read them back. A group with an
 * operation that did not apply, or a member named otherwise than by objectGUID, is left to be read. */
static int record_created(gb_gather *g, const applied *a, gb_map *usns, gb_error *err)
{
	size_t pos = 0, i;
	const char *id, *after;
	void *v;
	int rc = 0;

	while (!rc && gb_map_next(a->guid, &pos, &id, &v)) {
		gb_ad_group empty;
		gb_ptrs guids = {NULL, 0, 0};
		bool wrote = false, exact = false;

		if (gb_map_get(g->usn, id) || gb_map_get(a->failed, id) || !(after = gb_map_get(usns, v)))
			continue;
		memset(&empty, 0, sizeof(empty));
		rc = members_after(&empty, id, a, &guids, &wrote, &exact, err);
		if (!rc && exact && wrote)
			rc = gb_pstate_ad_members_put(g->st, id, &g->dc, strtoll(after, NULL, 10),
						      (const char *const *)guids.items, guids.n, err);
		for (i = 0; i < guids.n; i++)
			free(guids.items[i]);
		free(guids.items);
	}
	return rc;
}

/* The uSNChanged guard, after apply: for every group whose AD members the pass read or trusted, what AD holds now,
 * with the uSNChanged the pass read (no write) or reads now (after its writes), for the DC the pass read from. A
 * group whose operations did not all apply, or whose values are not all objectGUIDs, is forgotten (read next time).
 * The groups it created are recorded too (record_created). Nothing is recorded when the connection now reaches
 * another DC than the pass read from, or when that DC's identity could not be read. */
static int record_usn(gb_gather *g, applied *a, gb_error *err)
{
	gb_pstate_dc now = {NULL, NULL};
	gb_map *usns = NULL;
	size_t pos = 0;
	const char *id;
	void *v;
	int rc;

	if (!g->usn_guard || (g->dc_read && !g->dc.dsa) || (!gb_map_count(g->usn) && !gb_map_count(a->guid)))
		return 0;
	rc = index_ops(a, err);
	if (!rc)
		rc = gb_provision__dc_identity(g->dir, &now, err);
	if (!rc && now.dsa && !g->dc_read) { /* a pass that read no group under the guard: the DC written to */
		g->dc = now;
		g->dc_read = true;
		now.dsa = now.invocation_id = NULL;
	} else if (rc || !now.dsa || strcmp(now.dsa, g->dc.dsa) || strcmp(now.invocation_id, g->dc.invocation_id)) {
		goto out;
	}
	rc = usn_after(g, a, &usns, err);
	if (!rc)
		rc = gb_store_begin(g->st, err);
	while (!rc && gb_map_next(g->usn, &pos, &id, &v)) {
		char anchor[GB_ANCHOR_MAX];
		const gb_ad_group *ad;
		gb_ptrs guids = {NULL, 0, 0};
		long long usn = *(long long *)v;
		bool wrote = false, exact = false;
		const char *after;

		ad = gb_anchor_format(id, anchor, sizeof(anchor)) ? NULL : gb_map_get(g->ad_by_anchor, anchor);
		if (ad && ad->members_read && !gb_map_get(a->failed, id))
			rc = members_after(ad, id, a, &guids, &wrote, &exact, err);
		if (!rc && exact && wrote && ad->guid) {
			exact = (after = gb_map_get(usns, ad->guid)) != NULL;
			usn = exact ? strtoll(after, NULL, 10) : 0;
		}
		if (!rc && exact && !wrote && gb_map_get(g->usn_trusted, id))
			; /* the stored row is still what AD holds */
		else if (!rc && exact && (!wrote || ad->guid))
			rc = gb_pstate_ad_members_put(g->st, id, &g->dc, usn, (const char *const *)guids.items, guids.n,
						      err);
		else if (!rc)
			rc = gb_pstate_ad_members_forget(g->st, id, err);
		for (size_t i = 0; i < guids.n; i++)
			free(guids.items[i]);
		free(guids.items);
	}
	if (!rc)
		rc = record_created(g, a, usns, err);
	if (!rc)
		rc = gb_store_commit(g->st, err);
	else
		gb_store_rollback(g->st);
	if (!rc)
		gb_info("provision", "uSNChanged guard: %zu AD groups' members trusted from the store, %zu read",
			gb_map_count(g->usn_trusted), gb_map_count(g->usn) - gb_map_count(g->usn_trusted));
out:
	gb_provision__map_free_values(usns, free);
	free((char *)now.dsa);
	free((char *)now.invocation_id);
	return rc;
}

/* The member batch of this pass's writes: the configured one, or less when the DC refused more in an earlier pass
 * (remembered per DC; --full forgets it and tries the configured size again). *dsa: the DC's name (owned), NULL when
 * it could not be read, and then nothing is remembered. */
static long batch_before(gb_gather *g, const gb_config *cfg, const gb_provision_opts *o, char **dsa)
{
	long batch = cfg->directory.member_batch > 0 ? cfg->directory.member_batch : GB_DIRECTORY_MEMBER_BATCH;
	long learned = 0;
	gb_error e;

	gb_error_clear(&e);
	if (!(*dsa = gb_directory_dsa(g->dir, &e)))
		return batch;
	if (o->full ? gb_pstate_dc_batch_put(g->st, *dsa, 0, &e) : gb_pstate_dc_batch_get(g->st, *dsa, &learned, &e))
		gb_warn("provision", "the member batch %s took before is not known: %s", *dsa, e.msg);
	if (learned > 0 && learned < batch) {
		gb_info("provision",
			"member values go %ld a request: %s refused more in an earlier pass (provision --full tries %ld "
			"again)",
			learned, *dsa, batch);
		batch = learned;
	}
	return batch;
}

/* Remembers for the next passes the smaller batch the DC taught this one. */
static void batch_after(gb_gather *g, const char *dsa, long started, size_t ended)
{
	gb_error e;

	if (!dsa || !ended || (long)ended >= started)
		return;
	gb_error_clear(&e);
	if (gb_pstate_dc_batch_put(g->st, dsa, (long)ended, &e))
		gb_warn("provision", "the member batch %s took could not be remembered: %s", dsa, e.msg);
	else
		gb_info("provision", "%s takes at most %zu member values a request: the next passes send that many",
			dsa, ended);
}

static int apply(const gb_config *cfg, gb_gather *g, const char *fence, const gb_provision_opts *o,
		 gb_provision_result *res, gb_error *err)
{
	gb_store *st = g->st;
	gb_directory *dir = g->dir;
	gb_apply_opts ao;
	gb_apply_result ar;
	applied a;
	char *dsa = NULL;
	long batch = 0;
	int rc;

	memset(&ar, 0, sizeof(ar));
	memset(&a, 0, sizeof(a));
	a.run_id = o->run_id;
	rc = gb_map_new(GB_MAP_ICASE, &a.failed, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &a.dn_now, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &a.guid, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &a.created, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &a.made, err);
	a.plan = res->plan;
	if (!rc && !(a.ok = calloc(res->plan->nops ? res->plan->nops : 1, 1)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	/* the guard's reads after the writes go out as each group's writes end (record_usn takes them) */
	if (!rc && g->usn_guard && !(g->dc_read && !g->dc.dsa)) {
		rc = index_ops(&a, err);
		if (!rc)
			rc = gb_map_new(GB_MAP_ICASE, &a.usns, err);
		if (!rc)
			rc = gb_dir_ahead_new(dir, AFTER_IN_FLIGHT, usn_attrs, keep_usn, after_done, a.usns, &a.after, err);
		a.g = rc ? NULL : g;
	}
	memset(&ao, 0, sizeof(ao));
	ao.st = st;
	ao.run_id = o->run_id;
	ao.step = "provision";
	ao.dir = dir;
	ao.fence = fence;
	if (!rc && res->plan->nops)
		batch = batch_before(g, cfg, o, &dsa);
	ao.member_batch = (size_t)batch;
	ao.in_flight = cfg->directory.writes_in_flight > 0 ? (size_t)cfg->directory.writes_in_flight : 0;
	ao.hook = on_outcome;
	ao.ctx = &a;
	ao.guid_later = true; /* made_read */
	if (!rc)
		rc = gb_apply(res->plan, &ao, &ar, err);
	if (ar.peak > 1)
		gb_info("provision", "LDAP writes in flight: at most %zu at once", ar.peak);
	batch_after(g, dsa, batch, ar.member_batch);
	free(dsa);
	res->applied = ar.applied;
	res->failed = ar.failed;
	res->skipped = ar.skipped;
	if (!rc || rc == GB_EINTERRUPTED) {
		gb_error e2;
		int mrc;

		made_read(&a, dir);
		mrc = record_managed(st, dir, res->plan, &a, &e2);
		if (mrc) {
			rc = mrc;
			*err = e2;
		}
		/* only an optimisation: what is not recorded is read in full next time */
		if (record_usn(g, &a, &e2))
			gb_warn("provision", "the uSNChanged guard could not record what AD holds: %s", e2.msg);
	}
	applied_clear(&a);
	return rc;
}

/* ---- the pass ---- */

int gb_provisioner_fence(const gb_config *cfg, char **out, gb_error *err)
{
	gb_mappings *m = NULL;
	const char *constant;
	int rc;

	*out = NULL;
	if (cfg->provisioning.allowed_containers) {
		*out = gb_strdup(cfg->provisioning.allowed_containers);
		return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	rc = gb_mappings_new(&cfg->provisioning, &m, err);
	if (rc)
		return rc;
	constant = gb_mappings_constant_container(m);
	if (constant)
		*out = gb_strdup(constant);
	gb_mappings_free(m);
	if (!constant)
		return gb_error_set(err, GB_ECONFIG,
				    "[provisioning] target_container is an expression: set allowed_containers to the "
				    "containers it may produce (';'-separated DNs), so that no write can land elsewhere");
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

void gb_provision_result_clear(gb_provision_result *res)
{
	if (!res)
		return;
	size_t i;

	gb_plan_free(res->plan);
	for (i = 0; i < res->nnot_members; i++)
		free(res->not_members[i]);
	free(res->not_members);
	memset(res, 0, sizeof(*res));
}

/* What one pass holds from phase to phase. */
typedef struct pass_ctx {
	const gb_config *cfg;
	const gb_provision_opts *opts;
	const char *only_group;
	gb_gather g;
	gb_delta_changes ch;
	gb_mappings *mappings;
	char *fence;
	bool use_delta; /* a pass that applies reads Graph delta and moves its links on (not dry runs, not on demand) */
} pass_ctx;

/* Set up: the mappings, the fence (which must parse, dry run or not: apply sets it), what will be read. */
static int setup(pass_ctx *p, gb_error *err)
{
	gb_dir_fence *f = NULL;
	int rc;

	rc = gb_mappings_new(&p->cfg->provisioning, &p->mappings, err);
	if (!rc)
		rc = gb_provisioner_fence(p->cfg, &p->fence, err);
	if (!rc)
		rc = gb_dir_fence_new(p->fence, &f, err);
	gb_dir_fence_free(f);
	return rc ? rc : gb_provision__gather_init(&p->g, err);
}

/* Read: the delta records first when the pass applies, then only what changed, or everything. */
static int read_phase(pass_ctx *p, gb_provision_result *res, gb_error *err)
{
	int rc = p->use_delta ? gb_provision__delta_open(&p->g, p->opts, &p->ch, err) : 0;

	if (!rc)
		rc = p->ch.incremental ? gb_provision__gather_changes(&p->g, &p->ch, err)
				       : gb_provision__gather_all(&p->g, err);
	res->incremental = p->ch.incremental;
	return rc;
}

/* Plan: what was read, handed to the rules (provision.h). */
static int plan_phase(pass_ctx *p, gb_provision_result *res, gb_error *err)
{
	gb_gather *g = &p->g;
	gb_provision_input in;
	int rc;

	memset(&in, 0, sizeof(in));
	in.groups = (gb_cloud_group *const *)g->groups.items;
	in.ngroups = g->groups.n;
	in.cloud_groups = g->cloud_groups;
	in.cloud_users = g->cloud_users;
	in.forest_users = g->forest_users;
	in.ad_by_anchor = g->ad_by_anchor;
	in.ad_anchor_dups = g->anchor_dups;
	in.ad_by_sid = g->ad_by_sid;
	in.ad_by_dn = g->ad_by_dn;
	in.provisioned = g->provisioned;
	in.provisioned_types = g->provisioned_types;
	in.map = gb_mappings_eval;
	in.map_ctx = p->mappings;
	in.authoritative = !p->only_group && strcmp(p->cfg->provisioning.membership, "additive") != 0;
	in.move_on_container_change = p->cfg->provisioning.move_on_container_change;
	rc = gb_ptrs_terminate(&g->hard_deleted, err);
	if (!rc)
		rc = gb_ptrs_terminate(&g->left_scope, err);
	in.hard_deleted = (const char *const *)g->hard_deleted.items;
	in.left_scope = (const char *const *)g->left_scope.items;
	res->groups_read = g->groups.n;
	/* hand the on-demand "not a member" ids over to the result */
	res->not_members = (char **)g->not_members.items;
	res->nnot_members = g->not_members.n;
	memset(&g->not_members, 0, sizeof(g->not_members));
	if (!rc)
		rc = gb_provision_plan(&in, &res->plan, err);
	if (!rc && p->use_delta)
		rc = gb_provision__carry_errors(g, &p->ch, res->plan, err);
	return rc;
}

/* Gate: more deletes than delete_threshold stop the pass before any change (GB_EGATE). */
static int gate(const pass_ctx *p, gb_provision_result *res, gb_error *err)
{
	size_t i, deletes = gb_plan_count(res->plan, GB_OP_DELETE_GROUP);

	for (i = 0; i < res->plan->nnotes; i++)
		res->group_errors += res->plan->notes[i].kind == GB_NOTE_GROUP_ERROR;
	if (deletes > (size_t)p->cfg->provisioning.delete_threshold && !p->opts->allow_deletes)
		return gb_error_set(err, GB_EGATE,
				    "the plan deletes %zu groups, more than delete_threshold (%ld); nothing was changed. "
				    "Check the plan (provision --dry-run), then rerun with --allow-deletes",
				    deletes, p->cfg->provisioning.delete_threshold);
	return 0;
}

/* Keep the plan for `report plan` (also a plan stopped at the gate); rc is the outcome so far. */
static int keep_plan(const pass_ctx *p, const gb_provision_result *res, int rc, gb_error *err)
{
	gb_error e2;
	int src;

	if ((rc && rc != GB_EGATE) || !res->plan)
		return rc;
	src = gb_plan_store_save(p->g.st, res->plan, p->only_group ? "provision on-demand" : "provision",
				 p->opts->run_id, p->opts->dry_run, &e2);
	if (src && !rc) {
		*err = e2;
		return src;
	}
	return rc;
}

/* Finish: once everything applied, what the next pass builds from; the outcome; the requests made. */
static int finish(pass_ctx *p, gb_provision_result *res, int rc, gb_error *err)
{
	gb_directory *dir = p->g.dir;
	gb_graph *graph = p->g.graph;

	if (!rc && p->use_delta && !res->failed)
		rc = gb_provision__delta_close(&p->g, res->plan, &p->ch, err);
	if (!rc && (res->failed || res->group_errors))
		rc = gb_error_set(err, GB_EPARTIAL, "%zu operations failed, %zu skipped, %zu groups could not be provisioned",
				  res->failed, res->skipped, res->group_errors);
	if (dir && graph) {
		const gb_directory_stats *ds = gb_directory_get_stats(dir);
		gb_info("provision", "requests: %lu to Graph; directory writes: %lu adds, %lu modifies, %lu renames, "
			"%lu deletes", gb_graph_get_stats(graph)->requests, ds->adds, ds->modifies, ds->renames,
			ds->deletes);
	}
	return rc;
}

static int pass(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
		const gb_provision_opts *opts, const char *only_group, const char *const *only_members, size_t nonly,
		gb_provision_result *res, gb_error *err)
{
	pass_ctx p;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.opts = opts;
	p.only_group = only_group;
	p.use_delta = !opts->dry_run && !only_group && !opts->only_ids;
	p.g.cfg = cfg;
	p.g.only_group = only_group;
	p.g.only_ids = opts->only_ids;
	p.g.only_members = only_members;
	p.g.nonly = nonly;
	p.g.graph = graph;
	p.g.dir = dir;
	p.g.st = st;
	/* passes that apply record what AD holds with its uSNChanged; --full and dry runs read every AD group's members,
	 * other passes may trust the stored ones (the uSNChanged guard) */
	p.g.usn_guard = !opts->dry_run;
	p.g.usn_trust = !opts->dry_run && !opts->full;
	rc = setup(&p, err);
	if (!rc)
		rc = read_phase(&p, res, err);
	if (!rc)
		rc = plan_phase(&p, res, err);
	if (!rc)
		rc = gate(&p, res, err);
	rc = keep_plan(&p, res, rc, err);
	if (!rc && !opts->dry_run)
		rc = apply(cfg, &p.g, p.fence, opts, res, err);
	rc = finish(&p, res, rc, err);
	free(p.fence);
	gb_provision__delta_clear(&p.ch);
	gb_mappings_free(p.mappings);
	gb_provision__gather_clear(&p.g);
	return rc;
}

int gb_provisioner_run(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
		       const gb_provision_opts *opts, gb_provision_result *res, gb_error *err)
{
	return pass(cfg, st, graph, dir, opts, NULL, NULL, 0, res, err);
}

int gb_provisioner_on_demand(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
			     const gb_provision_opts *opts, const char *group_id, const char *const *members, size_t n,
			     gb_provision_result *res, gb_error *err)
{
	memset(res, 0, sizeof(*res));
	if (n < 1 || n > GB_ONDEMAND_MAX_MEMBERS)
		return gb_error_set(err, GB_EINVAL, "on-demand provisioning takes one to %d members, not %zu",
				    GB_ONDEMAND_MAX_MEMBERS, n);
	return pass(cfg, st, graph, dir, opts, group_id, members, n, res, err);
}

const char *gb_provision_member_outcome(const gb_provision_result *res, const char *group_id, const char *member_id,
					const char **why)
{
	size_t i, j;

	*why = NULL;
	for (i = 0; i < res->nnot_members; i++)
		if (gb_str_iequal(res->not_members[i], member_id)) {
			*why = "the id is not a direct member of the cloud group";
			return "not a member";
		}
	if (!res->plan)
		return "not provisioned";
	for (i = 0; i < res->plan->nnotes; i++) {
		const gb_note *n = &res->plan->notes[i];
		if (n->kind == GB_NOTE_MEMBER_SKIPPED && n->subject_id && gb_str_iequal(n->subject_id, member_id)) {
			*why = n->message;
			return "skipped";
		}
	}
	for (i = 0; i < res->plan->ngroups; i++)
		if (gb_str_iequal(res->plan->groups[i].object_id, group_id))
			break;
	if (i == res->plan->ngroups) {
		for (j = 0; j < res->plan->nnotes; j++)
			if (res->plan->notes[j].object_id && gb_str_iequal(res->plan->notes[j].object_id, group_id)) {
				*why = res->plan->notes[j].message;
				break;
			}
		return "not provisioned";
	}
	for (i = 0; i < res->plan->nops; i++) {
		const gb_op *op = &res->plan->ops[i];
		if (op->kind == GB_OP_ADD_MEMBERS && op->object_id && gb_str_iequal(op->object_id, group_id))
			return res->failed ? "not added (the run failed)" : "added";
	}
	return "already a member";
}
