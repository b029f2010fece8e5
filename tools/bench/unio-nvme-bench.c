// SPDX-License-Identifier: GPL-2.0-only
/*
 * unio-nvme-bench: NVMe reads into a unified_io region, one mode per process.
 *
 *   unio-nvme-bench --mode MODE --workload WL [--dev /dev/ngXnY] [--qd N]
 *                  [--area SIZE] [--runtime S] [--reps N] [--json FILE]
 *                  [--setup-only]
 *
 * Workloads: randread4k (4 KiB at uniformly random 4 KiB-aligned offsets of
 * the area) and seqread128k (128 KiB reads walking the area, wrapping).
 * Modes, every one landing the data in region buffers:
 *   pt-fixed       NVMe passthrough through libunifiedio (unio_submit_descs/
 *                  unio_reap), data area = io_uring fixed buffer 0, --qd deep
 *   pt-nofixed     the same with UNIO_NVME_F_NO_FIXED (pages pinned per I/O)
 *   odirect-uring  io_uring READ_FIXED on the O_DIRECT block device into the
 *                  region (registered as fixed buffer 0), --qd deep
 *   odirect-pread  synchronous pread() on the O_DIRECT block device into the
 *                  region, queue depth 1
 *   buffered-pread synchronous buffered pread() of the block device into a
 *                  bounce buffer, then memcpy() into the region, queue depth 1;
 *                  the area's page cache is dropped before every rep
 *
 * Each rep runs --runtime seconds (fixed time) and the process reports
 * every rep; the runner takes the median. The process is meant to run under
 * copycount, so it copies nothing it does not have to: it prints nothing on
 * success and stores its JSON through a shared mapping of the output file
 * (no write()), and --setup-only does everything but the I/O, to measure the
 * process's fixed copies (dynamic loader, sysfs) for subtraction.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include <liburing.h>
#include <unifiedio.h>

#include "bench-common.h"

#define MAX_REPS	15
#define MAX_QD		256

enum mode { PT_FIXED, PT_NOFIXED, ODIRECT_URING, ODIRECT_PREAD, BUFFERED_PREAD,
	    NR_MODES };

static const char *const mode_names[NR_MODES] = {
	[PT_FIXED]	 = "pt-fixed",
	[PT_NOFIXED]	 = "pt-nofixed",
	[ODIRECT_URING]	 = "odirect-uring",
	[ODIRECT_PREAD]	 = "odirect-pread",
	[BUFFERED_PREAD] = "buffered-pread",
};

struct rep {
	uint64_t ios, bytes, ns, usr_ns, sys_ns;
};

struct bench {
	enum mode mode;
	const char *wl;
	bool random;
	uint32_t bs, qd;
	uint64_t area;
	double runtime;
	unsigned int reps;
	bool setup_only;
	const char *dev;	/* /dev/ngXnY; block modes use its block twin */
	const char *json;

	struct unio_region *r;
	struct unio_queue *q;
	struct unio_nvme *ns;
	struct unio_nvme_info info;
	struct io_uring ring;
	bool ring_ok;
	int fd;
	char *bounce;
	uint64_t rng;
	uint64_t seq_next;
	struct rep rep[MAX_REPS];
	unsigned int nr_reps;
	uint64_t payload_bytes;
};

const char *const bench_name = "unio-nvme-bench";

/* Byte offset of the next read: xorshift64* random, or sequential. */
static uint64_t next_off(struct bench *b)
{
	uint64_t x;

	if (!b->random) {
		x = b->seq_next;
		b->seq_next += b->bs;
		if (b->seq_next + b->bs > b->area)
			b->seq_next = 0;
		return x;
	}
	x = b->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	b->rng = x;
	return (x * 0x2545f4914f6cdd1dULL >> 11) % (b->area / b->bs) * b->bs;
}

