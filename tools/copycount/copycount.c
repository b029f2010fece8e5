// SPDX-License-Identifier: GPL-2.0-only
/*
 * copycount - count the bytes the CPU copies between user and kernel memory
 * for a command and its descendants, per kernel copy routine, with the BPF
 * programs of bpf/copycount.bpf.c.
 *
 *   copycount [-j [-p]] [-o FILE] [-k] [-v] [--] CMD [ARGS...]
 *
 * Sequence as syscount's (bpf/tracecmd.c runs the command), plus a choice
 * per routine before load: fexit if the kernel's BTF has the function,
 * else kprobe/kretprobe if /proc/kallsyms has it, else not probed (reported).
 * -k forces kprobes everywhere, to cross-check the two.
 *
 * Exit status: CMD's (128 + signal number if a signal killed it), 125 if
 * copycount itself failed, 126 if CMD cannot be executed, 127 if it was not
 * found.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "copycount.h"
#include "copycount.skel.h"
#include "json_writer.h"
#include "tracecmd.h"

enum routine_class { PAYLOAD, OTHER };
enum direction { TO_USER, FROM_USER };
enum probe_type { PROBE_NONE, PROBE_FEXIT, PROBE_KPROBE };

/* Which counting mode a probe belongs to. */
enum group {
	G_ROUTINE = 1,		/* payload routines mode */
	G_SITE = 2,		/* payload sites mode */
	G_OTHER = 3,		/* other user copies: both modes */
};

enum mode { MODE_ROUTINES, MODE_SITES };

static const char *const probe_names[] = {
	[PROBE_NONE] = "none",
	[PROBE_FEXIT] = "fexit",
	[PROBE_KPROBE] = "kprobe",
};

/* In the order of enum copycount_probe. */
static const struct routine {
	const char *name;
	enum routine_class class;
	enum direction dir;
	unsigned int groups;
} routines[COPYCOUNT_NR_PROBES] = {
#define R(slot, fn, class, dir, groups) [COPYCOUNT_##slot] = { #fn, class, dir, groups }
	R(COPY_TO_ITER, _copy_to_iter, PAYLOAD, TO_USER, G_ROUTINE),
	R(COPY_PAGE_TO_ITER_NOFAULT, copy_page_to_iter_nofault, PAYLOAD, TO_USER, G_ROUTINE),
	R(COPY_MC_TO_ITER, _copy_mc_to_iter, PAYLOAD, TO_USER, G_ROUTINE),
	R(COPY_FROM_ITER, _copy_from_iter, PAYLOAD, FROM_USER, G_ROUTINE),
	R(COPY_FOLIO_FROM_ITER_ATOMIC, copy_folio_from_iter_atomic, PAYLOAD, FROM_USER, G_ROUTINE),
	R(COPY_FROM_ITER_NOCACHE, _copy_from_iter_nocache, PAYLOAD, FROM_USER, G_ROUTINE),
	R(COPY_FROM_ITER_FLUSHCACHE, _copy_from_iter_flushcache, PAYLOAD, FROM_USER, G_ROUTINE),
	R(CSUM_AND_COPY_FROM_ITER_FULL, csum_and_copy_from_iter_full, PAYLOAD, FROM_USER, G_ROUTINE),
	R(CSUM_AND_COPY_TO_ITER, csum_and_copy_to_iter, PAYLOAD, TO_USER, G_ROUTINE | G_SITE),
	R(FILEMAP_READ, filemap_read, PAYLOAD, TO_USER, G_SITE),
	R(SHMEM_FILE_READ_ITER, shmem_file_read_iter, PAYLOAD, TO_USER, G_SITE),
	R(ANON_PIPE_READ, anon_pipe_read, PAYLOAD, TO_USER, G_SITE),
	R(SIMPLE_COPY_TO_ITER, simple_copy_to_iter, PAYLOAD, TO_USER, G_SITE),
	R(SEQ_READ_ITER, seq_read_iter, PAYLOAD, TO_USER, G_SITE),
	R(GENERIC_PERFORM_WRITE, generic_perform_write, PAYLOAD, FROM_USER, G_SITE),
	R(IOMAP_FILE_BUFFERED_WRITE, iomap_file_buffered_write, PAYLOAD, FROM_USER, G_SITE),
	R(ANON_PIPE_WRITE, anon_pipe_write, PAYLOAD, FROM_USER, G_SITE),
	R(SKB_COPY_DATAGRAM_FROM_ITER, skb_copy_datagram_from_iter, PAYLOAD, FROM_USER, G_SITE),
	R(IP_GENERIC_GETFRAG, ip_generic_getfrag, PAYLOAD, FROM_USER, G_SITE),
	R(TCP_SENDMSG_LOCKED, tcp_sendmsg_locked, PAYLOAD, FROM_USER, G_SITE),
	R(COPY_TO_USER, _copy_to_user, OTHER, TO_USER, G_OTHER),
	R(COPY_FROM_USER, _copy_from_user, OTHER, FROM_USER, G_OTHER),
#undef R
};

