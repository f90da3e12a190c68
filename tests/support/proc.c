/* proc.c: see proc.h. */
#include "proc.h" /* support objects build without -Itests */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void gb_proc_complain(const char *who, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void gb_proc_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void redirect(const char *log)
{
	int fd;

	if (!log || (fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0)
		return;
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

int gb_proc_run(char *const argv[], const char *log)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		redirect(log);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int gb_proc_start(char *const argv[], const char *log, const char *ready, int timeout_ms, pid_t *pid)
{
	pid_t parent = getpid();
	int waited = 0, st;

	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		/* a test that fails an assertion never stops its servers itself: they go when the test process goes */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(126);
		redirect(log);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (access(ready, F_OK) != 0) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*pid = -1;
			return -1;
		}
		if (waited >= timeout_ms)
			return -2;
		gb_proc_sleep_ms(20);
		waited += 20;
	}
	return 0;
}

void gb_proc_stop(pid_t pid)
{
	int st, i;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 250; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (i == 249) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return;
		}
		gb_proc_sleep_ms(20);
	}
}
