/*
 * testfs.h: what the C tests repeated in every file that needs a scratch directory: a fresh directory under /tmp,
 * removed afterwards; files read and written whole; a copy of a fixture tree to edit; a state database in the
 * directory; and the two lines that add an operation or an attribute to a plan. Each helper fails the running
 * criterion test (cr_assert) instead of returning an error: they are for tests only.
 */
#ifndef GB_TEST_TESTFS_H
#define GB_TEST_TESTFS_H

#include <stddef.h>

#include "groupbridge/plan.h"
#include "groupbridge/store.h"

/* Makes a new directory /tmp/gb-test-NAME-XXXXXX and writes its path into dir (n bytes, 64 are enough for a short
 * name). */
void gb_testfs_mkdtemp(char *dir, size_t n, const char *name);

/* gb_testfs_mkdtemp, and the path of a state database in it (dir/state.db, not created yet) into db (dbn bytes). */
void gb_testfs_mkdtemp_db(char *dir, size_t n, char *db, size_t dbn, const char *name);

/* Makes a new file /tmp/gb-test-NAME-XXXXXX (mode 0600) holding content and writes its path into path (n bytes).
 * The caller unlinks it. */
void gb_testfs_mkstemp(char *path, size_t n, const char *name, const char *content);

/* Removes dir and everything below it ("rm -rf"); a NULL or empty dir is a no-op. */
void gb_testfs_rmtree(const char *dir);

/* dir/rel into out (n bytes); the test fails when it does not fit. Returns out. */
char *gb_testfs_path(char *out, size_t n, const char *dir, const char *rel);

/* Opens (creating) the state database dir/state.db with holder "test"; the caller frees it with gb_store_free. */
gb_store *gb_testfs_store(const char *dir);

/* Appends the formatted text to the NUL-terminated text in buf (n bytes in all), cut to fit: the log a test's
 * callback keeps. */
void gb_testfs_appendf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The first column of the first row that sql gives in st, as an integer (a count, a pragma's value). */
long long gb_testfs_int(gb_store *st, const char *sql);

/* The whole file (NUL-terminated, free()); its length in *len when len is not NULL. */
char *gb_testfs_slurp(const char *path, size_t *len);

/* Writes len bytes to path, replacing it. */
void gb_testfs_spit(const char *path, const void *data, size_t len);

/* Replaces every occurrence of old by new in the file path; the test fails when old is not there. */
void gb_testfs_edit(const char *path, const char *old, const char *new);

/* Copies the tree from (files and directories, dot files left out) to to, creating to. */
void gb_testfs_copy_tree(const char *from, const char *to);

/* Adds an operation (reason "test") to p and returns it (borrowed from p). */
gb_op *gb_testfs_op(gb_plan *p, gb_op_kind kind, const char *id, const char *target);

/* Adds an attribute change to o. */
void gb_testfs_attr(gb_op *o, const char *name, const char *before, const char *after);

#endif