static int setup(struct bench *b)
{
	uint64_t data = (uint64_t)b->bs * b->qd;
	int ret;

	if (data < 64 << 10)
		data = 64 << 10;
	UNIO_OPTS(opts, .buf_size = b->bs < 4096 ? 4096 : b->bs, .data_size = data,
		  .sq_entries = 128, .cq_entries = 2 * MAX_QD);
	ret = unio_region_create(&opts, &b->r);
	if (ret)
		return bench_fail("creating the region", ret);
	b->q = unio_region_queue(b->r);

	/* Every mode attaches the namespace: it names the block device too. */
	UNIO_NVME_OPTS(nopts, .queue_depth = b->qd,
		       .flags = b->mode == PT_NOFIXED ? UNIO_NVME_F_NO_FIXED : 0);
	ret = unio_nvme_open(b->r, b->dev, &nopts, &b->ns);
	if (ret)
		return bench_fail(b->dev, ret);
	unio_nvme_get_info(b->ns, &b->info);
	if (b->area > b->info.nr_lbas * b->info.lba_size || b->area < b->bs)
		return bench_fail("--area does not fit the namespace", -ERANGE);

	if (b->mode == PT_FIXED || b->mode == PT_NOFIXED)
		return 0;
	if (!b->info.block_dev[0])
		return bench_fail("no block device for the namespace", -ENODEV);
	b->fd = open(b->info.block_dev, O_RDONLY | O_CLOEXEC |
		     (b->mode == BUFFERED_PREAD ? 0 : O_DIRECT));
	if (b->fd < 0)
		return bench_fail(b->info.block_dev, -errno);
	if (b->mode == BUFFERED_PREAD) {
		b->bounce = aligned_alloc(4096, b->bs);
		if (!b->bounce)
			return bench_fail("bounce buffer", -ENOMEM);
		if (b->random)
			posix_fadvise(b->fd, 0, 0, POSIX_FADV_RANDOM);
	}
	if (b->mode == ODIRECT_URING) {
		ret = io_uring_queue_init(b->qd, &b->ring, 0);
		if (ret)
			return bench_fail("io_uring_queue_init", ret);
		b->ring_ok = true;
		ret = unio_register_io_uring(b->r, &b->ring);
		if (ret)
			return bench_fail("registering the data area", ret);
	}
	return 0;
}

static void teardown(struct bench *b)
{
	if (b->ring_ok)
		io_uring_queue_exit(&b->ring);
	if (b->fd >= 0)
		close(b->fd);
	free(b->bounce);
	unio_region_destroy(b->r);
}

static void prep_pt(struct bench *b, struct unified_io_desc *d, unsigned int slot)
{
	uint64_t off = next_off(b);

	memset(d, 0, sizeof(*d));
	unio_prep_nvme_read(d, (uint64_t)slot * b->bs, off / b->info.lba_size,
			    b->bs / b->info.lba_size, slot);
}

/*
 * Keep --qd commands in flight: reap whatever has completed (at least one),
 * resubmit that many in one unio_submit_descs() call.
 */
static int run_pt(struct bench *b, uint64_t deadline, struct rep *rp)
{
	struct unified_io_desc descs[MAX_QD];
	struct unified_io_cqe cqes[MAX_QD];
	unsigned int inflight = 0, i, n;
	bool stop = false;
	int ret;

	for (i = 0; i < b->qd; i++)
		prep_pt(b, &descs[i], i);
	ret = unio_submit_descs(b->r, descs, b->qd);
	if (ret != (int)b->qd)
		return bench_fail("unio_submit_descs", ret < 0 ? ret : -EBUSY);
	inflight = b->qd;
	while (inflight) {
		ret = unio_reap(b->r, cqes, b->qd, 1, 0);
		if (ret < 0)
			return bench_fail("unio_reap", ret);
		n = ret;
		inflight -= n;
		for (i = 0; i < n; i++) {
			if (cqes[i].res != (int)b->bs) {
				fprintf(stderr, "unio-nvme-bench: read: %s (NVMe status 0x%x: %s)\n",
					strerror(cqes[i].res < 0 ? -cqes[i].res : EIO),
					cqes[i].flags, unio_nvme_status_str(cqes[i].flags));
				return -EIO;
			}
			rp->ios++;
		}
		if (stop)
			continue;
		if (tool_now_ns() >= deadline) {
			stop = true;
			continue;
		}
		for (i = 0; i < n; i++)
			prep_pt(b, &descs[i], cqes[i].user_data);
		ret = unio_submit_descs(b->r, descs, n);
		if (ret != (int)n)
			return bench_fail("unio_submit_descs", ret < 0 ? ret : -EBUSY);
		inflight += n;
	}
	return 0;
}

