// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io region: list, show and demo.
 *
 * "demo" walks a region through its life with libunifiedio: create (with
 * huge pages on request), register the data area with io_uring, allocate
 * every buffer in SQ batches, check the buffer table and the mmapped
 * statistics, write and verify a pattern through the mapping, free in SQ
 * batches, run NOPs, and print GET_INFO. Every step checks its results and
 * the command fails on the first surprise.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <liburing.h>
#include <unifiedio.h>

#include "main.h"
#include "region.h"

#define DEMO_OWNER	0x2a
#define DEMO_SEED	0x9e3779b97f4a7c15ULL

struct demo_opts {
	const char *dev;
	uint64_t data_size;
	uint64_t buf_size;
	uint32_t sq_entries;
	uint32_t cq_entries;
	uint32_t ops;
	uint32_t hold;
	bool huge;
	bool io_uring;
};

struct demo {
	struct unio_region *r;
	struct unio_queue *q;
	const struct unified_io_region_layout *l;
	const struct unified_io_buf_entry *buf_table;
	const struct unified_io_stats *ctrl_stats;
	uint64_t *offs;		/* data-area offsets of allocated buffers */
	bool *held;		/* per buffer index: allocated by us */
	unsigned int nr_held;

	/* Results, printed at the end. */
	unsigned int submit_calls;	/* SUBMIT ioctls of the batch steps */
	unsigned int alloc_batches, free_batches, nop_batches;
	unsigned int table_app, table_free;
	uint32_t ctrl_bufs_app;
	int uring_ret;			/* 0, or why io_uring was skipped */
	uint32_t uring_bytes;
};

static int do_region_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] region { list | show PID FD | demo [DEMO_OPTS] | help }\n"
		"\n"
		"       DEMO_OPTS := { --data-size SIZE | --buf-size SIZE | --sq N | --cq N |\n"
		"                      --huge | --ops N | --hold SECONDS | --no-io-uring |\n"
		"                      --dev PATH }\n"
		"       SIZE := NUMBER[K|M|G]\n"
		"\n"
		"       list  every open region of every process (from /proc)\n"
		"       show  the fdinfo of one open region\n"
		"       demo  create a region and exercise it (see unified-io-region(8))\n",
		bin_name);
	return 0;
}

/* The SQ is empty after every demo_drain(), so a batch always fits. */
static struct unified_io_desc *demo_get_sqe(struct demo *d)
{
	struct unified_io_desc *sqe = unio_get_sqe(d->q);

	if (!sqe)
		p_err("SQ unexpectedly full");
	return sqe;
}

/* Submit what the SQ holds and reap @nr completions, each checked by @reap. */
static int demo_drain(struct demo *d, unsigned int nr,
		      int (*reap)(struct demo *d, const struct unified_io_cqe *cqe))
{
	unsigned int seen = 0;

	while (seen < nr) {
		struct unified_io_cqe *cqe;
		unsigned int got = 0;
		int ret;

		/* The CQ is drained below and has at least as many entries
		 * as the SQ, so EBUSY (CQ full) cannot happen here.
		 */
		ret = unio_submit(d->q);
		if (ret < 0) {
			p_err("SUBMIT failed: %s", strerror(-ret));
			return ret;
		}
		if (ret > 0)
			d->submit_calls++;
		while ((cqe = unio_peek_cqe(d->q))) {
			ret = reap(d, cqe);
			unio_cqe_seen(d->q);
			if (ret)
				return ret;
			got++;
		}
		if (!got) {
			ret = unio_wait_cqes(d->q, 1, 1000000000ULL);
			if (ret < 0) {
				p_err("no completion for %u submitted descriptors: %s",
				      nr - seen, strerror(-ret));
				return ret;
			}
		}
		seen += got;
	}
	return 0;
}

