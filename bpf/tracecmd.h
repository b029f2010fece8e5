/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tracecmd.h - run one command under BPF programs that follow its process
 * tree (proctree.bpf.h): the user-space half shared by the loaders in tools/
 * (syscount, copycount).  Not used by BPF code.
 *
 * Sequence:
 *
 *	tracecmd_init(&tc, argv)	resolve CMD on PATH
 *	tracecmd_fork(&tc)		fork a child held before execve
 *	X_bpf__open(), tracecmd_pidns(), rodata->targ_tgid = tc.pid,
 *	X_bpf__load(), X_bpf__attach()
 *	tracecmd_run(&tc, &status)	release the child, wait for it
 *	X_bpf__detach(), report (tracecmd_warn_tracking(),
 *	tracecmd_report_header() or tracecmd_json_command(),
 *	tracecmd_finish_report())
 *	tracecmd_fini(&tc)		reap a child never released, clean up
 *
 * The child blocks on a pipe before execve; a second pipe (close-on-exec)
 * carries the errno of a failed execve back.  While the command runs,
 * SIGINT and SIGQUIT are ignored (like time(1): the terminal's ^C and ^\ are
 * for CMD) until tracecmd_fini().
 */
#ifndef UNIFIED_IO_BPF_TRACECMD_H
#define UNIFIED_IO_BPF_TRACECMD_H

#include <linux/types.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <bpf/libbpf.h>

#include "json_writer.h"

/* Exit statuses of a loader, besides the command's own. */
#define TRACECMD_EXIT_FAILED	 125	/* the loader itself failed */
#define TRACECMD_EXIT_CANNOT_RUN 126	/* CMD found but not executable */
#define TRACECMD_EXIT_NOT_FOUND	 127	/* CMD not found */

/* Prefix of messages ("syscount"), and whether libbpf debug is printed. */
extern const char *tracecmd_prog_name;
extern bool tracecmd_verbose;

void tracecmd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* libbpf_set_print() callback: debug messages only if tracecmd_verbose. */
int tracecmd_libbpf_print(enum libbpf_print_level level, const char *format,
			  va_list args);

/* Set tracecmd_prog_name from argv[0]. */
void tracecmd_set_prog_name(const char *argv0);

/**
 * struct tracecmd - one traced command
 * @argv:  the command line (argv[0] as given)
 * @path:  argv[0] resolved on PATH
 * @pid:   the child, in our pid namespace; -1 when none is left to reap
 * @go:    pipe the child reads its go byte from
 * @errp:  pipe a failed execve's errno comes back on
 */
struct tracecmd {
	char *const *argv;
	char *path;
	pid_t pid;
	int go[2];
	int errp[2];
	bool sig_ignored;
	struct sigaction old_int;
	struct sigaction old_quit;
};

/*
 * Resolve @argv[0] as execvp(3) does.  Returns 0, or the exit status to
 * return (127 not found, 126 not executable, 125) after a message.
 * tracecmd_fini() must be called either way.
 */
int tracecmd_init(struct tracecmd *tc, char *const argv[]);

/* Fork the child, held before execve.  0, or -1 after a message. */
int tracecmd_fork(struct tracecmd *tc);

/*
 * Release the child and wait for it.  Returns 0 with its wait status in
 * @status if the command ran, else the exit status to return (the command's
 * if its execve failed, 125 if waiting failed) after a message.
 */
int tracecmd_run(struct tracecmd *tc, int *status);

/* Reap a child that was never released, restore signals, free. */
void tracecmd_fini(struct tracecmd *tc);

/* The exit status for a wait status: 128 + signal number if killed. */
int tracecmd_exit_code(int status);

/* Our pid namespace, as bpf_get_ns_current_pid_tgid() wants it. 0 or -errno. */
int tracecmd_pidns(__u64 *dev, __u64 *ino);

/*
 * The report's stream for -o NAME: NULL name gives stderr, "-" stdout, else
 * the file, created or truncated.  NULL after a message on failure.
 */
FILE *tracecmd_open_output(const char *name);

/* Close a stream from tracecmd_open_output(). 0 or -1 after a message. */
int tracecmd_close_output(FILE *out, const char *name);

/* Message for a failed X_bpf__load() (-errno), with a hint on -EPERM. */
void tracecmd_load_failed(int err);

/*
 * Warn, before the report, if the BPF side never saw the command's execve
 * (@seeded false) or lost track of @lost_procs processes (more than
 * @max_procs at once).
 */
void tracecmd_warn_tracking(bool seeded, __u64 lost_procs, unsigned int max_procs);

/*
 * The first line of a text report: "NAME: CMD ARGS...: exit status N", or
 * ": killed by signal N (description)".
 */
void tracecmd_report_header(FILE *out, char *const argv[], int status);

/* The first fields of a JSON report: "command", "exit_status", "signal". */
void tracecmd_json_command(json_writer_t *jw, char *const argv[], int status);

/*
 * Finish a report that returned @err (0 or -errno): flush @out and check it
 * for errors.  0, or -errno after a message.
 */
int tracecmd_finish_report(FILE *out, int err);

#endif /* UNIFIED_IO_BPF_TRACECMD_H */
