// SPDX-License-Identifier: GPL-2.0-only
/*
 * unio-crc-bench: CRC32C over region buffers, one mode per process.
 *
 *   unio-crc-bench --mode MODE --bs SIZE [--nbufs N] [--batch N]
 *                 [--runtime S] [--reps N] [--seed N] [--file PATH]
 *                 [--json FILE] [--setup-only]
 *
 * Every mode computes the standard CRC32C (Castagnoli; iSCSI, ext4, NVMe)
 * of each of --nbufs buffers of --bs bytes whose content is a pattern of
 * --seed, and keeps one CRC per buffer:
 *   bpf    the crc32c program of bpf/ (crc32c.bpf.c, tunable crc_compute:
 *          compute only, buffer left intact) attached to the region, run by
 *          the module over each buffer in place: UNIFIED_IO_OP_BPF
 *          descriptors, --batch per SUBMIT through the mmapped SQ; each CRC
 *          is read from the program's mmapped .bss (crc_out[user_data])
 *   sw     user space over the region's mmap: slicing-by-8 tables, 8 bytes
 *          per step (the same algorithm as the BPF program)
 *   sse42  user space over the mmap with the SSE4.2 crc32 instruction
 *          (reported unavailable when the CPU lacks it)
 *   read   the copying route: pread() of each buffer's bytes from --file
 *          (tmpfs: page cache) into a private buffer, then slicing-by-8
 *   prep   writes the pattern into --file for "read" (not a measurement)
 *
 * Each rep runs --runtime seconds (fixed time, checked every batch), cycling
 * through the buffers; the runner takes the median. An untimed pass before
 * the reps and one after give the CRC of every buffer; they must agree, and
 * their digest (CRC32C of the little-endian CRC array) goes into the JSON so
 * the runner can check that every mode computed the same values. The
 * software routines are checked against the standard's check value
 * ("123456789" -> 0xe3069283) and so is the BPF program, by one descriptor.
 *
 * The process is meant to run under copycount, so it copies nothing it
 * does not have to: nothing printed on success, the JSON stored through a
 * shared mapping (no write()), and --setup-only does everything but the
 * passes, to measure its fixed copies for subtraction.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/types.h>
#include <unifiedio.h>

#include "bench-common.h"
#include "unified_io_progs.h"
#include "crc32c.skel.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define CRC_OWNER	0x63
#define MAX_REPS	15
#define MAX_BATCH	256
/* crc_out[] of crc32c.bpf.c: user_data indexes it, so one slot per buffer. */
#define MAX_BUFS	(sizeof(((struct crc32c_bpf *)0)->bss->crc_out) / sizeof(__u32))

enum mode { M_BPF, M_SW, M_SSE42, M_READ, M_PREP, NR_MODES };

static const char *const mode_names[NR_MODES] = {
	[M_BPF] = "bpf", [M_SW] = "sw", [M_SSE42] = "sse42", [M_READ] = "read",
	[M_PREP] = "prep",
};

static const char *const impl_names[NR_MODES] = {
	[M_BPF]   = "crc32c.bpf.c (slicing-by-8 tables) run by the module, BPF JIT",
	[M_SW]    = "user space slicing-by-8 tables over the region mmap",
	[M_SSE42] = "user space SSE4.2 crc32 instruction over the region mmap",
	[M_READ]  = "pread() from a tmpfs file into a private buffer + slicing-by-8",
	[M_PREP]  = "",
};

struct rep {
	uint64_t bufs, ns, usr_ns, sys_ns;
};

struct bench {
	enum mode mode;
	uint32_t bs, nbufs, batch;
	double runtime;
	unsigned int reps;
	uint64_t seed;
	bool setup_only;
	const char *file, *json;

	struct unio_region *r;
	struct unio_queue *q;
	uint64_t *off;
	struct crc32c_bpf *skel;
	uint32_t prog_id;
	int fd;
	uint8_t *priv;
	bool available;
	bool check_ok;
	uint32_t *crc;		/* CRC of each buffer, latest pass */
	uint32_t *crc_first;	/* from the first untimed pass */
	uint64_t next;		/* next buffer of the cycle */
	uint64_t bytes_total;	/* every byte checksummed by the process */
	uint64_t submits;
	struct rep rep[MAX_REPS];
	unsigned int nr_reps;
};