/* The routines that decide the mode: the main payload paths. */
static const int mode_routines[] = {
	COPYCOUNT_COPY_TO_ITER, COPYCOUNT_COPY_FROM_ITER,
	COPYCOUNT_COPY_FOLIO_FROM_ITER_ATOMIC,
};

static struct {
	bool json;
	bool pretty;
	bool kprobes;
	const char *output;	/* NULL: stderr, "-": stdout */
} env;

/* Sums over one group of routines. */
struct totals {
	__u64 to_user;
	__u64 from_user;
	__u64 kernel_bytes;
};

struct result {
	enum mode mode;
	bool used[COPYCOUNT_NR_PROBES];		/* belongs to the mode */
	enum probe_type probe[COPYCOUNT_NR_PROBES];	/* NONE: untraceable */
	struct copycount_val val[COPYCOUNT_NR_PROBES];
	struct totals payload, other;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] [--] CMD [ARGS...]\n"
		"\n"
		"Run CMD and count the bytes the CPU copies between user and kernel\n"
		"memory for it and its descendants, per kernel copy routine, with BPF\n"
		"(fexit probes). \"Payload\" is the data of read/write/send/recv and\n"
		"the like (iov_iter copies); \"other\" is the out-of-line\n"
		"copy_to_user/copy_from_user (system call arguments, ioctl structs).\n"
		"Counting starts when CMD's execve has loaded it and ends when CMD exits.\n"
		"\n"
		"Options:\n"
		"  -j, --json         print the report as JSON\n"
		"  -p, --pretty       pretty-print the JSON (implies --json)\n"
		"  -o, --output FILE  write the report to FILE (\"-\": standard output;\n"
		"                     default: standard error)\n"
		"  -k, --kprobes      use kprobe/kretprobe instead of fexit everywhere\n"
		"  -v, --verbose      print libbpf debug messages\n"
		"  -h, --help         print this help\n"
		"\n"
		"Exit status: CMD's (128+N if signal N killed it); 125 if %s failed,\n"
		"126 if CMD cannot be executed, 127 if CMD was not found.\n",
		tracecmd_prog_name, tracecmd_prog_name);
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",    no_argument,       NULL, 'j' },
		{ "pretty",  no_argument,       NULL, 'p' },
		{ "output",  required_argument, NULL, 'o' },
		{ "kprobes", no_argument,       NULL, 'k' },
		{ "verbose", no_argument,       NULL, 'v' },
		{ "help",    no_argument,       NULL, 'h' },
		{ 0 }
	};
	int opt;

	/* "+": stop at CMD, its options are its own. */
	while ((opt = getopt_long(argc, argv, "+jpo:kvh", opts, NULL)) != -1) {
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
		case 'k':
			env.kprobes = true;
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

/*
 * Mark in @traceable the functions of the table that ftrace lists in
 * available_filter_functions: only those take fexit or a BPF kprobe (lib/
 * is notrace on many kernels).  -errno if tracefs cannot be read.
 */
static int find_traceable(bool traceable[COPYCOUNT_NR_PROBES])
{
	static const char *const files[] = {
		"/sys/kernel/tracing/available_filter_functions",
		"/sys/kernel/debug/tracing/available_filter_functions",
	};
	char line[512];
	FILE *f = NULL;
	size_t i;
	int r;

	for (i = 0; i < sizeof(files) / sizeof(files[0]) && !f; i++)
		f = fopen(files[i], "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\n")] = '\0';	/* "name [module]" */
		for (r = 0; r < COPYCOUNT_NR_PROBES; r++)
			if (!strcmp(line, routines[r].name))
				traceable[r] = true;
	}
	fclose(f);
	return 0;
}