static void prep_uring(struct bench *b, unsigned int slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	io_uring_prep_read_fixed(sqe, b->fd, unio_data_ptr(b->q, (uint64_t)slot * b->bs),
				 b->bs, next_off(b), 0);
	io_uring_sqe_set_data64(sqe, slot);
}

static int run_uring(struct bench *b, uint64_t deadline, struct rep *rp)
{
	unsigned int inflight, i, head, n;
	struct io_uring_cqe *cqe;
	bool stop = false;
	int ret;

	for (i = 0; i < b->qd; i++)
		prep_uring(b, i);
	inflight = b->qd;
	ret = io_uring_submit(&b->ring);
	if (ret < 0)
		return bench_fail("io_uring_submit", ret);
	while (inflight) {
		ret = io_uring_submit_and_wait(&b->ring, 1);
		if (ret < 0)
			return bench_fail("io_uring_submit_and_wait", ret);
		if (!stop && tool_now_ns() >= deadline)
			stop = true;
		n = 0;
		io_uring_for_each_cqe(&b->ring, head, cqe) {
			if (cqe->res != (int)b->bs) {
				fprintf(stderr, "unio-nvme-bench: READ_FIXED: %s\n",
					cqe->res < 0 ? strerror(-cqe->res) : "short read");
				return -EIO;
			}
			rp->ios++;
			n++;
			if (stop)
				inflight--;
			else
				prep_uring(b, io_uring_cqe_get_data64(cqe));
		}
		io_uring_cq_advance(&b->ring, n);
	}
	return 0;
}

static int run_pread(struct bench *b, uint64_t deadline, struct rep *rp)
{
	void *dst = unio_data_ptr(b->q, 0);
	unsigned int n = 0;

	/* One clock read per 8 reads: cheap enough at queue depth 1. */
	for (;;) {
		ssize_t got;

		if (!(n++ & 7) && tool_now_ns() >= deadline)
			return 0;
		if (b->mode == BUFFERED_PREAD) {
			got = pread(b->fd, b->bounce, b->bs, next_off(b));
			if (got == (ssize_t)b->bs)
				memcpy(dst, b->bounce, b->bs);
		} else {
			got = pread(b->fd, dst, b->bs, next_off(b));
		}
		if (got != (ssize_t)b->bs)
			return bench_fail("pread", got < 0 ? -errno : -EIO);
		rp->ios++;
	}
}

static int run_rep(struct bench *b, struct rep *rp)
{
	struct bench_clock c;
	uint64_t t0;
	int ret;

	if (b->mode == BUFFERED_PREAD) {
		/* Cold page cache for every rep: the drive, not memory, is read. */
		posix_fadvise(b->fd, 0, 0, POSIX_FADV_DONTNEED);
		ioctl(b->fd, BLKFLSBUF, 0);
	}
	memset(rp, 0, sizeof(*rp));
	bench_clock_start(&c);
	t0 = c.t0;
	switch (b->mode) {
	case PT_FIXED:
	case PT_NOFIXED:
		ret = run_pt(b, t0 + (uint64_t)(b->runtime * 1e9), rp);
		break;
	case ODIRECT_URING:
		ret = run_uring(b, t0 + (uint64_t)(b->runtime * 1e9), rp);
		break;
	default:
		ret = run_pread(b, t0 + (uint64_t)(b->runtime * 1e9), rp);
		break;
	}
	bench_clock_stop(&c, &rp->ns, &rp->usr_ns, &rp->sys_ns);
	rp->bytes = rp->ios * b->bs;
	b->payload_bytes += rp->bytes;
	return ret;
}