static uint32_t crc_tab[8][256];

const char *const bench_name = "unio-crc-bench";

static void crc_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
		crc_tab[0][n] = c;
	}
	for (int k = 1; k < 8; k++)
		for (uint32_t n = 0; n < 256; n++)
			crc_tab[k][n] = (crc_tab[k - 1][n] >> 8) ^
					crc_tab[0][crc_tab[k - 1][n] & 0xff];
}

/* Slicing-by-8, little-endian loads: CRC32C of [p, p + n). */
static uint32_t crc_sw(const uint8_t *p, size_t n)
{
	uint32_t c = ~0U;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= c;
		c = crc_tab[7][v & 0xff] ^ crc_tab[6][(v >> 8) & 0xff] ^
		    crc_tab[5][(v >> 16) & 0xff] ^ crc_tab[4][(v >> 24) & 0xff] ^
		    crc_tab[3][(v >> 32) & 0xff] ^ crc_tab[2][(v >> 40) & 0xff] ^
		    crc_tab[1][(v >> 48) & 0xff] ^ crc_tab[0][v >> 56];
	}
	while (n--)
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(const uint8_t *p, size_t n)
{
	uint64_t c = ~0U;
	uint32_t c32;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
	}
	c32 = c;
	while (n--)
		c32 = _mm_crc32_u8(c32, *p++);
	return ~c32;
}

static bool have_sse42(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t crc_sse42(const uint8_t *p, size_t n)
{
	return crc_sw(p, n);
}

static bool have_sse42(void)
{
	return false;
}
#endif

/* Content of buffer @i: a xorshift64* stream of (seed, i). */
static void fill(const struct bench *b, uint64_t i, uint8_t *p)
{
	uint64_t x = (b->seed ^ (i + 1) * 0x9e3779b97f4a7c15ULL) | 1;

	for (uint32_t k = 0; k < b->bs; k += 8) {
		uint64_t v;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dULL;
		memcpy(p + k, &v, b->bs - k < 8 ? b->bs - k : 8);
	}
}

static int bpf_run(struct bench *b, uint64_t first, unsigned int n, uint32_t len)
{
	unsigned int got = 0;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		struct unified_io_desc *d = unio_get_sqe(b->q);

		if (!d)
			return bench_fail("SQ full", -EBUSY);
		unio_prep_bpf(d, CRC_OWNER, b->off[first + i], len, first + i);
	}
	while (unio_sq_ready(b->q)) {
		ret = unio_submit(b->q);
		b->submits++;
		if (ret < 0)
			return bench_fail("SUBMIT", ret);
	}
	while (got < n) {
		struct unified_io_cqe *c = unio_peek_cqe(b->q);

		if (!c) {
			ret = unio_wait_cqes(b->q, n - got, 0);
			if (ret < 0)
				return bench_fail("COMPLETE", ret);
			continue;
		}
		if (c->res != (int)len || c->flags) {
			fprintf(stderr, "unio-crc-bench: BPF on buffer %" PRIu64 ": res %d (%s), flags %#x\n",
				(uint64_t)c->user_data, c->res,
				c->res < 0 ? strerror(-c->res) : "short", c->flags);
			return -EIO;
		}
		b->crc[c->user_data] = b->skel->bss->crc_out[c->user_data];
		unio_cqe_seen(b->q);
		got++;
	}
	return 0;
}

/* CRC of buffers [first, first + n) into b->crc. */
static int chunk(struct bench *b, uint64_t first, unsigned int n)
{
	switch (b->mode) {
	case M_BPF:
		return bpf_run(b, first, n, b->bs);
	case M_SW:
		for (uint64_t i = first; i < first + n; i++)
			b->crc[i] = crc_sw(unio_data_ptr(b->q, b->off[i]), b->bs);
		return 0;
	case M_SSE42:
		for (uint64_t i = first; i < first + n; i++)
			b->crc[i] = crc_sse42(unio_data_ptr(b->q, b->off[i]), b->bs);
		return 0;
	case M_READ:
		for (uint64_t i = first; i < first + n; i++) {
			ssize_t got = pread(b->fd, b->priv, b->bs, i * b->bs);

			if (got != (ssize_t)b->bs)
				return bench_fail("pread", got < 0 ? -errno : -EIO);
			b->crc[i] = crc_sw(b->priv, b->bs);
		}
		return 0;
	default:
		return -EINVAL;
	}
}