static struct bpf_program *prog_of(struct copycount_bpf *skel, const char *prefix,
				   const char *name)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s_%s", prefix, name);
	return bpf_object__find_program_by_name(skel->obj, buf);
}

/*
 * Choose the mode, then the probe of each function of it, and set autoload
 * accordingly: fexit when the kernel's BTF has the function (an exact return
 * value, no state), else a kprobe/kretprobe pair; none if ftrace cannot
 * trace it.  0 or -errno.
 */
static int choose_probes(struct copycount_bpf *skel, struct result *res)
{
	bool traceable[COPYCOUNT_NR_PROBES] = { false };
	struct btf *vmlinux = NULL;
	int i, err;
	size_t m;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		tracecmd_err("warning: no kernel BTF (%s); using kprobes", strerror(errno));
	err = find_traceable(traceable);
	if (err) {
		/* No tracefs: assume what BTF has is traceable. */
		tracecmd_err("warning: cannot read available_filter_functions (%s)",
			     strerror(-err));
		for (i = 0; i < COPYCOUNT_NR_PROBES; i++)
			traceable[i] = vmlinux &&
				btf__find_by_name_kind(vmlinux, routines[i].name,
						       BTF_KIND_FUNC) > 0;
	}

	res->mode = MODE_ROUTINES;
	for (m = 0; m < sizeof(mode_routines) / sizeof(mode_routines[0]); m++)
		if (!traceable[mode_routines[m]])
			res->mode = MODE_SITES;

	err = 0;
	for (i = 0; i < COPYCOUNT_NR_PROBES; i++) {
		const char *name = routines[i].name;
		unsigned int group = res->mode == MODE_ROUTINES ? G_ROUTINE : G_SITE;
		struct bpf_program *fx = prog_of(skel, "fx", name);
		struct bpf_program *kp = prog_of(skel, "kp", name);
		struct bpf_program *kr = prog_of(skel, "kr", name);
		enum probe_type probe = PROBE_NONE;

		if (!fx || !kp || !kr) {
			tracecmd_err("no BPF programs for %s", name);
			err = -ENOENT;
			break;
		}
		res->used[i] = routines[i].groups & group;
		if (res->used[i] && traceable[i]) {
			if (!env.kprobes && vmlinux &&
			    btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0)
				probe = PROBE_FEXIT;
			else
				probe = PROBE_KPROBE;
		}
		res->probe[i] = probe;
		bpf_program__set_autoload(fx, probe == PROBE_FEXIT);
		bpf_program__set_autoload(kp, probe == PROBE_KPROBE);
		bpf_program__set_autoload(kr, probe == PROBE_KPROBE);
	}
	btf__free(vmlinux);
	return err;
}

