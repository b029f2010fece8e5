// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscount - count the system calls of a command and its descendants, from
 * the kernel side, with the BPF programs of bpf/syscount.bpf.c.
 *
 *   syscount [-j [-p]] [-o FILE] [-v] [--] CMD [ARGS...]
 *
 * Sequence (libbpf-bootstrap's bootstrap.c shape): resolve CMD on PATH, fork
 * a child that blocks on a pipe before execve, open the skeleton, set the
 * child's pid and our pid namespace in rodata, load, attach, release the
 * child, wait for it, detach, read the per-CPU counts, report, destroy.
 * The BPF side starts counting at the child's execve, so the handshake is
 * not counted. A second pipe (close-on-exec) carries the errno of a failed
 * execve back.
 *
 * Exit status: CMD's (128 + signal number if a signal killed it), 125 if
 * syscount itself failed, 126 if CMD cannot be executed, 127 if it was not
 * found.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/types.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "json_writer.h"
#include "syscall_names.h"
#include "syscount.h"
#include "syscount.skel.h"

#define EXIT_FAILED	125	/* syscount itself failed */
#define EXIT_CANNOT_RUN	126
#define EXIT_NOT_FOUND	127

extern char **environ;

static const char *prog_name = "syscount";

static struct {
	bool json;
	bool pretty;
	bool verbose;
	const char *output;	/* NULL: stderr, "-": stdout */
} env;

/* One counted slot of the report. */
struct entry {
	const char *name;
	char buf[24];		/* name storage for numbers without one */
	__u64 calls;
	__u64 errors;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] [--] CMD [ARGS...]\n"
		"\n"
		"Run CMD and count the system calls it and its descendants make, per\n"
		"system call, with BPF (raw_syscalls tracepoints). Counting starts at\n"
		"CMD's execve and ends when CMD exits.\n"
		"\n"
		"Options:\n"
		"  -j, --json         print the report as JSON\n"
		"  -p, --pretty       pretty-print the JSON (implies --json)\n"
		"  -o, --output FILE  write the report to FILE (\"-\": standard output;\n"
		"                     default: standard error)\n"
		"  -v, --verbose      print libbpf debug messages\n"
		"  -h, --help         print this help\n"
		"\n"
		"Exit status: CMD's (128+N if signal N killed it); 125 if %s failed,\n"
		"126 if CMD cannot be executed, 127 if CMD was not found.\n",
		prog_name, prog_name);
}