static int demo_bad_cqe(const struct unified_io_cqe *cqe, unsigned int want_op)
{
	if (cqe->opcode != want_op)
		p_err("completion for %s, expected %s", unio_op_name(cqe->opcode),
		      unio_op_name(want_op));
	else
		p_err("%s (user_data %" PRIu64 ") failed: %s",
		      unio_op_name(cqe->opcode), (uint64_t)cqe->user_data,
		      strerror(-cqe->res));
	return -EPROTO;
}

static int demo_reap_alloc(struct demo *d, const struct unified_io_cqe *cqe)
{
	uint64_t off = cqe->addr, idx;

	if (cqe->opcode != UNIFIED_IO_OP_ALLOC || cqe->res < 0)
		return demo_bad_cqe(cqe, UNIFIED_IO_OP_ALLOC);
	idx = off / d->l->buf_size;
	if (off % d->l->buf_size || idx >= d->l->nr_bufs || d->held[idx] ||
	    (uint32_t)cqe->res != d->l->buf_size) {
		p_err("ALLOC returned offset 0x%" PRIx64 " result %d: not a free buffer",
		      off, cqe->res);
		return -EPROTO;
	}
	d->held[idx] = true;
	d->offs[d->nr_held++] = off;
	return 0;
}

static int demo_reap_free(struct demo *d, const struct unified_io_cqe *cqe)
{
	if (cqe->opcode != UNIFIED_IO_OP_FREE || cqe->res < 0)
		return demo_bad_cqe(cqe, UNIFIED_IO_OP_FREE);
	if (cqe->user_data >= d->l->nr_bufs || !d->held[cqe->user_data]) {
		p_err("FREE completion with user_data %" PRIu64 ": not a buffer we hold",
		      (uint64_t)cqe->user_data);
		return -EPROTO;
	}
	d->held[cqe->user_data] = false;
	return 0;
}

static int demo_reap_nop(struct demo *d, const struct unified_io_cqe *cqe)
{
	(void)d;
	if (cqe->opcode != UNIFIED_IO_OP_NOP || cqe->res != 0)
		return demo_bad_cqe(cqe, UNIFIED_IO_OP_NOP);
	return 0;
}

static int demo_alloc_all(struct demo *d)
{
	uint64_t off;
	int ret;

	while (d->nr_held < d->l->nr_bufs) {
		unsigned int n = d->l->nr_bufs - d->nr_held, i;

		if (n > d->q->sq.ring_entries)
			n = d->q->sq.ring_entries;
		for (i = 0; i < n; i++) {
			struct unified_io_desc *sqe = demo_get_sqe(d);

			if (!sqe)
				return -EBUSY;
			unio_prep_alloc(sqe, DEMO_OWNER, i);
		}
		ret = demo_drain(d, n, demo_reap_alloc);
		if (ret)
			return ret;
		d->alloc_batches++;
	}

	/* Every buffer is ours: one more must fail, and nothing changes. */
	ret = unio_buf_alloc(d->q, DEMO_OWNER, &off);
	if (ret != -ENOBUFS) {
		p_err("ALLOC with no free buffer: %s, expected ENOBUFS",
		      ret ? strerror(-ret) : "succeeded");
		return -EPROTO;
	}
	return 0;
}

/* The kernel's mirror in the descriptor area and its mmapped counters. */
static int demo_check_table(struct demo *d, bool allocated)
{
	unsigned int i, app = 0, free_ = 0;

	for (i = 0; i < d->l->nr_bufs; i++) {
		const struct unified_io_buf_entry *e = &d->buf_table[i];
		uint8_t state = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
		uint16_t owner = __atomic_load_n(&e->owner, __ATOMIC_RELAXED);

		if (state == UNIFIED_IO_BUF_APP && owner == DEMO_OWNER)
			app++;
		else if (state == UNIFIED_IO_BUF_FREE)
			free_++;
	}
	if (allocated)
		d->table_app = app;
	else
		d->table_free = free_;
	if ((allocated && app != d->l->nr_bufs) || (!allocated && free_ != d->l->nr_bufs)) {
		p_err("buffer table: %u app (owner 0x%x), %u free of %u buffers",
		      app, DEMO_OWNER, free_, d->l->nr_bufs);
		return -EPROTO;
	}
	if (allocated)
		d->ctrl_bufs_app = __atomic_load_n(&d->ctrl_stats->bufs_app,
						   __ATOMIC_RELAXED);
	return 0;
}

