// SPDX-License-Identifier: GPL-2.0
/*
 * libunifiedio's public API against the real device: the options struct's
 * size handling, open-then-setup, the rings through the library (submit,
 * wait, wrap-around), the synchronous buffer helpers and their errors,
 * unio_submit_and_wait(), the name tables, and zcrx over the caller's memory.
 *
 * Unlike the other selftests this one is linked against the shared library
 * (libunifiedio.so, found through its rpath), so it exercises the exported
 * symbols and the version script rather than the static archive.
 */
#include <liburing.h>

#include "ut.h"

/* An options struct from a "newer" caller: known fields plus a tail. */
struct opts_v2 {
	struct unio_region_opts base;
	uint64_t new_field;
};

TEST(opts)
{
	struct opts_v2 big;
	struct unio_region *r;
	uint32_t feat;

	UT_REQUIRE_DEVICE();

	/* A non-zero byte the library does not know about. */
	memset(&big, 0, sizeof(big));
	big.base.sz = sizeof(big);
	big.new_field = 1;
	EXPECT_EQ(-E2BIG, unio_region_create(&big.base, &r));

	/* The same, zeroed: accepted. */
	big.new_field = 0;
	ASSERT_EQ(0, unio_region_create(&big.base, &r));
	unio_region_destroy(r);

	/* An old caller that knows only sz and dev_path gets defaults. */
	memset(&big, 0, sizeof(big));
	big.base.sz = 16;
	big.base.sq_entries = 3;	/* beyond sz: ignored */
	ASSERT_EQ(0, unio_region_create(&big.base, &r));
	EXPECT_EQ(128U, unio_region_queue(r)->sq.ring_entries);
	unio_region_destroy(r);

	/* Too small even for sz. */
	big.base.sz = 4;
	EXPECT_EQ(-EINVAL, unio_region_create(&big.base, &r));

	/* NULL options: every default; a second SETUP is refused. */
	ASSERT_EQ(0, unio_region_create(NULL, &r));
	EXPECT_EQ(64U << 10, unio_region_layout(r)->buf_size);
	EXPECT_EQ(16ULL << 20, unio_region_layout(r)->data_size);
	EXPECT_EQ(-EBUSY, unio_region_setup(r, NULL));
	unio_region_destroy(r);

	ASSERT_EQ(0, unio_get_features(NULL, &feat));
	EXPECT_EQ(UNIFIED_IO_FEAT_SQ_RING, feat & UNIFIED_IO_FEAT_SQ_RING);
	EXPECT_EQ(-ENOENT, unio_get_features("/nonexistent/unified_io", &feat));
}

TEST(open_then_setup)
{
	struct unified_io_info info;
	struct unio_region *r;

	UT_REQUIRE_DEVICE();

	UNIO_OPTS(opts, .sq_entries = 4, .buf_size = 4096, .data_size = 8 * 4096);
	ASSERT_EQ(0, unio_region_open(NULL, &r));
	EXPECT_EQ(NULL, unio_region_queue(r));
	EXPECT_EQ(NULL, unio_region_data(r));
	ASSERT_EQ(0, unio_region_get_info(r, &info));
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, info.config.abi_version);
	EXPECT_EQ(0ULL, info.layout.region_size);
	ASSERT_EQ(0, unio_region_setup(r, &opts));
	EXPECT_LE(0, unio_region_fd(r));
	ASSERT_EQ(0, unio_region_get_info(r, &info));
	EXPECT_EQ(4U, info.config.sq_entries);
	EXPECT_EQ(8U, info.config.cq_entries);
	EXPECT_EQ(8U, info.config.nr_bufs);
	ASSERT_NE(NULL, unio_region_queue(r));
	EXPECT_EQ(8U, unio_region_queue(r)->cq.ring_entries);
	unio_region_destroy(r);
}

/* A region with an 8-entry SQ, a 16-entry CQ and four 4 KiB buffers. */
FIXTURE(lib_rings) {
	struct unio_region *r;
	struct unio_queue *q;
};

