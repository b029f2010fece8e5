// SPDX-License-Identifier: GPL-2.0-only
/*
 * unio-bench: what batching through the mmapped SQ buys over one descriptor
 * per ioctl, for NOP and for ALLOC/FREE pairs.
 *
 * Modes: "inline" submits each descriptor with UNIFIED_IO_SUBMIT_F_INLINE
 * and reaps it from the mmapped CQ; "batchN" fills N SQ entries and submits
 * them with one UNIFIED_IO_SUBMIT. An ALLOC/FREE op is one ALLOC and one
 * FREE of the returned buffer (batched: N allocs, then N frees).
 *
 * Each (workload, mode) runs a fixed number of ops --reps times, timed with
 * CLOCK_MONOTONIC; the median ops/s is reported. System calls per op are
 * the ioctls this program issues, cross-checked with the kernel's
 * submit_calls counter. Under QEMU TCG only the ratios within one run mean
 * anything.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <unifiedio.h>

#include "json_writer.h"
#include "tool.h"

#define BENCH_OWNER	0x7
#define BENCH_SQ	256
#define BENCH_CQ	512
#define BENCH_BUF_SIZE	4096
#define BENCH_NR_BUFS	1024
#define MAX_REPS	101

static const char bench_note[] =
	"Absolute figures under QEMU TCG emulation are not hardware figures; "
	"only the ratios between modes within one run (one boot) are meaningful.";

enum workload { WL_NOP, WL_ALLOC_FREE, NR_WORKLOADS };

static const struct {
	const char *name;
	const char *op_unit;
} workloads[NR_WORKLOADS] = {
	[WL_NOP]	= { "nop",	  "descriptor" },
	[WL_ALLOC_FREE]	= { "alloc_free", "alloc+free pair" },
};

static const struct {
	const char *name;
	unsigned int batch;	/* 0: inline, one descriptor per ioctl */
} modes[] = {
	{ "inline",	0 },
	{ "batch32",	32 },
	{ "batch256",	256 },
};
#define NR_MODES (sizeof(modes) / sizeof(modes[0]))

struct result {
	double ops_per_sec[MAX_REPS];
	double median, min, max;
	double syscalls_per_op;
	double kernel_submits_per_op;
};

struct bench {
	struct unio_region *r;
	struct unio_queue *q;
	uint64_t *offs;
	uint64_t ioctls;	/* SUBMIT and COMPLETE calls issued */
	unsigned int reps;
	uint32_t ops;
	bool progress;
	bool tty;		/* stderr is a terminal: progress in place */
	struct result res[NR_WORKLOADS][NR_MODES];
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "unio-bench: %s: %s\n", what, strerror(-err));
	return err;
}

/* Every batch is reaped before the next, so the SQ always has room. */
static struct unified_io_desc *bench_get_sqe(struct bench *b)
{
	struct unified_io_desc *sqe = unio_get_sqe(b->q);

	if (!sqe)
		fail("SQ full with nothing pending", -EBUSY);
	return sqe;
}

/* Publish everything handed out by get_sqe; partial consumption retried. */
static int bench_submit(struct bench *b)
{
	while (unio_sq_ready(b->q)) {
		int ret = unio_submit(b->q);

		b->ioctls++;
		if (ret < 0)
			return fail("SUBMIT", ret);
	}
	return 0;
}

/* Reap @nr completions; ALLOC offsets go to b->offs[user_data]. */
static int bench_reap(struct bench *b, unsigned int nr)
{
	unsigned int got = 0;

	while (got < nr) {
		struct unified_io_cqe *cqe = unio_peek_cqe(b->q);
		int ret;

		if (!cqe) {
			/* Not reached with ABI v1 (SUBMIT completes inline). */
			b->ioctls++;
			ret = unio_wait_cqes(b->q, nr - got, 0);
			if (ret < 0)
				return fail("COMPLETE", ret);
			continue;
		}
		if (cqe->res < 0) {
			fprintf(stderr, "unio-bench: %s failed: %s\n",
				unio_op_name(cqe->opcode), strerror(-cqe->res));
			return -EIO;
		}
		if (cqe->opcode == UNIFIED_IO_OP_ALLOC) {
			if (cqe->user_data >= BENCH_SQ) {
				fprintf(stderr, "unio-bench: bad ALLOC user_data\n");
				return -EIO;
			}
			b->offs[cqe->user_data] = cqe->addr;
		}
		unio_cqe_seen(b->q);
		got++;
	}
	return 0;
}

