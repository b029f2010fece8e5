// SPDX-License-Identifier: MIT
/*
 * region.c - a region and its rings, through libunifiedio.
 *
 * Creates a region (16 buffers of 64 KiB), takes eight buffers with a batch
 * of UNIFIED_IO_OP_ALLOC descriptors in the submission queue (one system
 * call for the batch), reads their completions from the completion queue
 * in shared memory, writes a line into each buffer through the mapping,
 * gives them back with a batch of UNIFIED_IO_OP_FREE, and prints the
 * kernel's statistics (UNIFIED_IO_GET_INFO).
 *
 *   region [DEVICE]          DEVICE: default /dev/unified_io_region
 *
 * The rings work like io_uring's: unio_get_sqe() hands out the next free
 * SQ entry, unio_submit() publishes the tail and makes one UNIFIED_IO_SUBMIT
 * call, unio_peek_cqe()/unio_cqe_seen() read and consume completions in
 * shared memory. See unio_get_sqe(3), unio_submit(3), unio_peek_cqe(3).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <unifiedio.h>

#define NR_BUFS		8
#define OWNER		1		/* any non-zero tag: who holds a buffer */

static int fail(const char *what, int err)
{
	fprintf(stderr, "region: %s: %s\n", what, strerror(-err));
	return 1;
}

/*
 * Reap @nr completions of one batch: check each, and store each buffer's
 * data-area offset (the completion's addr) in @offs by its user_data.
 */
static int reap(struct unio_queue *q, unsigned int nr, uint64_t *offs)
{
	struct unified_io_cqe *cqe;
	int ret;

	/*
	 * Sleep in the kernel only if some are missing. ALLOC and FREE
	 * complete within the SUBMIT call, so they are all there and no
	 * system call is made.
	 */
	if (unio_cq_ready(q) < nr) {
		ret = unio_wait_cqes(q, nr, 1000000000ULL);	/* at most 1 s */
		if (ret < 0)
			return ret;
	}
	while (nr && (cqe = unio_peek_cqe(q))) {
		/* Read what is needed before unio_cqe_seen() frees the slot. */
		uint64_t i = cqe->user_data;
		uint8_t op = cqe->opcode;
		int res = cqe->res;

		if (res >= 0 && i < NR_BUFS)
			offs[i] = cqe->addr;
		unio_cqe_seen(q);
		nr--;
		if (res < 0) {
			fprintf(stderr, "region: %s of buffer %llu: %s\n",
				unio_op_name(op), (unsigned long long)i,
				strerror(-res));
			return res;
		}
	}
	return nr ? -EPROTO : 0;
}

int main(int argc, char **argv)
{
	UNIO_OPTS(opts,
		  .dev_path = argc > 1 ? argv[1] : NULL,
		  .sq_entries = 16,		/* room for a batch of NR_BUFS */
		  .buf_size = 64 * 1024,
		  .data_size = 16 * 64 * 1024);
	struct unified_io_info info = { .size = sizeof(info) };
	struct unified_io_desc *sqe;
	struct unio_region *r;
	struct unio_queue *q;
	uint64_t offs[NR_BUFS];
	unsigned int i;
	int ret;

	ret = unio_region_create(&opts, &r);
	if (ret)
		return fail("unio_region_create", ret);
	q = unio_region_queue(r);
	printf("region: %u buffers of %u bytes, SQ %u, CQ %u entries\n",
	       (unsigned int)(q->data_size / q->buf_size), q->buf_size,
	       q->sq.ring_entries, q->cq.ring_entries);

	/* A batch of ALLOCs: fill SQ entries, then one system call. */
	for (i = 0; i < NR_BUFS; i++) {
		sqe = unio_get_sqe(q);		/* zeroed; NULL if the SQ is full */
		if (!sqe) {
			ret = -EBUSY;
			fail("unio_get_sqe", ret);
			goto out;
		}
		unio_prep_alloc(sqe, OWNER, i);	/* user_data i: the slot in offs */
	}
	ret = unio_submit(q);
	if (ret != NR_BUFS) {
		/* ALLOC never waits: every descriptor is consumed at once. */
		ret = ret < 0 ? ret : -EPROTO;
		fail("unio_submit (ALLOC)", ret);
		goto out;
	}
	ret = reap(q, NR_BUFS, offs);
	if (ret) {
		fail("reaping the ALLOCs", ret);
		goto out;
	}

	/* The buffers are ours: write into them through the mapping. */
	for (i = 0; i < NR_BUFS; i++) {
		char *p = unio_data_ptr(q, offs[i]);

		snprintf(p, q->buf_size, "buffer %u at data offset %llu", i,
			 (unsigned long long)offs[i]);
	}
	printf("allocated %u buffers; the first says \"%s\"\n", NR_BUFS,
	       (char *)unio_data_ptr(q, offs[0]));

	/*
	 * Give them back with a batch of FREEs, under the same owner tag. The
	 * SQ has room: the kernel consumed the ALLOCs.
	 */
	for (i = 0; i < NR_BUFS; i++)
		unio_prep_free(unio_get_sqe(q), OWNER, offs[i], i);
	ret = unio_submit(q);
	if (ret != NR_BUFS) {
		ret = ret < 0 ? ret : -EPROTO;
		fail("unio_submit (FREE)", ret);
		goto out;
	}
	ret = reap(q, NR_BUFS, offs);
	if (ret) {
		fail("reaping the FREEs", ret);
		goto out;
	}
	printf("freed %u buffers\n", NR_BUFS);

	/* What the kernel counted. */
	ret = unio_region_get_info(r, &info);
	if (ret) {
		fail("unio_region_get_info", ret);
		goto out;
	}
	printf("stats: %llu SUBMIT calls, %llu descriptors, %llu completions, "
	       "%llu errors\n",
	       (unsigned long long)info.stats.submit_calls,
	       (unsigned long long)info.stats.sqes,
	       (unsigned long long)info.stats.cqes,
	       (unsigned long long)info.stats.errors);
	printf("stats: ALLOC %llu, FREE %llu; buffers free %u, held %u\n",
	       (unsigned long long)info.stats.ops[UNIFIED_IO_OP_ALLOC],
	       (unsigned long long)info.stats.ops[UNIFIED_IO_OP_FREE],
	       info.stats.bufs_free, info.stats.bufs_app);
out:
	unio_region_destroy(r);
	return ret ? 1 : 0;
}