static unsigned int chunk_len(const struct bench *b, uint64_t first)
{
	return b->nbufs - first < b->batch ? b->nbufs - first : b->batch;
}

static int full_pass(struct bench *b)
{
	for (uint64_t i = 0; i < b->nbufs; i += chunk_len(b, i)) {
		int ret = chunk(b, i, chunk_len(b, i));

		if (ret)
			return ret;
	}
	b->bytes_total += (uint64_t)b->nbufs * b->bs;
	return 0;
}

static int run_rep(struct bench *b, struct rep *rp)
{
	struct bench_clock c;
	uint64_t deadline;
	int ret = 0;

	memset(rp, 0, sizeof(*rp));
	bench_clock_start(&c);
	deadline = c.t0 + (uint64_t)(b->runtime * 1e9);
	do {
		unsigned int n = chunk_len(b, b->next);

		ret = chunk(b, b->next, n);
		if (ret)
			break;
		rp->bufs += n;
		b->next = (b->next + n) % b->nbufs;
	} while (tool_now_ns() < deadline);
	bench_clock_stop(&c, &rp->ns, &rp->usr_ns, &rp->sys_ns);
	b->bytes_total += rp->bufs * b->bs;
	return ret;
}

/* The standard's check value, through the mode's own routine. */
static int check_vector(struct bench *b)
{
	static const char v[] = "123456789";
	uint32_t got;
	int ret;

	switch (b->mode) {
	case M_BPF:
		memcpy(unio_data_ptr(b->q, b->off[0]), v, 9);
		ret = bpf_run(b, 0, 1, 9);
		if (ret)
			return ret;
		got = b->crc[0];
		fill(b, 0, unio_data_ptr(b->q, b->off[0]));
		break;
	case M_SSE42:
		got = crc_sse42((const uint8_t *)v, 9);
		break;
	default:
		got = crc_sw((const uint8_t *)v, 9);
		break;
	}
	b->check_ok = got == UNIO_CRC32C_CHECK;
	if (!b->check_ok) {
		fprintf(stderr, "unio-crc-bench: %s: CRC32C(\"123456789\") = %#x, want %#x\n",
			mode_names[b->mode], got, UNIO_CRC32C_CHECK);
		return -EPROTO;
	}
	return 0;
}

static int setup_region(struct bench *b)
{
	UNIO_OPTS(opts, .buf_size = b->bs, .data_size = (uint64_t)b->bs * b->nbufs,
		  .sq_entries = MAX_BATCH, .cq_entries = 2 * MAX_BATCH);
	int ret;

	ret = unio_region_create(&opts, &b->r);
	if (ret)
		return bench_fail("creating the region", ret);
	b->q = unio_region_queue(b->r);
	if (unio_region_layout(b->r)->buf_size != b->bs)
		return bench_fail("region buffer size", -EINVAL);
	for (uint32_t i = 0; i < b->nbufs; i++) {
		ret = unio_buf_alloc(b->q, CRC_OWNER, &b->off[i]);
		if (ret)
			return bench_fail("ALLOC", ret);
		fill(b, i, unio_data_ptr(b->q, b->off[i]));
	}
	return 0;
}

static int setup(struct bench *b)
{
	int ret;

	b->off = calloc(b->nbufs, sizeof(*b->off));
	b->crc = calloc(b->nbufs, sizeof(*b->crc));
	b->crc_first = calloc(b->nbufs, sizeof(*b->crc_first));
	if (!b->off || !b->crc || !b->crc_first)
		return bench_fail("memory", -ENOMEM);
	if (b->mode == M_READ) {
		b->fd = open(b->file, O_RDONLY | O_CLOEXEC);
		if (b->fd < 0)
			return bench_fail(b->file, -errno);
		b->priv = aligned_alloc(4096, b->bs);
		if (!b->priv)
			return bench_fail("private buffer", -ENOMEM);
		return check_vector(b);
	}
	ret = setup_region(b);
	if (ret)
		return ret;
	if (b->mode == M_BPF) {
		b->skel = crc32c_bpf__open();
		if (!b->skel)
			return bench_fail("opening the crc32c skeleton", -errno);
		b->skel->rodata->crc_compute = 1;
		ret = crc32c_bpf__load(b->skel);
		if (ret)
			return bench_fail("loading crc32c (see the libbpf log above)", ret);
		ret = unio_bpf_attach(b->r, bpf_program__fd(b->skel->progs.unio_crc32c),
				      &b->prog_id);
		if (ret)
			return bench_fail("unio_bpf_attach", ret);
	}
	return check_vector(b);
}