static int bench_inline(struct bench *b, const struct unified_io_desc *d)
{
	int ret = unio_submit_inline(b->q, d);

	b->ioctls++;
	if (ret < 0)
		return fail("SUBMIT inline", ret);
	return bench_reap(b, 1);
}

/*
 * Fill @n SQ entries with @opcode (NOP user_data @base + i, ALLOC/FREE of
 * slot i), submit them and reap the completions.
 */
static int bench_batch(struct bench *b, uint8_t opcode, unsigned int n,
		       uint32_t base)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		struct unified_io_desc *sqe = bench_get_sqe(b);

		if (!sqe)
			return -EBUSY;
		if (opcode == UNIFIED_IO_OP_NOP)
			unio_prep_nop(sqe, base + i);
		else if (opcode == UNIFIED_IO_OP_ALLOC)
			unio_prep_alloc(sqe, BENCH_OWNER, i);
		else
			unio_prep_free(sqe, BENCH_OWNER, b->offs[i], i);
	}
	ret = bench_submit(b);
	if (!ret)
		ret = bench_reap(b, n);
	return ret;
}

static int run_nop(struct bench *b, unsigned int batch, uint32_t ops)
{
	uint32_t done = 0;
	int ret;

	if (!batch) {
		struct unified_io_desc d;

		memset(&d, 0, sizeof(d));
		for (; done < ops; done++) {
			unio_prep_nop(&d, done);
			ret = bench_inline(b, &d);
			if (ret)
				return ret;
		}
		return 0;
	}
	while (done < ops) {
		unsigned int n = ops - done < batch ? ops - done : batch;

		ret = bench_batch(b, UNIFIED_IO_OP_NOP, n, done);
		if (ret)
			return ret;
		done += n;
	}
	return 0;
}

static int run_alloc_free(struct bench *b, unsigned int batch, uint32_t pairs)
{
	uint32_t done = 0;
	int ret;

	if (!batch) {
		struct unified_io_desc d;

		for (; done < pairs; done++) {
			memset(&d, 0, sizeof(d));
			unio_prep_alloc(&d, BENCH_OWNER, 0);
			ret = bench_inline(b, &d);
			if (ret)
				return ret;
			memset(&d, 0, sizeof(d));
			unio_prep_free(&d, BENCH_OWNER, b->offs[0], 0);
			ret = bench_inline(b, &d);
			if (ret)
				return ret;
		}
		return 0;
	}
	while (done < pairs) {
		unsigned int n = pairs - done < batch ? pairs - done : batch;

		ret = bench_batch(b, UNIFIED_IO_OP_ALLOC, n, 0);
		if (!ret)
			ret = bench_batch(b, UNIFIED_IO_OP_FREE, n, 0);
		if (ret)
			return ret;
		done += n;
	}
	return 0;
}

