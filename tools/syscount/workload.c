// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscount-workload - a program that makes a known number of system calls,
 * for tools/syscount/test.sh.
 *
 *   syscount-workload getppid K   K getppid()
 *   syscount-workload ioctl K     K ioctl(FIONREAD) on a pipe
 *   syscount-workload ebadf K     K ioctl(FIONREAD) on fd -1, failing with EBADF
 *   syscount-workload fork K      K getppid() here and K in a forked child
 *   syscount-workload thread K    K getppid() here and K in a second thread
 *   syscount-workload exit N      exit with status N
 *   syscount-workload kill SIG    kill itself with signal SIG
 *
 * It makes no other getppid or ioctl calls (no stdio on success), so a
 * counter can be checked for exactly K (2K for fork and thread).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void do_getppid(unsigned long k)
{
	while (k--)
		syscall(SYS_getppid);
}

static void *thread_fn(void *arg)
{
	do_getppid(*(unsigned long *)arg);
	return NULL;
}

static int do_ioctl(unsigned long k)
{
	int fds[2], avail;

	if (pipe(fds)) {
		perror("pipe");
		return 1;
	}
	while (k--) {
		if (ioctl(fds[0], FIONREAD, &avail)) {
			perror("ioctl");
			return 1;
		}
	}
	return 0;
}

static int do_ebadf(unsigned long k)
{
	int avail;

	while (k--) {
		if (ioctl(-1, FIONREAD, &avail) != -1 || errno != EBADF) {
			fprintf(stderr, "ioctl(-1) did not fail with EBADF\n");
			return 1;
		}
	}
	return 0;
}

static int do_fork(unsigned long k)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!pid) {
		do_getppid(k);
		_exit(0);
	}
	do_getppid(k);
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : 1;
}

static int do_thread(unsigned long k)
{
	pthread_t t;
	int err;

	err = pthread_create(&t, NULL, thread_fn, &k);
	if (err) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return 1;
	}
	do_getppid(k);
	err = pthread_join(t, NULL);
	if (err) {
		fprintf(stderr, "pthread_join: %s\n", strerror(err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: %s getppid|ioctl|ebadf|fork|thread|exit|kill N\n", argv[0]);
		return 2;
	}
	errno = 0;
	n = strtoul(argv[2], &end, 0);
	if (errno || end == argv[2] || *end || n > INT_MAX) {
		fprintf(stderr, "%s: bad number '%s'\n", argv[0], argv[2]);
		return 2;
	}

	if (!strcmp(argv[1], "getppid")) {
		do_getppid(n);
		return 0;
	}
	if (!strcmp(argv[1], "ioctl"))
		return do_ioctl(n);
	if (!strcmp(argv[1], "ebadf"))
		return do_ebadf(n);
	if (!strcmp(argv[1], "fork"))
		return do_fork(n);
	if (!strcmp(argv[1], "thread"))
		return do_thread(n);
	if (!strcmp(argv[1], "exit"))
		return n & 0xff;
	if (!strcmp(argv[1], "kill")) {
		if (kill(getpid(), (int)n)) {
			perror("kill");
			return 1;
		}
		/* Not reached for a fatal signal. */
		return 1;
	}
	fprintf(stderr, "%s: unknown mode '%s'\n", argv[0], argv[1]);
	return 2;
}