static int write_json(const struct bench *b)
{
	struct bench_json j;
	json_writer_t *w;
	int ret;

	ret = bench_json_begin(&j);
	if (ret)
		return ret;
	w = j.w;
	jsonw_string_field(w, "mode", mode_names[b->mode]);
	jsonw_string_field(w, "workload", b->wl);
	jsonw_string_field(w, "char_dev", b->info.char_dev);
	jsonw_string_field(w, "block_dev", b->info.block_dev);
	jsonw_uint_field(w, "lba_size", b->info.lba_size);
	jsonw_uint_field(w, "bs", b->bs);
	jsonw_uint_field(w, "qd", b->qd);
	jsonw_uint_field(w, "area", b->area);
	jsonw_float_field(w, "runtime", b->runtime);
	jsonw_bool_field(w, "setup_only", b->setup_only);
	jsonw_uint_field(w, "payload_bytes", b->payload_bytes);
	jsonw_name(w, "reps");
	jsonw_start_array(w);
	for (unsigned int i = 0; i < b->nr_reps; i++) {
		const struct rep *rp = &b->rep[i];

		jsonw_start_object(w);
		jsonw_uint_field(w, "ios", rp->ios);
		jsonw_uint_field(w, "bytes", rp->bytes);
		jsonw_float_field(w, "seconds", rp->ns / 1e9);
		jsonw_float_field(w, "iops", rp->ns ? rp->ios * 1e9 / rp->ns : 0);
		jsonw_float_field(w, "mb_per_s", rp->ns ? rp->bytes * 1e3 / rp->ns : 0);
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
		"usage: unio-nvme-bench --mode MODE --workload WL [--dev DEV] [--qd N]\n"
		"                      [--area SIZE] [--runtime S] [--reps N] [--json FILE]\n"
		"                      [--setup-only] [--seed N]\n"
		"  MODE := pt-fixed | pt-nofixed | odirect-uring | odirect-pread | buffered-pread\n"
		"  WL   := randread4k | seqread128k\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mode",	required_argument, NULL, 'm' },
		{ "workload",	required_argument, NULL, 'w' },
		{ "dev",	required_argument, NULL, 'd' },
		{ "qd",		required_argument, NULL, 'q' },
		{ "area",	required_argument, NULL, 'a' },
		{ "runtime",	required_argument, NULL, 't' },
		{ "reps",	required_argument, NULL, 'r' },
		{ "json",	required_argument, NULL, 'j' },
		{ "seed",	required_argument, NULL, 's' },
		{ "setup-only",	no_argument,	   NULL, 'S' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ 0 }
	};
	struct bench b = {
		.mode = NR_MODES, .dev = "/dev/ng0n1", .area = 256ULL << 20,
		.runtime = 2.0, .reps = 3, .fd = -1, .rng = 0x9e3779b97f4a7c15ULL,
	};
	uint64_t v;
	int opt, ret = 0, qd = -1;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (opt) {
		case 'm':
			b.mode = bench_lookup(mode_names, NR_MODES, optarg);
			break;
		case 'w': b.wl = optarg; break;
		case 'd': b.dev = optarg; break;
		case 'q': qd = atoi(optarg); break;
		case 'a':
			if (tool_parse_size(optarg, &b.area))
				b.area = 0;
			break;
		case 't': b.runtime = atof(optarg); break;
		case 'r': b.reps = atoi(optarg); break;
		case 'j': b.json = optarg; break;
		case 's':
			if (tool_parse_size(optarg, &v) || !v) {
				fprintf(stderr, "%s: bad --seed '%s' (not 0)\n", bench_name,
					optarg);
				return 2;
			}
			b.rng = v;
			break;
		case 'S': b.setup_only = true; break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (b.mode == NR_MODES || !b.wl || !b.json || optind != argc || !b.area ||
	    b.runtime <= 0 || !b.reps || b.reps > MAX_REPS) {
		usage();
		return 2;
	}
	if (!strcmp(b.wl, "randread4k")) {
		b.random = true;
		b.bs = 4096;
		b.qd = 32;
	} else if (!strcmp(b.wl, "seqread128k")) {
		b.bs = 128 << 10;
		b.qd = 8;
	} else {
		usage();
		return 2;
	}
	if (qd > 0)
		b.qd = qd > MAX_QD ? MAX_QD : qd;
	if (b.mode == ODIRECT_PREAD || b.mode == BUFFERED_PREAD)
		b.qd = 1;	/* synchronous */

	ret = setup(&b);
	for (unsigned int i = 0; !ret && !b.setup_only && i < b.reps; i++) {
		ret = run_rep(&b, &b.rep[i]);
		b.nr_reps++;
	}
	if (!ret) {
		ret = write_json(&b);
		if (ret)
			bench_fail(b.json, ret);
	}
	teardown(&b);
	return ret ? 1 : 0;
}
