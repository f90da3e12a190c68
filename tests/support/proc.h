/*
 * proc.h: the helper servers of C tests (the Graph fake, the LDAP proxy) as child processes: spawned with their
 * output in a log file, tied to the test process (PR_SET_PDEATHSIG: a test that fails an assertion leaves no server
 * behind), waited for until they say they are ready, and stopped.
 */
#ifndef GB_TEST_PROC_H
#define GB_TEST_PROC_H

#include <sys/types.h>

/* Prints "WHO: " and the message, with a newline, on standard error: the helpers' own diagnostics. */
void gb_proc_complain(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sleeps ms milliseconds (resumed after a signal). */
void gb_proc_sleep_ms(long ms);

/* Runs argv (argv[0] found on PATH) to completion with stdout and stderr appended to log (inherited when NULL).
 * Its exit status, or -1. */
int gb_proc_run(char *const argv[], const char *log);

/* Spawns argv with stdout and stderr appended to log, dying with the calling process, and waits until the file
 * ready exists (timeout_ms at most). 0 with *pid set; -1 when the child exited first (reaped, *pid -1), -2 when the
 * time ran out (the child is still running: stop it with gb_proc_stop). */
int gb_proc_start(char *const argv[], const char *log, const char *ready, int timeout_ms, pid_t *pid);

/* SIGTERM, then waits (SIGKILL after 5 s) and reaps. pid <= 0 is fine. */
void gb_proc_stop(pid_t pid);

#endif