static void __attribute__((format(printf, 1, 2))) p_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format,
			   va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
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
		_exit(EXIT_FAILED);
	do
		n = read(go[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(EXIT_FAILED);

	execve(path, argv, environ);
	err = errno;
	if (write(errp[1], &err, sizeof(err)) != sizeof(err))
		_exit(EXIT_FAILED);
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Sum the per-CPU values of every slot of the counts map into @sum. */
static int read_counts(struct syscount_bpf *skel, struct syscount_val *sum)
{
	struct syscount_val *vals;
	int ncpus, cpu, err = 0;
	__u32 key;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return ncpus;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;

	for (key = 0; key < SYSCOUNT_NR_SLOTS; key++) {
		err = bpf_map__lookup_elem(skel->maps.counts, &key, sizeof(key),
					   vals, ncpus * sizeof(*vals), 0);
		if (err)
			break;
		sum[key].calls = 0;
		sum[key].errors = 0;
		for (cpu = 0; cpu < ncpus; cpu++) {
			sum[key].calls += vals[cpu].calls;
			sum[key].errors += vals[cpu].errors;
		}
	}
	free(vals);
	return err;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->calls != y->calls)
		return x->calls < y->calls ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Non-empty slots, named and sorted by calls (descending), then by name. */
static struct entry *make_entries(const struct syscount_val *sum, size_t *nr)
{
	struct entry *e;
	size_t n = 0;
	__u32 slot;

	e = calloc(SYSCOUNT_NR_SLOTS, sizeof(*e));
	if (!e)
		return NULL;
	for (slot = 0; slot < SYSCOUNT_NR_SLOTS; slot++) {
		if (!sum[slot].calls && !sum[slot].errors)
			continue;
		e[n].calls = sum[slot].calls;
		e[n].errors = sum[slot].errors;
		if (slot == SYSCOUNT_SLOT_OTHER) {
			e[n].name = "unknown";
		} else if (slot < syscount_nr_syscall_names &&
			   syscount_syscall_names[slot]) {
			e[n].name = syscount_syscall_names[slot];
		} else {
			snprintf(e[n].buf, sizeof(e[n].buf), "syscall_%u", slot);
			e[n].name = e[n].buf;
		}
		n++;
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	*nr = n;
	return e;
}

static int exit_code_of(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int report_json(FILE *out, char *const argv[], int status,
		       const struct entry *e, size_t nr, __u64 lost_procs)
{
	__u64 total = 0, total_errors = 0;
	json_writer_t *jw;
	size_t i;

	for (i = 0; i < nr; i++) {
		total += e[i].calls;
		total_errors += e[i].errors;
	}

	jw = jsonw_new(out);
	if (!jw)
		return -ENOMEM;
	jsonw_pretty(jw, env.pretty);
	jsonw_start_object(jw);
	jsonw_name(jw, "command");
	jsonw_start_array(jw);
	for (i = 0; argv[i]; i++)
		jsonw_string(jw, argv[i]);
	jsonw_end_array(jw);
	jsonw_int_field(jw, "exit_status", exit_code_of(status));
	if (WIFSIGNALED(status))
		jsonw_int_field(jw, "signal", WTERMSIG(status));
	jsonw_uint_field(jw, "total", total);
	jsonw_uint_field(jw, "total_errors", total_errors);
	jsonw_name(jw, "syscalls");
	jsonw_start_object(jw);
	for (i = 0; i < nr; i++)
		if (e[i].calls)
			jsonw_uint_field(jw, e[i].name, e[i].calls);
	jsonw_end_object(jw);
	jsonw_name(jw, "errors");
	jsonw_start_object(jw);
	for (i = 0; i < nr; i++)
		if (e[i].errors)
			jsonw_uint_field(jw, e[i].name, e[i].errors);
	jsonw_end_object(jw);
	jsonw_uint_field(jw, "lost_processes", lost_procs);
	jsonw_end_object(jw);
	jsonw_destroy(&jw);
	return 0;
}

static void report_text(FILE *out, char *const argv[], int status,
			const struct entry *e, size_t nr)
{
	static const char rule[] = "---------- ----------  ----------------";
	__u64 total = 0, total_errors = 0;
	size_t i;

	fprintf(out, "%s: %s", prog_name, argv[0]);
	for (i = 1; argv[i]; i++)
		fprintf(out, " %s", argv[i]);
	if (WIFSIGNALED(status))
		fprintf(out, ": killed by signal %d (%s)\n", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	else
		fprintf(out, ": exit status %d\n", WEXITSTATUS(status));

	fprintf(out, "%10s %10s  %s\n%s\n", "calls", "errors", "syscall", rule);
	for (i = 0; i < nr; i++) {
		fprintf(out, "%10llu %10llu  %s\n", (unsigned long long)e[i].calls,
			(unsigned long long)e[i].errors, e[i].name);
		total += e[i].calls;
		total_errors += e[i].errors;
	}
	fprintf(out, "%s\n%10llu %10llu  total\n", rule,
		(unsigned long long)total, (unsigned long long)total_errors);
}

/* Write the report; 0 or -errno. Closes @out unless it is stdout/stderr. */
static int report(FILE *out, char *const argv[], int status,
		  struct syscount_bpf *skel)
{
	struct syscount_val *sum;
	struct entry *e = NULL;
	size_t nr = 0;
	int err;

	sum = calloc(SYSCOUNT_NR_SLOTS, sizeof(*sum));
	if (!sum)
		return -ENOMEM;
	err = read_counts(skel, sum);
	if (err) {
		p_err("cannot read the counts map: %s", strerror(-err));
		goto out;
	}
	e = make_entries(sum, &nr);
	if (!e) {
		err = -ENOMEM;
		goto out;
	}

	if (!skel->bss->seeded)
		p_err("warning: the execve of the command was not seen, nothing was counted");
	if (skel->bss->lost_procs)
		p_err("warning: %llu processes were not followed (more than %u at once)",
		      (unsigned long long)skel->bss->lost_procs, SYSCOUNT_MAX_PROCS);

	errno = 0;
	if (env.json)
		err = report_json(out, argv, status, e, nr, skel->bss->lost_procs);
	else
		report_text(out, argv, status, e, nr);
	if (!err && (fflush(out) || ferror(out)))
		err = errno ? -errno : -EIO;
	if (err)
		p_err("cannot write the report: %s", strerror(-err));
out:
	free(e);
	free(sum);
	return err;
}

/* The kernel's dev_t encoding of st_dev, as bpf_get_ns_current_pid_tgid wants. */
static int pidns_of_self(__u64 *dev, __u64 *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return -errno;
	*dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);
	*ino = st.st_ino;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",    no_argument,       NULL, 'j' },
		{ "pretty",  no_argument,       NULL, 'p' },
		{ "output",  required_argument, NULL, 'o' },
		{ "verbose", no_argument,       NULL, 'v' },
		{ "help",    no_argument,       NULL, 'h' },
		{ 0 }
	};
	int opt;

	/* "+": stop at CMD, its options are its own. */
	while ((opt = getopt_long(argc, argv, "+jpo:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			env.json = true;
			break;
		case 'p':
			env.json = true;
			env.pretty = true;
			break;
		case 'o':
			env.output = optarg;
			break;
		case 'v':
			env.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		p_err("no command given");
		usage(stderr);
		return -EINVAL;
	}
	return optind;
}

int main(int argc, char **argv)
{
	int go[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct sigaction old_int, old_quit;
	bool sig_ignored = false;
	struct syscount_bpf *skel = NULL;
	int ret = EXIT_FAILED, err, status, exec_err;
	char *const *cmd;
	char *path = NULL;
	FILE *out = stderr;
	pid_t pid = -1;
	ssize_t n;

	if (argv[0] && argv[0][0])
		prog_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	err = parse_args(argc, argv);
	if (err < 0)
		return EXIT_FAILED;
	cmd = &argv[err];

	path = resolve_command(cmd[0]);
	if (!path) {
		err = errno;
		if (err == ENOENT) {
			p_err("%s: command not found", cmd[0]);
			return EXIT_NOT_FOUND;
		}
		p_err("%s: %s", cmd[0], strerror(err));
		return err == ENOMEM ? EXIT_FAILED : EXIT_CANNOT_RUN;
	}

	if (env.output && strcmp(env.output, "-")) {
		out = fopen(env.output, "we");
		if (!out) {
			p_err("cannot open %s: %s", env.output, strerror(errno));
			goto out_free_path;
		}
	} else if (env.output) {
		out = stdout;
	}

	libbpf_set_print(libbpf_print_fn);

	skel = syscount_bpf__open();
	if (!skel) {
		p_err("cannot open the BPF skeleton: %s", strerror(errno));
		goto out_close_output;
	}
	err = pidns_of_self(&skel->rodata->pidns_dev, &skel->rodata->pidns_ino);
	if (err) {
		p_err("cannot stat /proc/self/ns/pid: %s", strerror(-err));
		goto out_destroy;
	}
	skel->rodata->nr_execve = SYS_execve;
	skel->rodata->nr_execveat = SYS_execveat;

	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		p_err("pipe2: %s", strerror(errno));
		goto out_close_pipes;
	}
	/* Nothing buffered may be written twice by the child. */
	if (fflush(NULL)) {
		p_err("fflush: %s", strerror(errno));
		goto out_close_pipes;
	}
	pid = fork();
	if (pid < 0) {
		p_err("fork: %s", strerror(errno));
		goto out_close_pipes;
	}
	if (!pid)
		run_child(go, errp, path, cmd);
	close(go[0]);
	close(errp[1]);
	go[0] = errp[1] = -1;

	skel->rodata->targ_tgid = pid;
	err = syscount_bpf__load(skel);
	if (err) {
		p_err("cannot load the BPF programs: %s%s", strerror(-err),
		      err == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
		goto out_reap;
	}
	err = syscount_bpf__attach(skel);
	if (err) {
		p_err("cannot attach the BPF programs: %s", strerror(-err));
		goto out_reap;
	}

	/* Like time(1): the terminal's ^C and ^\ are for CMD. */
	if (sigaction(SIGINT, &ign, &old_int)) {
		p_err("sigaction: %s", strerror(errno));
		goto out_reap;
	}
	if (sigaction(SIGQUIT, &ign, &old_quit)) {
		p_err("sigaction: %s", strerror(errno));
		if (sigaction(SIGINT, &old_int, NULL))
			p_err("sigaction: %s", strerror(errno));
		goto out_reap;
	}
	sig_ignored = true;
	if (write(go[1], "", 1) != 1) {
		p_err("cannot start the command: %s", strerror(errno));
		goto out_restore;
	}
	close(go[1]);
	go[1] = -1;

	/* EOF: execve succeeded and closed the pipe; else its errno. */
	do
		n = read(errp[0], &exec_err, sizeof(exec_err));
	while (n < 0 && errno == EINTR);

	err = wait_child(pid, &status);
	pid = -1;
	if (err) {
		p_err("waitpid: %s", strerror(-err));
		goto out_restore;
	}
	if (n == sizeof(exec_err)) {
		p_err("cannot execute %s: %s", path, strerror(exec_err));
		ret = exit_code_of(status);
		goto out_restore;
	}
	if (n != 0) {
		p_err("lost the execve status of the command: %s",
		      n < 0 ? strerror(errno) : "short read");
		goto out_restore;
	}

	/* A consistent snapshot: nothing counts while we read. */
	syscount_bpf__detach(skel);
	if (!report(out, cmd, status, skel))
		ret = exit_code_of(status);

out_restore:
	if (sig_ignored &&
	    (sigaction(SIGINT, &old_int, NULL) || sigaction(SIGQUIT, &old_quit, NULL)))
		p_err("sigaction: %s", strerror(errno));
out_reap:
	if (pid > 0) {
		/* EOF on the go pipe makes the child exit without running CMD. */
		close(go[1]);
		go[1] = -1;
		err = wait_child(pid, &status);
		if (err)
			p_err("waitpid: %s", strerror(-err));
	}
out_close_pipes:
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
out_destroy:
	syscount_bpf__destroy(skel);
out_close_output:
	if (out != stdout && out != stderr && fclose(out)) {
		p_err("cannot write %s: %s", env.output, strerror(errno));
		ret = EXIT_FAILED;
	}
out_free_path:
	free(path);
	return ret;
}