static void teardown(struct bench *b)
{
	if (b->fd >= 0)
		close(b->fd);
	unio_region_destroy(b->r);
	crc32c_bpf__destroy(b->skel);
	free(b->priv);
	free(b->off);
	free(b->crc);
	free(b->crc_first);
}

static int prep_file(struct bench *b)
{
	uint8_t *p = malloc(b->bs);
	int fd, ret = 0;

	if (!p)
		return bench_fail("memory", -ENOMEM);
	fd = open(b->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(p);
		return bench_fail(b->file, -errno);
	}
	for (uint32_t i = 0; i < b->nbufs && !ret; i++) {
		fill(b, i, p);
		if (write(fd, p, b->bs) != (ssize_t)b->bs)
			ret = bench_fail("write", -EIO);
	}
	if (close(fd) && !ret)
		ret = bench_fail("close", -errno);
	free(p);
	return ret;
}

/* The buffers must still hold their pattern: compute-only leaves them. */
static int check_intact(struct bench *b)
{
	uint8_t *p;

	if (b->mode == M_READ)
		return 0;
	p = malloc(b->bs);
	if (!p)
		return bench_fail("memory", -ENOMEM);
	for (uint32_t i = 0; i < b->nbufs; i++) {
		fill(b, i, p);
		if (memcmp(p, unio_data_ptr(b->q, b->off[i]), b->bs)) {
			free(p);
			fprintf(stderr, "unio-crc-bench: buffer %u changed\n", i);
			return -EPROTO;
		}
	}
	free(p);
	return 0;
}

static int measure(struct bench *b)
{
	int ret;

	ret = full_pass(b);
	if (ret)
		return ret;
	memcpy(b->crc_first, b->crc, b->nbufs * sizeof(*b->crc));
	for (unsigned int i = 0; i < b->reps; i++) {
		ret = run_rep(b, &b->rep[i]);
		if (ret)
			return ret;
		b->nr_reps++;
	}
	memset(b->crc, 0, b->nbufs * sizeof(*b->crc));
	ret = full_pass(b);
	if (ret)
		return ret;
	if (memcmp(b->crc_first, b->crc, b->nbufs * sizeof(*b->crc)))
		return bench_fail("the CRCs changed between the first and the last pass", -EPROTO);
	return check_intact(b);
}

