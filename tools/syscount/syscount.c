// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscount - count the system calls of a command and its descendants, from
 * the kernel side, with the BPF programs of bpf/syscount.bpf.c.
 *
 *   syscount [-j [-p]] [-o FILE] [-v] [--] CMD [ARGS...]
 *
 * Sequence (libbpf-bootstrap's bootstrap.c shape, the command handling in
 * bpf/tracecmd.c): resolve CMD on PATH, fork a child that blocks on a pipe
 * before execve, open the skeleton, set the child's pid and our pid
 * namespace in rodata, load, attach, release the child, wait for it,
 * detach, read the per-CPU counts, report, destroy. The BPF side starts
 * counting at the child's execve, so the handshake is not counted.
 *
 * Exit status: CMD's (128 + signal number if a signal killed it), 125 if
 * syscount itself failed, 126 if CMD cannot be executed, 127 if it was not
 * found.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "json_writer.h"
#include "syscall_names.h"
#include "syscount.h"
#include "syscount.skel.h"
#include "tracecmd.h"

static struct {
	bool json;
	bool pretty;
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
		tracecmd_prog_name, tracecmd_prog_name);
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
	tracecmd_json_command(jw, argv, status);
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

	tracecmd_report_header(out, argv, status);
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
		tracecmd_err("cannot read the counts map: %s", strerror(-err));
		goto out;
	}
	e = make_entries(sum, &nr);
	if (!e) {
		err = -ENOMEM;
		goto out;
	}

	tracecmd_warn_tracking(skel->bss->seeded, skel->bss->lost_procs,
			       SYSCOUNT_MAX_PROCS);

	errno = 0;
	if (env.json)
		err = report_json(out, argv, status, e, nr, skel->bss->lost_procs);
	else
		report_text(out, argv, status, e, nr);
	err = tracecmd_finish_report(out, err);
out:
	free(e);
	free(sum);
	return err;
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
			tracecmd_verbose = true;
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
		tracecmd_err("no command given");
		usage(stderr);
		return -EINVAL;
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct syscount_bpf *skel = NULL;
	int ret = TRACECMD_EXIT_FAILED, err, status;
	struct tracecmd tc;
	FILE *out;

	tracecmd_set_prog_name(argv[0]);
	err = parse_args(argc, argv);
	if (err < 0)
		return TRACECMD_EXIT_FAILED;

	err = tracecmd_init(&tc, &argv[err]);
	if (err) {
		ret = err;
		goto out_fini;
	}
	out = tracecmd_open_output(env.output);
	if (!out)
		goto out_fini;

	libbpf_set_print(tracecmd_libbpf_print);

	skel = syscount_bpf__open();
	if (!skel) {
		tracecmd_err("cannot open the BPF skeleton: %s", strerror(errno));
		goto out_close_output;
	}
	err = tracecmd_pidns(&skel->rodata->pidns_dev, &skel->rodata->pidns_ino);
	if (err) {
		tracecmd_err("cannot stat /proc/self/ns/pid: %s", strerror(-err));
		goto out_destroy;
	}
	skel->rodata->nr_execve = SYS_execve;
	skel->rodata->nr_execveat = SYS_execveat;

	if (tracecmd_fork(&tc))
		goto out_destroy;

	skel->rodata->targ_tgid = tc.pid;
	err = syscount_bpf__load(skel);
	if (err) {
		tracecmd_load_failed(err);
		goto out_destroy;
	}
	err = syscount_bpf__attach(skel);
	if (err) {
		tracecmd_err("cannot attach the BPF programs: %s", strerror(-err));
		goto out_destroy;
	}

	err = tracecmd_run(&tc, &status);
	if (err) {
		ret = err;
		goto out_destroy;
	}

	/* A consistent snapshot: nothing counts while we read. */
	syscount_bpf__detach(skel);
	if (!report(out, tc.argv, status, skel))
		ret = tracecmd_exit_code(status);

out_destroy:
	/* Before destroying: a held child is released (EOF) and reaped. */
	tracecmd_fini(&tc);
	syscount_bpf__destroy(skel);
out_close_output:
	if (tracecmd_close_output(out, env.output))
		ret = TRACECMD_EXIT_FAILED;
out_fini:
	tracecmd_fini(&tc);
	return ret;
}