static inline uint64_t demo_word(uint64_t off)
{
	return (off * DEMO_SEED) ^ (off >> 7);
}

/* Fill every buffer, then verify all: overlapping buffers would show. */
static int demo_pattern(struct demo *d)
{
	uint64_t words = d->l->buf_size / sizeof(uint64_t), i, j;

	for (i = 0; i < d->nr_held; i++) {
		uint64_t *p = unio_data_ptr(d->q, d->offs[i]);

		for (j = 0; j < words; j++)
			p[j] = demo_word(d->offs[i] + j * 8);
	}
	for (i = 0; i < d->nr_held; i++) {
		const uint64_t *p = unio_data_ptr(d->q, d->offs[i]);

		for (j = 0; j < words; j++) {
			if (p[j] == demo_word(d->offs[i] + j * 8))
				continue;
			p_err("data-area offset 0x%" PRIx64 ": read 0x%" PRIx64
			      ", wrote 0x%" PRIx64, d->offs[i] + j * 8, p[j],
			      demo_word(d->offs[i] + j * 8));
			return -EIO;
		}
	}
	return 0;
}

/*
 * Register the data area as io_uring fixed buffer 0 and write the first
 * buffer to a memfd with WRITE_FIXED: the kernel reads region pages by
 * buffer index. A kernel without io_uring (or with it disabled) skips.
 */
static int demo_io_uring(struct demo *d)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	uint32_t len = d->l->buf_size;
	char *back = NULL;
	int ret, mfd;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret) {
		d->uring_ret = ret;
		return 0;
	}
	ret = unio_register_io_uring(d->r, &ring);
	if (ret) {
		p_err("io_uring_register_buffers of the data area: %s", strerror(-ret));
		goto out_ring;
	}
	mfd = memfd_create("unified-io-demo", MFD_CLOEXEC);
	if (mfd < 0) {
		ret = -errno;
		p_err("memfd_create: %s", strerror(errno));
		goto out_ring;
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write_fixed(sqe, mfd, unio_data_ptr(d->q, d->offs[0]), len, 0, 0);
	ret = io_uring_submit_and_wait(&ring, 1);
	if (ret < 0) {
		p_err("io_uring_submit: %s", strerror(-ret));
		goto out_mfd;
	}
	ret = io_uring_peek_cqe(&ring, &cqe);
	if (ret) {
		p_err("io_uring: no completion: %s", strerror(-ret));
		goto out_mfd;
	}
	ret = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	if (ret != (int)len) {
		p_err("WRITE_FIXED from the region: %s",
		      ret < 0 ? strerror(-ret) : "short write");
		ret = ret < 0 ? ret : -EIO;
		goto out_mfd;
	}
	back = malloc(len);
	if (!back) {
		ret = -ENOMEM;
		p_err("out of memory");
		goto out_mfd;
	}
	if (pread(mfd, back, len, 0) != (ssize_t)len ||
	    memcmp(back, unio_data_ptr(d->q, d->offs[0]), len)) {
		p_err("WRITE_FIXED wrote other bytes than the region buffer holds");
		ret = -EIO;
		goto out_back;
	}
	d->uring_bytes = len;
	ret = 0;
out_back:
	free(back);
out_mfd:
	close(mfd);
out_ring:
	io_uring_queue_exit(&ring);
	return ret;
}