/* Sum the per-CPU values of the counts map into @res. */
static int read_counts(struct copycount_bpf *skel, struct result *res)
{
	struct copycount_val *vals;
	int ncpus, cpu, err = 0;
	__u32 key;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return ncpus;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;

	for (key = 0; key < COPYCOUNT_NR_PROBES; key++) {
		struct copycount_val *sum = &res->val[key];
		const struct routine *r = &routines[key];
		struct totals *t = r->class == PAYLOAD ? &res->payload : &res->other;

		err = bpf_map__lookup_elem(skel->maps.counts, &key, sizeof(key),
					   vals, ncpus * sizeof(*vals), 0);
		if (err)
			break;
		memset(sum, 0, sizeof(*sum));
		for (cpu = 0; cpu < ncpus; cpu++) {
			sum->calls += vals[cpu].calls;
			sum->bytes += vals[cpu].bytes;
			sum->kernel_calls += vals[cpu].kernel_calls;
			sum->kernel_bytes += vals[cpu].kernel_bytes;
		}
		if (r->dir == TO_USER)
			t->to_user += sum->bytes;
		else
			t->from_user += sum->bytes;
		t->kernel_bytes += sum->kernel_bytes;
	}
	free(vals);
	return err;
}

static void json_totals(json_writer_t *jw, const char *name, const struct totals *t)
{
	jsonw_name(jw, name);
	jsonw_start_object(jw);
	jsonw_uint_field(jw, "to_user", t->to_user);
	jsonw_uint_field(jw, "from_user", t->from_user);
	jsonw_uint_field(jw, "bytes", t->to_user + t->from_user);
	jsonw_uint_field(jw, "kernel_bytes", t->kernel_bytes);
	jsonw_end_object(jw);
}

static int report_json(FILE *out, char *const argv[], int status,
		       const struct result *res, __u64 lost_procs)
{
	json_writer_t *jw;
	int i;

	jw = jsonw_new(out);
	if (!jw)
		return -ENOMEM;
	jsonw_pretty(jw, env.pretty);
	jsonw_start_object(jw);
	tracecmd_json_command(jw, argv, status);
	jsonw_string_field(jw, "mode", res->mode == MODE_ROUTINES ? "routines" : "sites");
	json_totals(jw, "payload", &res->payload);
	json_totals(jw, "other", &res->other);
	jsonw_uint_field(jw, "total_bytes", res->payload.to_user + res->payload.from_user +
			 res->other.to_user + res->other.from_user);
	jsonw_name(jw, "routines");
	jsonw_start_object(jw);
	for (i = 0; i < COPYCOUNT_NR_PROBES; i++) {
		const struct copycount_val *v = &res->val[i];

		if (!res->used[i])
			continue;
		jsonw_name(jw, routines[i].name);
		jsonw_start_object(jw);
		jsonw_string_field(jw, "class", routines[i].class == PAYLOAD ? "payload" : "other");
		jsonw_string_field(jw, "direction",
				   routines[i].dir == TO_USER ? "to_user" : "from_user");
		jsonw_string_field(jw, "probe", probe_names[res->probe[i]]);
		jsonw_uint_field(jw, "calls", v->calls);
		jsonw_uint_field(jw, "bytes", v->bytes);
		jsonw_uint_field(jw, "kernel_calls", v->kernel_calls);
		jsonw_uint_field(jw, "kernel_bytes", v->kernel_bytes);
		jsonw_end_object(jw);
	}
	jsonw_end_object(jw);
	jsonw_name(jw, "untraceable");
	jsonw_start_array(jw);
	for (i = 0; i < COPYCOUNT_NR_PROBES; i++)
		if (res->used[i] && res->probe[i] == PROBE_NONE)
			jsonw_string(jw, routines[i].name);
	jsonw_end_array(jw);
	jsonw_uint_field(jw, "lost_processes", lost_procs);
	jsonw_end_object(jw);
	jsonw_destroy(&jw);
	return 0;
}

