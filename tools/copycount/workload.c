// SPDX-License-Identifier: GPL-2.0-only
/*
 * copycount-workload - a program that moves a known number of bytes through
 * the kernel, for tools/copycount/test.sh.
 *
 *   copycount-workload read FILE N       buffered read() of N bytes of FILE
 *   copycount-workload write FILE N      buffered write() of N bytes to FILE
 *   copycount-workload direct FILE N     O_DIRECT read() of N bytes of FILE
 *   copycount-workload pipe N            N bytes through a pipe to a child
 *   copycount-workload fork-read FILE N  a forked child reads N bytes of FILE
 *   copycount-workload uname K           K uname() (390 bytes out each)
 *   copycount-workload noio N            N loop iterations, no system call
 *
 * Transfers go in chunks of 128 KiB from one aligned buffer; apart from the
 * dynamic loader's work and the final exit, it makes no other I/O (no stdio
 * on success), so a counter can be checked against N.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK	(128 * 1024)

static char *buf;

/* Move @n bytes: read from @fd (or write to it if @out), chunk by chunk. */
static int transfer(int fd, unsigned long n, int out)
{
	while (n) {
		size_t len = n < CHUNK ? n : CHUNK;
		ssize_t r = out ? write(fd, buf, len) : read(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "%s: %s\n", out ? "write" : "read",
				r ? strerror(errno) : "unexpected end of file");
			return 1;
		}
		n -= r;
	}
	return 0;
}

static int file_io(const char *path, unsigned long n, int flags, int out)
{
	int fd, ret;

	fd = open(path, flags, 0644);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return 1;
	}
	ret = transfer(fd, n, out);
	if (close(fd)) {
		perror("close");
		ret = 1;
	}
	return ret;
}

static int wait_ok(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : 1;
}

static int do_pipe(unsigned long n)
{
	int fds[2], ret;
	pid_t pid;

	if (pipe(fds)) {
		perror("pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!pid) {
		close(fds[1]);
		_exit(transfer(fds[0], n, 0));
	}
	close(fds[0]);
	ret = transfer(fds[1], n, 1);
	close(fds[1]);
	return wait_ok(pid) | ret;
}

static int do_fork_read(const char *path, unsigned long n)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!pid)
		_exit(file_io(path, n, O_RDONLY, 0));
	return wait_ok(pid);
}

static int do_uname(unsigned long k)
{
	struct utsname u;

	while (k--) {
		if (uname(&u)) {
			perror("uname");
			return 1;
		}
	}
	return 0;
}

static int do_noio(unsigned long n)
{
	volatile unsigned long x = 0;

	while (n--)
		x += n;
	return 0;
}

static unsigned long parse_num(const char *prog, const char *s)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 0);
	if (errno || end == s || *end || n > LONG_MAX) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int file_mode = !strcmp(mode, "read") || !strcmp(mode, "write") ||
			!strcmp(mode, "direct") || !strcmp(mode, "fork-read");
	unsigned long n;

	if (argc != (file_mode ? 4 : 3)) {
		fprintf(stderr, "usage: %s read|write|direct|fork-read FILE N\n"
			"       %s pipe|uname|noio N\n", argv[0], argv[0]);
		return 2;
	}
	n = parse_num(argv[0], argv[argc - 1]);

	/* Aligned for O_DIRECT; touched so no page fault happens in a copy. */
	if (posix_memalign((void **)&buf, 4096, CHUNK)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	memset(buf, 'c', CHUNK);

	if (!strcmp(mode, "read"))
		return file_io(argv[2], n, O_RDONLY, 0);
	if (!strcmp(mode, "write"))
		return file_io(argv[2], n, O_WRONLY | O_CREAT | O_TRUNC, 1);
	if (!strcmp(mode, "direct"))
		return file_io(argv[2], n, O_RDONLY | O_DIRECT, 0);
	if (!strcmp(mode, "fork-read"))
		return do_fork_read(argv[2], n);
	if (!strcmp(mode, "pipe"))
		return do_pipe(n);
	if (!strcmp(mode, "uname"))
		return do_uname(n);
	if (!strcmp(mode, "noio"))
		return do_noio(n);
	fprintf(stderr, "%s: unknown mode '%s'\n", argv[0], mode);
	return 2;
}
