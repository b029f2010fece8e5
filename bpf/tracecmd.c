// SPDX-License-Identifier: GPL-2.0-only
/*
 * tracecmd.c - run one command under BPF tracing; see tracecmd.h.
 *
 * Compiled into each loader (tools/syscount, tools/copycount); it holds the
 * parts of the libbpf-bootstrap bootstrap.c sequence that do not depend on
 * the skeleton: finding CMD, the held child, waiting, exit statuses, and
 * the parts of the report that are the same in every loader.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tracecmd.h"

extern char **environ;

const char *tracecmd_prog_name = "tracecmd";
bool tracecmd_verbose;

void tracecmd_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tracecmd_prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tracecmd_libbpf_print(enum libbpf_print_level level, const char *format,
			  va_list args)
{
	if (level == LIBBPF_DEBUG && !tracecmd_verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

void tracecmd_set_prog_name(const char *argv0)
{
	if (argv0 && argv0[0])
		tracecmd_prog_name = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
}

/*
 * Find CMD the way execvp(3) does: a name with a slash is used as is,
 * otherwise each PATH directory is tried (confstr's default PATH if unset).
 * Returns a malloc'ed path, or NULL with errno ENOENT (not found), EACCES
 * (found, not executable) or ENOMEM.
 */
static char *resolve_command(const char *name)
{
	bool denied = false;
	char *path, *dirs, *dir, *next;
	const char *env_path;
	struct stat st;

	if (strchr(name, '/')) {
		if (access(name, X_OK))
			return NULL;
		if (stat(name, &st))
			return NULL;
		if (!S_ISREG(st.st_mode)) {
			errno = EACCES;
			return NULL;
		}
		return strdup(name);
	}

	env_path = getenv("PATH");
	if (env_path) {
		dirs = strdup(env_path);
	} else {
		size_t len = confstr(_CS_PATH, NULL, 0);

		dirs = len ? malloc(len) : NULL;
		if (dirs && !confstr(_CS_PATH, dirs, len))
			dirs[0] = '\0';
	}
	if (!dirs) {
		errno = ENOMEM;
		return NULL;
	}

	/* strtok_r would skip empty components, which mean ".". */
	for (dir = dirs; dir; dir = next) {
		next = strchr(dir, ':');
		if (next)
			*next++ = '\0';
		if (asprintf(&path, "%s/%s", *dir ? dir : ".", name) < 0) {
			free(dirs);
			errno = ENOMEM;
			return NULL;
		}
		if (!stat(path, &st) && S_ISREG(st.st_mode)) {
			if (!access(path, X_OK)) {
				free(dirs);
				return path;
			}
			denied = true;
		}
		free(path);
	}
	free(dirs);
	errno = denied ? EACCES : ENOENT;
	return NULL;
}

/*
 * The child: wait for the go byte, then execve. Only async-signal-safe
 * calls. If the parent goes away or gives up (EOF), it exits quietly; the
 * parent has reported why. It closes the parent's pipe ends first, or the
 * EOF could never come.
 */