static int write_json(const struct bench *b)
{
	bool ran = b->available && !b->setup_only;
	struct bench_json j;
	json_writer_t *w;
	char hex[16];
	int ret;

	ret = bench_json_begin(&j);
	if (ret)
		return ret;
	w = j.w;
	jsonw_string_field(w, "mode", mode_names[b->mode]);
	jsonw_string_field(w, "impl", impl_names[b->mode]);
	jsonw_bool_field(w, "available", b->available);
	jsonw_uint_field(w, "bs", b->bs);
	jsonw_uint_field(w, "nbufs", b->nbufs);
	jsonw_uint_field(w, "batch", b->batch);
	jsonw_float_field(w, "runtime", b->runtime);
	jsonw_uint_field(w, "seed", b->seed);
	jsonw_bool_field(w, "setup_only", b->setup_only);
	jsonw_uint_field(w, "bytes_total", b->bytes_total);
	jsonw_uint_field(w, "submit_calls", b->submits);
	if (b->mode == M_BPF)
		jsonw_uint_field(w, "prog_id", b->prog_id);
	jsonw_bool_field(w, "check_value_ok", b->check_ok);
	if (ran) {
		snprintf(hex, sizeof(hex), "%08x",
			 crc_sw((const uint8_t *)b->crc, b->nbufs * sizeof(*b->crc)));
		jsonw_string_field(w, "crc_digest", hex);
		jsonw_name(w, "crc_head");
		jsonw_start_array(w);
		for (uint32_t i = 0; i < b->nbufs && i < 4; i++) {
			snprintf(hex, sizeof(hex), "%08x", b->crc[i]);
			jsonw_string(w, hex);
		}
		jsonw_end_array(w);
	}
	jsonw_name(w, "reps");
	jsonw_start_array(w);
	for (unsigned int i = 0; i < b->nr_reps; i++) {
		const struct rep *rp = &b->rep[i];
		double bytes = (double)rp->bufs * b->bs;

		jsonw_start_object(w);
		jsonw_uint_field(w, "buffers", rp->bufs);
		jsonw_uint_field(w, "bytes", rp->bufs * b->bs);
		jsonw_float_field(w, "seconds", rp->ns / 1e9);
		jsonw_float_field(w, "gb_per_s", rp->ns ? bytes / rp->ns : 0);
		jsonw_float_field(w, "ns_per_buf", rp->bufs ? (double)rp->ns / rp->bufs : 0);
		jsonw_float_field(w, "cpu_usr_s", rp->usr_ns / 1e9);
		jsonw_float_field(w, "cpu_sys_s", rp->sys_ns / 1e9);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	return bench_json_end(&j, b->json);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: unio-crc-bench --mode MODE --bs SIZE [--nbufs N] [--batch N]\n"
		"                     [--runtime S] [--reps N] [--seed N] [--file PATH]\n"
		"                     [--json FILE] [--setup-only]\n"
		"  MODE := bpf | sw | sse42 | read | prep\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mode",	required_argument, NULL, 'm' },
		{ "bs",		required_argument, NULL, 'b' },
		{ "nbufs",	required_argument, NULL, 'n' },
		{ "batch",	required_argument, NULL, 'B' },
		{ "runtime",	required_argument, NULL, 't' },
		{ "reps",	required_argument, NULL, 'r' },
		{ "seed",	required_argument, NULL, 's' },
		{ "file",	required_argument, NULL, 'f' },
		{ "json",	required_argument, NULL, 'j' },
		{ "setup-only",	no_argument,	   NULL, 'S' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ 0 }
	};
	struct bench b = {
		.mode = NR_MODES, .nbufs = 256, .batch = 64, .runtime = 0.5,
		.reps = 5, .seed = 1, .fd = -1, .available = true,
	};
	uint64_t v;
	int opt, ret = 0;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (opt) {
		case 'm':
			b.mode = bench_lookup(mode_names, NR_MODES, optarg);
			break;
		case 'b':
			b.bs = tool_parse_size(optarg, &v) || v > UNIFIED_IO_MAX_BUF_SIZE ? 0 : v;
			break;
		case 'n': b.nbufs = atoi(optarg); break;
		case 'B': b.batch = atoi(optarg); break;
		case 't': b.runtime = atof(optarg); break;
		case 'r': b.reps = atoi(optarg); break;
		case 's':
			if (tool_parse_size(optarg, &v)) {
				fprintf(stderr, "%s: bad --seed '%s'\n", bench_name, optarg);
				return 2;
			}
			b.seed = v;
			break;
		case 'f': b.file = optarg; break;
		case 'j': b.json = optarg; break;
		case 'S': b.setup_only = true; break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (b.mode == NR_MODES || !b.bs || b.bs % 8 || optind != argc ||
	    !b.nbufs || b.nbufs > MAX_BUFS || !b.batch || b.batch > MAX_BATCH ||
	    b.runtime <= 0 || !b.reps || b.reps > MAX_REPS ||
	    ((b.mode == M_READ || b.mode == M_PREP) && !b.file) ||
	    (b.mode != M_PREP && !b.json)) {
		usage();
		return 2;
	}
	crc_init();
	if (b.mode == M_PREP)
		return prep_file(&b) ? 1 : 0;
	if (b.mode == M_SSE42 && !have_sse42())
		b.available = false;

	if (b.available) {
		ret = setup(&b);
		if (!ret && !b.setup_only)
			ret = measure(&b);
	}
	if (!ret) {
		ret = write_json(&b);
		if (ret)
			bench_fail(b.json, ret);
	}
	teardown(&b);
	return ret ? 1 : 0;
}