FIXTURE_SETUP(lib_rings)
{
	self->r = NULL;
	UT_REQUIRE_DEVICE();

	UNIO_OPTS(opts, .sq_entries = 8, .cq_entries = 16, .buf_size = 4096,
		  .data_size = 4 * 4096);
	ASSERT_EQ(0, unio_region_create(&opts, &self->r));
	self->q = unio_region_queue(self->r);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(lib_rings)
{
	if (self->r)
		unio_region_destroy(self->r);
}

/*
 * One test, in the original order: each step starts from the ring indices
 * (wrapped) and buffer states the previous one left.
 */
TEST_F(lib_rings, rings)
{
	struct unio_queue *q = self->q;
	struct unified_io_desc *sqe;
	struct unified_io_cqe *cqe;
	uint64_t off, off2, offs[4];
	unsigned int i, j;

	EXPECT_EQ(0, unio_submit(q));		/* nothing pending: no syscall */
	EXPECT_EQ(8U, unio_sq_space_left(q));
	for (i = 0; i < 8; i++) {
		sqe = unio_get_sqe(q);
		ASSERT_NE(NULL, sqe);
		unio_prep_nop(sqe, 100 + i);
	}
	EXPECT_EQ(NULL, unio_get_sqe(q));
	EXPECT_EQ(8U, unio_sq_ready(q));
	ASSERT_EQ(8, unio_submit(q));
	EXPECT_EQ(0U, unio_sq_ready(q));
	EXPECT_EQ(8U, unio_cq_ready(q));
	EXPECT_EQ(8, unio_wait_cqes(q, 8, 0));
	for (i = 0; i < 8; i++) {
		cqe = unio_peek_cqe(q);
		ASSERT_NE(NULL, cqe);
		EXPECT_EQ(100ULL + i, cqe->user_data);
		EXPECT_EQ(0, cqe->res);
		EXPECT_EQ(UNIFIED_IO_OP_NOP, cqe->opcode);
		unio_cqe_seen(q);
	}
	EXPECT_EQ(NULL, unio_peek_cqe(q));

	/* Wrap the rings several times. */
	for (i = 0; i < 40; i++) {
		sqe = unio_get_sqe(q);
		ASSERT_NE(NULL, sqe);
		unio_prep_nop(sqe, i);
		ASSERT_EQ(1, unio_submit(q));
		cqe = unio_peek_cqe(q);
		ASSERT_NE(NULL, cqe);
		EXPECT_EQ((__u64)i, cqe->user_data);
		unio_cq_advance(q, 1);
	}

	/* The sync helpers leave other completions in place and in order. */
	for (i = 0; i < 3; i++) {
		sqe = unio_get_sqe(q);
		ASSERT_NE(NULL, sqe);
		unio_prep_nop(sqe, 1 + i);
	}
	ASSERT_EQ(3, unio_submit(q));
	ASSERT_EQ(0, unio_buf_alloc(q, 9, &off));
	EXPECT_EQ(0ULL, off % 4096);
	ASSERT_EQ(0, unio_buf_alloc(q, 9, &off2));
	EXPECT_NE(off, off2);
	EXPECT_EQ(3U, unio_cq_ready(q));
	EXPECT_EQ(-EPERM, unio_buf_free(q, 8, off));
	EXPECT_EQ(0, unio_buf_free(q, 9, off));
	EXPECT_EQ(-EALREADY, unio_buf_free(q, 9, off));
	EXPECT_EQ(-EINVAL, unio_buf_free(q, 9, off + 1));
	EXPECT_EQ(-ERANGE, unio_buf_free(q, 9, 1 << 30));
	EXPECT_EQ(-EINVAL, unio_buf_free(q, 0, off2));
	EXPECT_EQ(0, unio_buf_free(q, 9, off2));
	/* The data area is mapped writable. */
	memset(unio_data_ptr(q, off2), 0xab, 4096);
	EXPECT_EQ(3U, unio_cq_ready(q));
	for (i = 0; i < 3; i++) {
		cqe = unio_peek_cqe(q);
		ASSERT_NE(NULL, cqe);
		EXPECT_EQ(1ULL + i, cqe->user_data);
		EXPECT_EQ(UNIFIED_IO_OP_NOP, cqe->opcode);
		unio_cqe_seen(q);
	}

	/* Exhaustion, then a full CQ makes the helpers fail with EBUSY. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, unio_buf_alloc(q, 1, &offs[i])) TH_LOG("buffer %u", i);
	}
	EXPECT_EQ(-ENOBUFS, unio_buf_alloc(q, 1, &off));
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 8; j++) {
			sqe = unio_get_sqe(q);
			ASSERT_NE(NULL, sqe);
			unio_prep_nop(sqe, j);
		}
		ASSERT_EQ(8, unio_submit(q));
	}
	EXPECT_EQ(16U, unio_cq_ready(q));
	EXPECT_EQ(-EBUSY, unio_buf_free(q, 1, offs[0]));
	unio_cq_advance(q, 16);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, unio_buf_free(q, 1, offs[i])) TH_LOG("buffer %u", i);
	}
}

/*
 * unio_submit_and_wait() with module operations: the completion of the one
 * descriptor, a failed operation reported in cqe->res, and EBUSY while
 * anything else on the path is unreaped.
 */
TEST_F(lib_rings, submit_and_wait)
{
	struct unified_io_desc d = {}, *sqe;
	struct unified_io_cqe cqe;
	uint64_t off;

	unio_prep_alloc(&d, 7, 0x11);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0x11ULL, cqe.user_data);
	EXPECT_EQ(UNIFIED_IO_OP_ALLOC, cqe.opcode);
	ASSERT_EQ(4096, cqe.res);		/* ALLOC: the buffer size */
	off = cqe.addr;
	EXPECT_EQ(0ULL, off % 4096);
	EXPECT_GT(4ULL * 4096, off);

	/* The operation fails, the call does not. */
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, 8, off, 0x12);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(-EPERM, cqe.res);
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, 7, off, 0x13);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0, cqe.res);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 1000000000ULL));
	EXPECT_EQ(-EALREADY, cqe.res);

	/* A descriptor queued in the SQ, then its completion unreaped. */
	sqe = unio_get_sqe(self->q);
	ASSERT_NE(NULL, sqe);
	unio_prep_nop(sqe, 0x21);
	memset(&d, 0, sizeof(d));
	unio_prep_nop(&d, 0x22);
	EXPECT_EQ(-EBUSY, unio_submit_and_wait(self->r, &d, &cqe, 0));
	ASSERT_EQ(1, unio_submit(self->q));
	EXPECT_EQ(-EBUSY, unio_submit_and_wait(self->r, &d, &cqe, 0));
	ASSERT_EQ(1, unio_reap(self->r, &cqe, 1, 1, 0));
	EXPECT_EQ(0x21ULL, cqe.user_data);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0x22ULL, cqe.user_data);
	EXPECT_EQ(0U, unio_cq_ready(self->q));
}