static void report_text(FILE *out, char *const argv[], int status,
			const struct result *res)
{
	static const char rule[] =
		"---------- ---------------- ----------------  -------  ----------------------------";
	const struct totals *p = &res->payload, *o = &res->other;
	int i;

	tracecmd_report_header(out, argv, status);
	fprintf(out, "mode: %s\n", res->mode == MODE_ROUTINES ?
		"routines (the iov_iter copy routines)" :
		"sites (callers of the copy routines, which cannot be traced here)");
	fprintf(out, "%10s %16s %16s  %-7s  %s\n%s\n", "calls", "bytes", "kernel_bytes",
		"class", "routine (direction, probe)", rule);
	for (i = 0; i < COPYCOUNT_NR_PROBES; i++) {
		const struct copycount_val *v = &res->val[i];

		if (!res->used[i] || (!v->calls && res->probe[i] != PROBE_NONE))
			continue;
		fprintf(out, "%10llu %16llu %16llu  %-7s  %s (%s, %s)\n",
			(unsigned long long)v->calls, (unsigned long long)v->bytes,
			(unsigned long long)v->kernel_bytes,
			routines[i].class == PAYLOAD ? "payload" : "other",
			routines[i].name,
			routines[i].dir == TO_USER ? "to user" : "from user",
			res->probe[i] == PROBE_NONE ? "not traceable" :
			probe_names[res->probe[i]]);
	}
	fprintf(out, "%s\n", rule);
	fprintf(out, "payload: %llu bytes to user, %llu from user, %llu in all\n",
		(unsigned long long)p->to_user, (unsigned long long)p->from_user,
		(unsigned long long)(p->to_user + p->from_user));
	fprintf(out, "other:   %llu bytes to user, %llu from user, %llu in all\n",
		(unsigned long long)o->to_user, (unsigned long long)o->from_user,
		(unsigned long long)(o->to_user + o->from_user));
	fprintf(out, "total:   %llu bytes\n",
		(unsigned long long)(p->to_user + p->from_user + o->to_user + o->from_user));
	if (p->kernel_bytes || o->kernel_bytes)
		fprintf(out, "kernel-to-kernel (kernel iov_iter): %llu bytes, not in the totals\n",
			(unsigned long long)(p->kernel_bytes + o->kernel_bytes));
}

/* Write the report; 0 or -errno. */
static int report(FILE *out, char *const argv[], int status,
		  struct copycount_bpf *skel, struct result *res)
{
	int err;

	err = read_counts(skel, res);
	if (err) {
		tracecmd_err("cannot read the counts map: %s", strerror(-err));
		return err;
	}
	tracecmd_warn_tracking(skel->bss->seeded, skel->bss->lost_procs,
			       COPYCOUNT_MAX_PROCS);

	errno = 0;
	if (env.json)
		err = report_json(out, argv, status, res, skel->bss->lost_procs);
	else
		report_text(out, argv, status, res);
	return tracecmd_finish_report(out, err);
}

int main(int argc, char **argv)
{
	struct copycount_bpf *skel = NULL;
	int ret = TRACECMD_EXIT_FAILED, err, status;
	struct result res = { 0 };
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

	skel = copycount_bpf__open();
	if (!skel) {
		tracecmd_err("cannot open the BPF skeleton: %s", strerror(errno));
		goto out_close_output;
	}
	err = tracecmd_pidns(&skel->rodata->pidns_dev, &skel->rodata->pidns_ino);
	if (err) {
		tracecmd_err("cannot stat /proc/self/ns/pid: %s", strerror(-err));
		goto out_destroy;
	}
	if (choose_probes(skel, &res))
		goto out_destroy;

	if (tracecmd_fork(&tc))
		goto out_destroy;

	skel->rodata->targ_tgid = tc.pid;
	err = copycount_bpf__load(skel);
	if (err) {
		tracecmd_load_failed(err);
		goto out_destroy;
	}
	err = copycount_bpf__attach(skel);
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
	copycount_bpf__detach(skel);
	if (!report(out, tc.argv, status, skel, &res))
		ret = tracecmd_exit_code(status);

out_destroy:
	/* Before destroying: a held child is released (EOF) and reaped. */
	tracecmd_fini(&tc);
	copycount_bpf__destroy(skel);
out_close_output:
	if (tracecmd_close_output(out, env.output))
		ret = TRACECMD_EXIT_FAILED;
out_fini:
	tracecmd_fini(&tc);
	return ret;
}
