/* Unit tests of the state store: creation mode, schema version, key-value state, the one-run lock. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "groupbridge/plan_store.h"
#include "groupbridge/store.h"
#include "support/testfs.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	gb_testfs_mkdtemp_db(dir, sizeof(dir), path, sizeof(path), "store");
}

static void teardown(void)
{
	gb_testfs_rmtree(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, creates_an_owner_only_file_at_the_current_schema)
{
	gb_store *st;
	gb_error err;
	struct stat sb;
	sqlite3_stmt *s;

	umask(022);
	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert(gb_store_schema_version(st) >= 1);
	cr_assert_eq(gb_store_prepare(st, "PRAGMA journal_mode", &s, &err), 0);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	cr_assert_eq(gb_testfs_int(st, "PRAGMA foreign_keys"), 1);
	gb_store_free(st);
	gb_store_free(NULL);
}

Test(store, key_values_survive_reopening)
{
	gb_store *st;
	gb_error err;
	char *v = NULL;

	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_store_kv_get(st, "graph.delta.groups", &v, &err), GB_ENOTFOUND);
	cr_assert_eq(gb_store_kv_set(st, "graph.delta.groups", "https://x/delta?token=1", &err), 0);
	cr_assert_eq(gb_store_kv_set(st, "graph.delta.groups", "https://x/delta?token=2", &err), 0);
	gb_store_free(st);
	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_store_kv_get(st, "graph.delta.groups", &v, &err), 0);
	cr_assert_str_eq(v, "https://x/delta?token=2");
	free(v);
	cr_assert_eq(gb_store_kv_del(st, "graph.delta.groups", &err), 0);
	cr_assert_eq(gb_store_kv_get(st, "graph.delta.groups", &v, &err), GB_ENOTFOUND);
	gb_store_free(st);
}

Test(store, second_opener_is_refused_with_the_holder_named)
{
	gb_store *st;
	gb_error err;
	pid_t pid;
	int status;

	cr_assert_eq(gb_store_open(path, "provision (test holder)", &st, &err), 0, "%s", err.msg);
	/* flock locks belong to the open file description, so the contender must be another process */
	pid = fork();
	if (pid == 0) {
		gb_store *other = NULL;
		gb_error e2;
		int rc = gb_store_open(path, "second", &other, &e2);
		_exit(rc == GB_ELOCKED && other == NULL && strstr(e2.msg, "provision (test holder)") &&
				      strstr(e2.msg, "in use")
			      ? 0
			      : 1);
	}
	cr_assert(pid > 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "second opener was not refused properly");
	gb_store_free(st);
	/* once released, another process can open it */
	pid = fork();
	if (pid == 0) {
		gb_store *other = NULL;
		_exit(gb_store_open(path, "second", &other, NULL) == 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(store, a_newer_schema_is_refused)
{
	gb_store *st;
	gb_error err;

	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_store_exec(st, "UPDATE schema_version SET version = 9999", &err), 0);
	gb_store_free(st);
	cr_assert_eq(gb_store_open(path, "test", &st, &err), GB_ESTATE);
	cr_assert(strstr(err.msg, "newer") != NULL, "%s", err.msg);
}

Test(store, a_file_that_is_not_a_database_is_refused)
{
	FILE *f = fopen(path, "w");
	gb_store *st;
	gb_error err;

	fputs("this is not sqlite, just text that is long enough to have a header...........\n", f);
	fclose(f);
	cr_assert_neq(gb_store_open(path, "test", &st, &err), 0);
	cr_assert_null(st);
}

Test(store, runs_are_recorded)
{
	gb_store *st;
	gb_error err;
	char id[37];
	sqlite3_stmt *s;

	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_store_run_begin(st, "provision --dry-run", id, sizeof(id), &err), 0);
	cr_assert_eq(gb_store_run_end(st, id, 3, "2 groups failed", &err), 0);
	cr_assert_eq(gb_store_prepare(st, "SELECT command, exit_code, summary, ended IS NOT NULL FROM runs", &s, &err),
		     0);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "provision --dry-run");
	cr_assert_eq(sqlite3_column_int(s, 1), 3);
	cr_assert_eq(sqlite3_column_int(s, 3), 1);
	sqlite3_finalize(s);
	gb_store_free(st);
}

Test(store, transactions_roll_back)
{
	gb_store *st;
	gb_error err;
	char *v;

	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_store_begin(st, &err), 0);
	cr_assert_eq(gb_store_kv_set(st, "k", "v", &err), 0);
	gb_store_rollback(st);
	cr_assert_eq(gb_store_kv_get(st, "k", &v, &err), GB_ENOTFOUND);
	gb_store_free(st);
}

Test(store, readonly_open_needs_an_existing_current_database)
{
	gb_store *st;
	gb_error err;

	cr_assert_eq(gb_store_open_readonly(path, &st, &err), GB_ENOTFOUND);
	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0);
	gb_store_free(st);
	cr_assert_eq(gb_store_open_readonly(path, &st, &err), 0, "%s", err.msg);
	gb_store_free(st);
}

Test(store, plans_are_kept_by_their_owner_newest_first_twenty_at_most)
{
	gb_store *st;
	gb_plan *p, *q;
	gb_plan_info info;
	gb_op *op;
	gb_error err;
	int i;

	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_plan_store_latest(st, &q, &info, &err), GB_ENOTFOUND);
	cr_assert_null(q);
	cr_assert_eq(gb_plan_new(&p, &err), 0);
	cr_assert_eq(gb_plan_add_op(p, GB_OP_CREATE_GROUP, "g1", "CN=A,DC=t", "r", &op, &err), 0);
	for (i = 0; i < 25; i++)
		cr_assert_eq(gb_plan_store_save(st, p, i % 2 ? "provision" : "provision on-demand", i % 2 ? "run-x" : NULL,
						i == 24, &err),
			     0, "%s", err.msg);
	cr_assert_eq(gb_plan_store_latest(st, &q, &info, &err), 0, "%s", err.msg);
	cr_assert_eq(q->nops, 1);
	cr_assert_str_eq(q->ops[0].target, "CN=A,DC=t");
	cr_assert_str_eq(info.command, "provision on-demand");
	cr_assert_str_eq(info.run_id, "");
	cr_assert(info.dry_run);
	cr_assert_neq(info.created[0], '\0');
	cr_assert_eq(gb_testfs_int(st, "SELECT count(*) FROM plans"), 20);
	gb_plan_free(q);
	gb_plan_free(p);
	gb_store_free(st);
}