/* Pure look-ups: no device needed. */
TEST(names)
{
	EXPECT_STREQ("nop", unio_op_name(UNIFIED_IO_OP_NOP));
	EXPECT_STREQ("free", unio_op_name(UNIFIED_IO_OP_FREE));
	EXPECT_STREQ("unknown", unio_op_name(200));
	EXPECT_STREQ("kernel", unio_buf_state_name(UNIFIED_IO_BUF_KERNEL));
	EXPECT_STREQ("unknown", unio_buf_state_name(3));
}

/*
 * unio_zcrx_register_mem(): every argument it refuses before the kernel
 * sees it, then a queue over anonymous memory without a NIC queue
 * (ZCRX_REG_NODEV, which every matrix kernel has), as unio-netstream
 * --mode zcrx registers it: the refill ring sized for the area's 48 pages,
 * rounded up to a power of two as the kernel does, and empty.
 */
TEST(zcrx_register_mem)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_CQE32,
	};
	size_t ps = sysconf(_SC_PAGESIZE), len = 48 * ps;
	UNIO_ZCRX_OPTS(zo, .flags = UNIO_ZCRX_F_NODEV);
	UNIO_ZCRX_OPTS(off, .flags = UNIO_ZCRX_F_NODEV, .data_off = ps);
	UNIO_ZCRX_OPTS(sized, .flags = UNIO_ZCRX_F_NODEV, .len = len);
	UNIO_ZCRX_OPTS(flag, .flags = 1U << 31);
	UNIO_ZCRX_OPTS(noif, .rxq = 1);
	struct unio_zcrx *z = NULL;
	struct unio_zcrx_info zi;
	struct io_uring ring;
	char *area;

	area = mmap(NULL, len + ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(0, io_uring_queue_init_params(8, &ring, &p));

	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(NULL, area, len, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, NULL, len, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &zo, NULL));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area + 64, len, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, 0, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len + 1, &zo, &z));
	/* The area is the arguments', never the options'. */
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &off, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &sized, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &flag, &z));
	/* A NIC queue needs an interface. */
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &noif, &z));
	EXPECT_EQ(NULL, z);

	/* io_uring asks for CAP_NET_ADMIN to register a zcrx queue. */
	if (!ut_has_cap(CAP_NET_ADMIN)) {
		io_uring_queue_exit(&ring);
		munmap(area, len + ps);
		SKIP(return, "no CAP_NET_ADMIN");
	}
	ASSERT_EQ(0, unio_zcrx_register_mem(&ring, area, len, &zo, &z));
	ASSERT_EQ(0, unio_zcrx_get_info(z, &zi));
	EXPECT_EQ((void *)area, zi.area);
	EXPECT_EQ(0U, zi.data_off);
	EXPECT_EQ(len, zi.len);
	ASSERT_NE(NULL, zi.rq);
	/* One refill entry per page of the area, rounded up: 48 -> 64. */
	EXPECT_EQ(64U, zi.rq->ring_entries);
	EXPECT_EQ(0U, zi.rx_buf_len % ps);
	/* Nothing received yet: the kernel's refill ring is empty. */
	EXPECT_EQ(*zi.rq->khead, *zi.rq->ktail);

	unio_zcrx_destroy(z);
	io_uring_queue_exit(&ring);
	munmap(area, len + ps);
}

TEST_HARNESS_MAIN