static int demo_free_all(struct demo *d)
{
	unsigned int done = 0;
	int ret;

	while (done < d->nr_held) {
		unsigned int n = d->nr_held - done, i;

		if (n > d->q->sq.ring_entries)
			n = d->q->sq.ring_entries;
		for (i = 0; i < n; i++) {
			struct unified_io_desc *sqe = demo_get_sqe(d);
			uint64_t off = d->offs[done + i];

			if (!sqe)
				return -EBUSY;
			unio_prep_free(sqe, DEMO_OWNER, off, off / d->l->buf_size);
		}
		ret = demo_drain(d, n, demo_reap_free);
		if (ret)
			return ret;
		done += n;
		d->free_batches++;
	}

	ret = unio_buf_free(d->q, DEMO_OWNER, d->offs[0]);
	if (ret != -EALREADY) {
		p_err("second FREE of a buffer: %s, expected EALREADY",
		      ret ? strerror(-ret) : "succeeded");
		return -EPROTO;
	}
	d->nr_held = 0;
	return 0;
}

static int demo_nops(struct demo *d, uint32_t ops)
{
	uint32_t done = 0;
	int ret;

	while (done < ops) {
		unsigned int n = ops - done, i;

		if (n > d->q->sq.ring_entries)
			n = d->q->sq.ring_entries;
		for (i = 0; i < n; i++) {
			struct unified_io_desc *sqe = demo_get_sqe(d);

			if (!sqe)
				return -EBUSY;
			unio_prep_nop(sqe, done + i);
		}
		ret = demo_drain(d, n, demo_reap_nop);
		if (ret)
			return ret;
		done += n;
		d->nop_batches++;
	}
	return 0;
}

static const char *const stat_names[] = {
	"submit_calls", "sqes", "cqes", "errors", "sq_bad_tail", "cq_full",
	"cq_bad_head", "waits",
};

static uint64_t stat_value(const struct unified_io_stats *s, unsigned int i)
{
	const uint64_t v[] = {
		s->submit_calls, s->sqes, s->cqes, s->errors, s->sq_bad_tail,
		s->cq_full, s->cq_bad_head, s->waits,
	};

	return v[i];
}