static int run_once(struct bench *b, enum workload wl, unsigned int batch,
		    uint32_t ops)
{
	return wl == WL_NOP ? run_nop(b, batch, ops) : run_alloc_free(b, batch, ops);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int get_submit_calls(struct bench *b, uint64_t *out)
{
	struct unified_io_info info;
	int ret = unio_region_get_info(b->r, &info);

	if (ret)
		return fail("GET_INFO", ret);
	*out = info.stats.submit_calls;
	return 0;
}

static int bench_one(struct bench *b, enum workload wl, unsigned int m,
		     unsigned int step, unsigned int nr_steps)
{
	struct result *res = &b->res[wl][m];
	uint64_t ioctls0, ksub0, ksub1;
	double sorted[MAX_REPS];
	unsigned int rep;
	int ret;

	/* Warm-up: fault in the rings and the code path. */
	ret = run_once(b, wl, modes[m].batch, b->ops / 10 + 1);
	if (ret)
		return ret;

	ioctls0 = b->ioctls;
	ret = get_submit_calls(b, &ksub0);
	if (ret)
		return ret;
	for (rep = 0; rep < b->reps; rep++) {
		double t0, t1;

		if (b->progress && b->tty)
			fprintf(stderr, "\r[%u/%u] %-10s %-8s rep %u/%u ", step,
				nr_steps, workloads[wl].name, modes[m].name,
				rep + 1, b->reps);
		t0 = tool_now_ns() / 1e9;
		ret = run_once(b, wl, modes[m].batch, b->ops);
		t1 = tool_now_ns() / 1e9;
		if (ret)
			return ret;
		res->ops_per_sec[rep] = b->ops / (t1 - t0);
	}
	ret = get_submit_calls(b, &ksub1);
	if (ret)
		return ret;

	memcpy(sorted, res->ops_per_sec, b->reps * sizeof(double));
	qsort(sorted, b->reps, sizeof(double), cmp_double);
	res->min = sorted[0];
	res->max = sorted[b->reps - 1];
	res->median = b->reps % 2 ? sorted[b->reps / 2] :
		(sorted[b->reps / 2 - 1] + sorted[b->reps / 2]) / 2;
	res->syscalls_per_op = (double)(b->ioctls - ioctls0) / ((double)b->ops * b->reps);
	res->kernel_submits_per_op = (double)(ksub1 - ksub0) / ((double)b->ops * b->reps);
	if (b->progress)
		fprintf(stderr, "%s[%u/%u] %-10s %-8s %u reps: median %.0f ops/s\n",
			b->tty ? "\r" : "", step, nr_steps, workloads[wl].name,
			modes[m].name, b->reps, res->median);
	return 0;
}

static void cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon += 1 + (colon[1] == ' ');
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

static void print_table(const struct bench *b, const struct utsname *u,
			const char *cpu)
{
	unsigned int wl, m;

	printf("unio-bench: kernel %s %s, cpu \"%s\"\n", u->release, u->machine, cpu);
	printf("region: %u-entry SQ, %u-entry CQ, %u x %u B buffers; %" PRIu32
	       " ops x %u reps per mode, median reported\n",
	       BENCH_SQ, BENCH_CQ, BENCH_NR_BUFS, BENCH_BUF_SIZE, b->ops, b->reps);
	printf("NOTE: %s\n\n", bench_note);
	printf("%-10s %-9s %5s %14s %27s %12s %10s\n", "workload", "mode", "batch",
	       "ops/s", "(min .. max)", "syscalls/op", "vs inline");
	for (wl = 0; wl < NR_WORKLOADS; wl++) {
		for (m = 0; m < NR_MODES; m++) {
			const struct result *r = &b->res[wl][m];
			char range[64];

			snprintf(range, sizeof(range), "(%.0f .. %.0f)", r->min, r->max);
			printf("%-10s %-9s %5u %14.0f %27s %12.4f %9.2fx\n",
			       workloads[wl].name, modes[m].name,
			       modes[m].batch ? modes[m].batch : 1, r->median, range,
			       r->syscalls_per_op, r->median / b->res[wl][0].median);
		}
	}
	printf("\nops: nop = one descriptor; alloc_free = one ALLOC plus one FREE "
	       "(two descriptors).\n");
}

static int write_json(const struct bench *b, const char *path,
		      const struct utsname *u, const char *cpu)
{
	json_writer_t *w;
	unsigned int wl, m, rep;
	FILE *f = fopen(path, "we");

	if (!f) {
		fprintf(stderr, "unio-bench: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	w = jsonw_new(f);
	if (!w) {
		fclose(f);
		return -ENOMEM;
	}
	jsonw_pretty(w, true);
	jsonw_start_object(w);
	jsonw_string_field(w, "benchmark", "unio-bench");
	jsonw_string_field(w, "note", bench_note);
	jsonw_name(w, "system");
	jsonw_start_object(w);
	jsonw_string_field(w, "kernel", u->release);
	jsonw_string_field(w, "machine", u->machine);
	jsonw_string_field(w, "cpu", cpu);
	jsonw_end_object(w);
	jsonw_name(w, "config");
	jsonw_start_object(w);
	jsonw_uint_field(w, "ops", b->ops);
	jsonw_uint_field(w, "reps", b->reps);
	jsonw_uint_field(w, "sq_entries", BENCH_SQ);
	jsonw_uint_field(w, "cq_entries", BENCH_CQ);
	jsonw_uint_field(w, "buf_size", BENCH_BUF_SIZE);
	jsonw_uint_field(w, "nr_bufs", BENCH_NR_BUFS);
	jsonw_end_object(w);
	/* Every ioctl of this run, for tools/bench/run.sh to set beside syscount. */
	jsonw_uint_field(w, "ioctls_issued", b->ioctls);
	jsonw_name(w, "results");
	jsonw_start_array(w);
	for (wl = 0; wl < NR_WORKLOADS; wl++) {
		for (m = 0; m < NR_MODES; m++) {
			const struct result *r = &b->res[wl][m];

			jsonw_start_object(w);
			jsonw_string_field(w, "workload", workloads[wl].name);
			jsonw_string_field(w, "op_unit", workloads[wl].op_unit);
			jsonw_string_field(w, "mode", modes[m].name);
			jsonw_uint_field(w, "batch", modes[m].batch ? modes[m].batch : 1);
			jsonw_float_field(w, "ops_per_sec", r->median);
			jsonw_float_field(w, "ops_per_sec_min", r->min);
			jsonw_float_field(w, "ops_per_sec_max", r->max);
			jsonw_name(w, "ops_per_sec_runs");
			jsonw_start_array(w);
			for (rep = 0; rep < b->reps; rep++)
				jsonw_float(w, r->ops_per_sec[rep]);
			jsonw_end_array(w);
			jsonw_float_field(w, "syscalls_per_op", r->syscalls_per_op);
			jsonw_float_field(w, "kernel_submit_calls_per_op",
					  r->kernel_submits_per_op);
			jsonw_float_field(w, "ratio_to_inline",
					  r->median / b->res[wl][0].median);
			jsonw_end_object(w);
		}
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	if (ferror(f) | fclose(f)) {
		fprintf(stderr, "unio-bench: writing %s failed\n", path);
		return -EIO;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: unio-bench [--ops N] [--reps N] [--json FILE] [--dev PATH] [--quiet]\n"
		"\n"
		"  --ops N      ops per timed run (default 20000)\n"
		"  --reps N     timed runs per mode, median reported (default 5, max %d)\n"
		"  --json FILE  also write the results as JSON\n"
		"  --dev PATH   device node (default %s)\n"
		"  --quiet      no progress on stderr\n"
		"\n%s\n", MAX_REPS, UNIFIED_IO_DEVICE, bench_note);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "ops",   required_argument, NULL, 'n' },
		{ "reps",  required_argument, NULL, 'r' },
		{ "json",  required_argument, NULL, 'j' },
		{ "dev",   required_argument, NULL, 'd' },
		{ "quiet", no_argument,	      NULL, 'q' },
		{ "help",  no_argument,	      NULL, 'h' },
		{ 0 }
	};
	struct bench b = { .ops = 20000, .reps = 5, .progress = true };
	const char *json_path = NULL, *dev = NULL;
	unsigned int wl, m, step = 0;
	struct utsname u;
	char cpu[128];
	unsigned long v;
	char *end;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "n:r:j:d:qh", options, NULL)) >= 0) {
		switch (opt) {
		case 'n':
		case 'r':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || !v || v > (opt == 'r' ? MAX_REPS : UINT32_MAX)) {
				fprintf(stderr, "unio-bench: bad value '%s'\n", optarg);
				return 2;
			}
			if (opt == 'n')
				b.ops = v;
			else
				b.reps = v;
			break;
		case 'j': json_path = optarg; break;
		case 'd': dev = optarg; break;
		case 'q': b.progress = false; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	UNIO_OPTS(opts,
		.dev_path = dev,
		.sq_entries = BENCH_SQ,
		.cq_entries = BENCH_CQ,
		.buf_size = BENCH_BUF_SIZE,
		.data_size = (uint64_t)BENCH_NR_BUFS * BENCH_BUF_SIZE,
	);
	ret = unio_region_create(&opts, &b.r);
	if (ret)
		return fail("creating the region", ret), 1;
	b.q = unio_region_queue(b.r);
	b.offs = calloc(BENCH_SQ, sizeof(*b.offs));
	if (!b.offs) {
		unio_region_destroy(b.r);
		return fail("allocating", -ENOMEM), 1;
	}
	b.tty = isatty(STDERR_FILENO);
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	cpu_model(cpu, sizeof(cpu));

	for (wl = 0; wl < NR_WORKLOADS && !ret; wl++)
		for (m = 0; m < NR_MODES && !ret; m++)
			ret = bench_one(&b, wl, m, ++step, NR_WORKLOADS * NR_MODES);

	if (!ret) {
		print_table(&b, &u, cpu);
		if (json_path)
			ret = write_json(&b, json_path, &u, cpu);
	}
	free(b.offs);
	unio_region_destroy(b.r);
	return ret ? 1 : 0;
}