static void __attribute__((noreturn))
run_child(const int go[2], const int errp[2], const char *path, char *const argv[])
{
	ssize_t n;
	char c;
	int err;

	if (close(go[1]) || close(errp[0]))
		_exit(TRACECMD_EXIT_FAILED);
	do
		n = read(go[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(TRACECMD_EXIT_FAILED);

	execve(path, argv, environ);
	err = errno;
	if (write(errp[1], &err, sizeof(err)) != sizeof(err))
		_exit(TRACECMD_EXIT_FAILED);
	_exit(err == ENOENT ? TRACECMD_EXIT_NOT_FOUND : TRACECMD_EXIT_CANNOT_RUN);
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int tracecmd_exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int tracecmd_init(struct tracecmd *tc, char *const argv[])
{
	int err;

	memset(tc, 0, sizeof(*tc));
	tc->argv = argv;
	tc->pid = -1;
	tc->go[0] = tc->go[1] = tc->errp[0] = tc->errp[1] = -1;

	tc->path = resolve_command(argv[0]);
	if (tc->path)
		return 0;
	err = errno;
	if (err == ENOENT) {
		tracecmd_err("%s: command not found", argv[0]);
		return TRACECMD_EXIT_NOT_FOUND;
	}
	tracecmd_err("%s: %s", argv[0], strerror(err));
	return err == ENOMEM ? TRACECMD_EXIT_FAILED : TRACECMD_EXIT_CANNOT_RUN;
}

int tracecmd_fork(struct tracecmd *tc)
{
	if (pipe2(tc->go, O_CLOEXEC) || pipe2(tc->errp, O_CLOEXEC)) {
		tracecmd_err("pipe2: %s", strerror(errno));
		return -1;
	}
	/* Nothing buffered may be written twice by the child. */
	if (fflush(NULL)) {
		tracecmd_err("fflush: %s", strerror(errno));
		return -1;
	}
	tc->pid = fork();
	if (tc->pid < 0) {
		tracecmd_err("fork: %s", strerror(errno));
		return -1;
	}
	if (!tc->pid)
		run_child(tc->go, tc->errp, tc->path, tc->argv);
	close_fd(&tc->go[0]);
	close_fd(&tc->errp[1]);
	return 0;
}

int tracecmd_run(struct tracecmd *tc, int *status)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	int exec_err, err;
	ssize_t n;

	if (sigaction(SIGINT, &ign, &tc->old_int)) {
		tracecmd_err("sigaction: %s", strerror(errno));
		return TRACECMD_EXIT_FAILED;
	}
	if (sigaction(SIGQUIT, &ign, &tc->old_quit)) {
		tracecmd_err("sigaction: %s", strerror(errno));
		if (sigaction(SIGINT, &tc->old_int, NULL))
			tracecmd_err("sigaction: %s", strerror(errno));
		return TRACECMD_EXIT_FAILED;
	}
	tc->sig_ignored = true;
	if (write(tc->go[1], "", 1) != 1) {
		tracecmd_err("cannot start the command: %s", strerror(errno));
		return TRACECMD_EXIT_FAILED;
	}
	close_fd(&tc->go[1]);

	/* EOF: execve succeeded and closed the pipe; else its errno. */
	do
		n = read(tc->errp[0], &exec_err, sizeof(exec_err));
	while (n < 0 && errno == EINTR);

	err = wait_child(tc->pid, status);
	tc->pid = -1;
	if (err) {
		tracecmd_err("waitpid: %s", strerror(-err));
		return TRACECMD_EXIT_FAILED;
	}
	if (n == sizeof(exec_err)) {
		tracecmd_err("cannot execute %s: %s", tc->path, strerror(exec_err));
		return tracecmd_exit_code(*status);
	}
	if (n != 0) {
		tracecmd_err("lost the execve status of the command: %s",
			     n < 0 ? strerror(errno) : "short read");
		return TRACECMD_EXIT_FAILED;
	}
	return 0;
}

void tracecmd_fini(struct tracecmd *tc)
{
	int status, err;

	if (tc->sig_ignored &&
	    (sigaction(SIGINT, &tc->old_int, NULL) ||
	     sigaction(SIGQUIT, &tc->old_quit, NULL)))
		tracecmd_err("sigaction: %s", strerror(errno));
	tc->sig_ignored = false;
	if (tc->pid > 0) {
		/* EOF on the go pipe makes the child exit without running CMD. */
		close_fd(&tc->go[1]);
		err = wait_child(tc->pid, &status);
		if (err)
			tracecmd_err("waitpid: %s", strerror(-err));
		tc->pid = -1;
	}
	close_fd(&tc->go[0]);
	close_fd(&tc->go[1]);
	close_fd(&tc->errp[0]);
	close_fd(&tc->errp[1]);
	free(tc->path);
	tc->path = NULL;
}

/* The kernel's dev_t encoding of st_dev, as bpf_get_ns_current_pid_tgid wants. */
int tracecmd_pidns(__u64 *dev, __u64 *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return -errno;
	*dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);
	*ino = st.st_ino;
	return 0;
}

FILE *tracecmd_open_output(const char *name)
{
	FILE *out;

	if (!name)
		return stderr;
	if (!strcmp(name, "-"))
		return stdout;
	out = fopen(name, "we");
	if (!out)
		tracecmd_err("cannot open %s: %s", name, strerror(errno));
	return out;
}

int tracecmd_close_output(FILE *out, const char *name)
{
	if (!out || out == stdout || out == stderr)
		return 0;
	if (fclose(out)) {
		tracecmd_err("cannot write %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

void tracecmd_load_failed(int err)
{
	tracecmd_err("cannot load the BPF programs: %s%s", strerror(-err),
		     err == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
}

void tracecmd_warn_tracking(bool seeded, __u64 lost_procs, unsigned int max_procs)
{
	if (!seeded)
		tracecmd_err("warning: the execve of the command was not seen, nothing was counted");
	if (lost_procs)
		tracecmd_err("warning: %llu processes were not followed (more than %u at once)",
			     (unsigned long long)lost_procs, max_procs);
}

void tracecmd_report_header(FILE *out, char *const argv[], int status)
{
	int i;

	fprintf(out, "%s: %s", tracecmd_prog_name, argv[0]);
	for (i = 1; argv[i]; i++)
		fprintf(out, " %s", argv[i]);
	if (WIFSIGNALED(status))
		fprintf(out, ": killed by signal %d (%s)\n", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	else
		fprintf(out, ": exit status %d\n", WEXITSTATUS(status));
}

void tracecmd_json_command(json_writer_t *jw, char *const argv[], int status)
{
	int i;

	jsonw_name(jw, "command");
	jsonw_start_array(jw);
	for (i = 0; argv[i]; i++)
		jsonw_string(jw, argv[i]);
	jsonw_end_array(jw);
	jsonw_int_field(jw, "exit_status", tracecmd_exit_code(status));
	if (WIFSIGNALED(status))
		jsonw_int_field(jw, "signal", WTERMSIG(status));
}

int tracecmd_finish_report(FILE *out, int err)
{
	if (!err && (fflush(out) || ferror(out)))
		err = errno ? -errno : -EIO;
	if (err)
		tracecmd_err("cannot write the report: %s", strerror(-err));
	return err;
}