static void demo_print_json(const struct demo *d, const struct demo_opts *o,
			    const struct unified_io_info *info)
{
	const struct unified_io_config *c = &info->config;
	const struct unified_io_region_layout *l = &info->layout;
	const struct unified_io_stats *s = &info->stats;
	unsigned int i;

	jsonw_start_object(json_wtr);
	jsonw_string_field(json_wtr, "device", o->dev);

	jsonw_name(json_wtr, "config");
	jsonw_start_object(json_wtr);
	jsonw_uint_field(json_wtr, "abi_version", c->abi_version);
	jsonw_uint_field(json_wtr, "features", c->features);
	jsonw_name(json_wtr, "feature_names");
	print_feature_names_json(c->features);
	jsonw_uint_field(json_wtr, "setup_flags", c->setup_flags);
	jsonw_int_field(json_wtr, "numa_node", c->numa_node);
	jsonw_uint_field(json_wtr, "sq_entries", c->sq_entries);
	jsonw_uint_field(json_wtr, "cq_entries", c->cq_entries);
	jsonw_uint_field(json_wtr, "buf_size", c->buf_size);
	jsonw_uint_field(json_wtr, "nr_bufs", c->nr_bufs);
	jsonw_uint_field(json_wtr, "data_size", c->data_size);
	jsonw_uint_field(json_wtr, "huge_pages", c->huge_pages);
	jsonw_uint_field(json_wtr, "small_pages", c->small_pages);
	jsonw_end_object(json_wtr);

	jsonw_name(json_wtr, "layout");
	jsonw_start_object(json_wtr);
	jsonw_uint_field(json_wtr, "region_size", l->region_size);
	jsonw_uint_field(json_wtr, "ctrl_off", l->ctrl_off);
	jsonw_uint_field(json_wtr, "ctrl_size", l->ctrl_size);
	jsonw_uint_field(json_wtr, "desc_off", l->desc_off);
	jsonw_uint_field(json_wtr, "desc_size", l->desc_size);
	jsonw_uint_field(json_wtr, "data_off", l->data_off);
	jsonw_uint_field(json_wtr, "data_size", l->data_size);
	jsonw_end_object(json_wtr);

	jsonw_name(json_wtr, "steps");
	jsonw_start_object(json_wtr);
	jsonw_name(json_wtr, "io_uring");
	jsonw_start_object(json_wtr);
	jsonw_bool_field(json_wtr, "registered", o->io_uring && !d->uring_ret);
	if (d->uring_ret)
		jsonw_string_field(json_wtr, "skipped", strerror(-d->uring_ret));
	jsonw_uint_field(json_wtr, "write_fixed_bytes", d->uring_bytes);
	jsonw_end_object(json_wtr);
	jsonw_uint_field(json_wtr, "bufs_allocated", c->nr_bufs);
	jsonw_uint_field(json_wtr, "alloc_batches", d->alloc_batches);
	jsonw_uint_field(json_wtr, "table_app", d->table_app);
	jsonw_uint_field(json_wtr, "ctrl_bufs_app", d->ctrl_bufs_app);
	jsonw_bool_field(json_wtr, "exhausted_enobufs", true);
	jsonw_uint_field(json_wtr, "pattern_bytes", c->data_size);
	jsonw_uint_field(json_wtr, "free_batches", d->free_batches);
	jsonw_uint_field(json_wtr, "table_free", d->table_free);
	jsonw_bool_field(json_wtr, "double_free_ealready", true);
	jsonw_uint_field(json_wtr, "nops", o->ops);
	jsonw_uint_field(json_wtr, "nop_batches", d->nop_batches);
	jsonw_uint_field(json_wtr, "submit_calls", d->submit_calls);
	jsonw_end_object(json_wtr);

	jsonw_name(json_wtr, "stats");
	jsonw_start_object(json_wtr);
	for (i = 0; i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
		jsonw_uint_field(json_wtr, stat_names[i], stat_value(s, i));
	for (i = 0; i < UNIFIED_IO_OP_LAST; i++) {
		char name[32];

		snprintf(name, sizeof(name), "op_%s", unio_op_name(i));
		jsonw_uint_field(json_wtr, name, s->ops[i]);
	}
	jsonw_uint_field(json_wtr, "bufs_free", s->bufs_free);
	jsonw_uint_field(json_wtr, "bufs_app", s->bufs_app);
	jsonw_uint_field(json_wtr, "bufs_kernel", s->bufs_kernel);
	jsonw_end_object(json_wtr);
	jsonw_end_object(json_wtr);
}

static void demo_print_plain(const struct demo *d, const struct demo_opts *o,
			     const struct unified_io_info *info)
{
	const struct unified_io_config *c = &info->config;
	const struct unified_io_region_layout *l = &info->layout;
	const struct unified_io_stats *s = &info->stats;
	char b1[32], b2[32], b3[32];
	unsigned int i;

	printf("region      %s fd %d, ABI %u, features 0x%x (", o->dev,
	       unio_region_fd(d->r), c->abi_version, c->features);
	print_feature_names_plain(c->features);
	printf(")\n");
	printf("  geometry  sq %u x %zu B, cq %u x %zu B, %u buffers x %s = %s, numa node %d\n",
	       c->sq_entries, sizeof(struct unified_io_desc), c->cq_entries,
	       sizeof(struct unified_io_cqe), c->nr_bufs,
	       fmt_size(c->buf_size, b1, sizeof(b1)),
	       fmt_size(c->data_size, b2, sizeof(b2)), c->numa_node);
	printf("  pages     %u huge (2 MiB), %u small%s\n", c->huge_pages,
	       c->small_pages,
	       c->setup_flags & UNIFIED_IO_SETUP_F_HUGE_PAGES ?
	       ", huge pages requested" : "");
	printf("  layout    ctrl 0x%" PRIx64 "+%s, desc 0x%" PRIx64 "+%s, data 0x%"
	       PRIx64 "+%s\n", (uint64_t)l->ctrl_off,
	       fmt_size(l->ctrl_size, b1, sizeof(b1)), (uint64_t)l->desc_off,
	       fmt_size(l->desc_size, b2, sizeof(b2)), (uint64_t)l->data_off,
	       fmt_size(l->data_size, b3, sizeof(b3)));

	printf("steps\n");
	if (!o->io_uring)
		printf("  io_uring     not requested\n");
	else if (d->uring_ret)
		printf("  io_uring     skipped: %s\n", strerror(-d->uring_ret));
	else
		printf("  io_uring     data area = fixed buffer 0; WRITE_FIXED of %s "
		       "to a memfd verified\n", fmt_size(d->uring_bytes, b1, sizeof(b1)));
	printf("  alloc        %u buffers in %u SQ batches; buffer table %u app "
	       "(owner 0x%x), mmapped stats bufs_app %u\n", c->nr_bufs,
	       d->alloc_batches, d->table_app, DEMO_OWNER, d->ctrl_bufs_app);
	printf("  exhaust      one more ALLOC: ENOBUFS (expected)\n");
	printf("  pattern      wrote and verified %s through the mapping\n",
	       fmt_size(c->data_size, b1, sizeof(b1)));
	printf("  free         %u buffers in %u SQ batches; buffer table %u free\n",
	       c->nr_bufs, d->free_batches, d->table_free);
	printf("  double free  EALREADY (expected)\n");
	printf("  nop          %u NOPs in %u SQ batches\n", o->ops, d->nop_batches);

	printf("stats (GET_INFO)\n");
	for (i = 0; i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
		printf("  %-13s %" PRIu64 "\n", stat_names[i], stat_value(s, i));
	for (i = 0; i < UNIFIED_IO_OP_LAST; i++)
		printf("  op_%-10s %" PRIu64 "\n", unio_op_name(i), (uint64_t)s->ops[i]);
	printf("  %-13s %u\n  %-13s %u\n  %-13s %u\n", "bufs_free", s->bufs_free,
	       "bufs_app", s->bufs_app, "bufs_kernel", s->bufs_kernel);
}

static int demo_parse(int argc, char **argv, struct demo_opts *o)
{
	static const struct option options[] = {
		{ "data-size",	 required_argument, NULL, 'd' },
		{ "buf-size",	 required_argument, NULL, 'b' },
		{ "sq",		 required_argument, NULL, 's' },
		{ "cq",		 required_argument, NULL, 'c' },
		{ "ops",	 required_argument, NULL, 'n' },
		{ "hold",	 required_argument, NULL, 'H' },
		{ "dev",	 required_argument, NULL, 'D' },
		{ "huge",	 no_argument,	    NULL, 'g' },
		{ "no-io-uring", no_argument,	    NULL, 'U' },
		{ 0 }
	};
	char msg[256];
	int opt, ret, idx = 0;

	/* argv[0] is "demo", like a program name for getopt. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", options, &idx)) >= 0) {
		const char *what = "a number";

		ret = 0;
		switch (opt) {
		case 'd':
			ret = tool_parse_size(optarg, &o->data_size);
			what = "a size (NUMBER[K|M|G])";
			break;
		case 'b':
			ret = tool_parse_size(optarg, &o->buf_size);
			what = "a size (NUMBER[K|M|G])";
			break;
		case 's': ret = parse_u32(optarg, &o->sq_entries); break;
		case 'c': ret = parse_u32(optarg, &o->cq_entries); break;
		case 'n': ret = parse_u32(optarg, &o->ops); break;
		case 'H': ret = parse_u32(optarg, &o->hold); break;
		case 'D': o->dev = optarg; break;
		case 'g': o->huge = true; break;
		case 'U': o->io_uring = false; break;
		default:
			return p_getopt_error("region demo", opt, argv);
		}
		if (ret)
			return p_usage("region demo: --%s '%s': not %s",
				       options[idx].name, optarg, what);
	}
	if (optind != argc)
		return p_usage("region demo: unexpected argument '%s'", argv[optind]);

	/* What the kernel would refuse, said before it is asked. */
	if (!o->sq_entries || o->sq_entries > UNIFIED_IO_MAX_ENTRIES ||
	    (o->sq_entries & (o->sq_entries - 1)))
		return p_usage("region demo: --sq %u: must be a power of two from 1 to %u",
			       o->sq_entries, UNIFIED_IO_MAX_ENTRIES);
	if (o->cq_entries && (o->cq_entries < o->sq_entries ||
			      o->cq_entries > UNIFIED_IO_MAX_ENTRIES ||
			      (o->cq_entries & (o->cq_entries - 1))))
		return p_usage("region demo: --cq %u: must be a power of two from the SQ "
			       "size (%u) to %u", o->cq_entries, o->sq_entries,
			       UNIFIED_IO_MAX_ENTRIES);
	if (tool_check_region(msg, sizeof(msg), "--data-size", o->data_size,
			      "--buf-size", o->buf_size))
		return p_usage("region demo: %s", msg);
	return 0;
}

int do_region_demo(int argc, char **argv)
{
	struct demo_opts o = {
		.dev = UNIFIED_IO_DEVICE,
		.data_size = 16ULL << 20,
		.buf_size = 64 << 10,
		.sq_entries = 128,
		.ops = 1000,
		.io_uring = true,
	};
	struct unified_io_info info;
	struct demo d = { 0 };
	char *base;
	int ret;

	/* Called with argv[-1] == "demo" so getopt sees a program name. */
	ret = demo_parse(argc + 1, argv - 1, &o);
	if (ret)
		return ret;

	UNIO_OPTS(opts,
		.dev_path = o.dev,
		.sq_entries = o.sq_entries,
		.cq_entries = o.cq_entries,
		.buf_size = (uint32_t)o.buf_size,
		.data_size = o.data_size,
		.flags = o.huge ? UNIFIED_IO_SETUP_F_HUGE_PAGES : 0,
	);
	ret = unio_region_create(&opts, &d.r);
	if (ret) {
		p_err("creating a region: %s",
		      tool_explain(UNIO_CALL_SETUP, ret, &opts));
		return -1;
	}
	d.q = unio_region_queue(d.r);
	d.l = unio_region_layout(d.r);
	/* The mapping starts data_off bytes before the data area. */
	base = (char *)unio_region_data(d.r) - d.l->data_off;
	d.buf_table = (const void *)(base + d.l->desc_off + d.l->buf_table);
	d.ctrl_stats = (const void *)(base + d.l->stats);
	d.offs = calloc(d.l->nr_bufs, sizeof(*d.offs));
	d.held = calloc(d.l->nr_bufs, sizeof(*d.held));
	if (!d.offs || !d.held) {
		p_err("out of memory");
		ret = -ENOMEM;
		goto out;
	}

	ret = demo_alloc_all(&d);
	if (!ret)
		ret = demo_check_table(&d, true);
	if (!ret)
		ret = demo_pattern(&d);
	if (!ret && o.io_uring)
		ret = demo_io_uring(&d);
	if (!ret)
		ret = demo_free_all(&d);
	if (!ret)
		ret = demo_check_table(&d, false);
	if (!ret)
		ret = demo_nops(&d, o.ops);
	if (ret)
		goto out;

	ret = unio_region_get_info(d.r, &info);
	if (ret) {
		p_err("GET_INFO: %s", strerror(-ret));
		goto out;
	}
	if (json_output)
		demo_print_json(&d, &o, &info);
	else
		demo_print_plain(&d, &o, &info);

	if (o.hold) {
		fflush(stdout);
		json_commit();
		sleep(o.hold);
	}
out:
	free(d.offs);
	free(d.held);
	unio_region_destroy(d.r);
	return ret ? -1 : 0;
}

static const struct cmd region_cmds[] = {
	{ "list",	do_region_list },
	{ "show",	do_region_show },
	{ "demo",	do_region_demo },
	{ "help",	do_region_help },
	{ 0 }
};

int do_region(int argc, char **argv)
{
	return cmd_select(region_cmds, argc, argv, do_region_help,
			  "region command");
}
