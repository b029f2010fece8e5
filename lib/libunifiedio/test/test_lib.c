// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * libunifiedio tests, run against the real device (in the guest by
 * make check, or on any machine with the module loaded).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unifiedio.h>

static int failures;

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			failures++;					\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b) {						\
			fprintf(stderr, "%s:%d: FAIL: %s == %lld, want %lld\n", \
				__FILE__, __LINE__, #a, _a, _b);	\
			failures++;					\
		}							\
	} while (0)

/* An options struct from a "newer" caller: known fields plus a tail. */
struct opts_v2 {
	struct unio_region_opts base;
	uint64_t new_field;
};

static void test_opts(void)
{
	struct opts_v2 big;
	struct unio_region *r;
	uint32_t feat;

	memset(&big, 0, sizeof(big));
	big.base.sz = sizeof(big);
	big.new_field = 1;
	CHECK_EQ(unio_region_create(&big.base, &r), -E2BIG);

	big.new_field = 0;
	CHECK_EQ(unio_region_create(&big.base, &r), 0);
	unio_region_destroy(r);

	/* An old caller that knows only sz and dev_path gets defaults. */
	memset(&big, 0, sizeof(big));
	big.base.sz = 16;
	big.base.sq_entries = 3;	/* beyond sz: ignored */
	CHECK_EQ(unio_region_create(&big.base, &r), 0);
	CHECK_EQ(unio_region_queue(r)->sq.ring_entries, 128);
	unio_region_destroy(r);

	big.base.sz = 4;
	CHECK_EQ(unio_region_create(&big.base, &r), -EINVAL);

	CHECK_EQ(unio_region_create(NULL, &r), 0);
	CHECK_EQ(unio_region_layout(r)->buf_size, 64 << 10);
	CHECK_EQ(unio_region_layout(r)->data_size, 16 << 20);
	CHECK_EQ(unio_region_setup(r, NULL), -EBUSY);
	unio_region_destroy(r);

	CHECK_EQ(unio_get_features(NULL, &feat), 0);
	CHECK(feat & UNIFIED_IO_FEAT_SQ_RING);
	CHECK_EQ(unio_get_features("/nonexistent/unified_io", &feat), -ENOENT);
}

static void test_open_then_setup(void)
{
	struct unified_io_info info;
	struct unio_region *r;

	UNIO_OPTS(opts, .sq_entries = 4, .buf_size = 4096, .data_size = 8 * 4096);
	CHECK_EQ(unio_region_open(NULL, &r), 0);
	CHECK(unio_region_queue(r) == NULL);
	CHECK(unio_region_data(r) == NULL);
	CHECK_EQ(unio_region_get_info(r, &info), 0);
	CHECK_EQ(info.config.abi_version, UNIFIED_IO_ABI_VERSION);
	CHECK_EQ(info.layout.region_size, 0);
	CHECK_EQ(unio_region_setup(r, &opts), 0);
	CHECK(unio_region_fd(r) >= 0);
	CHECK_EQ(unio_region_get_info(r, &info), 0);
	CHECK_EQ(info.config.sq_entries, 4);
	CHECK_EQ(info.config.cq_entries, 8);
	CHECK_EQ(info.config.nr_bufs, 8);
	CHECK_EQ(unio_region_queue(r)->cq.ring_entries, 8);
	unio_region_destroy(r);
}

static void test_rings(void)
{
	struct unio_region *r;
	struct unio_queue *q;
	struct unified_io_cqe *cqe;
	unsigned int i;

	UNIO_OPTS(opts, .sq_entries = 8, .cq_entries = 16, .buf_size = 4096,
		  .data_size = 4 * 4096);
	CHECK_EQ(unio_region_create(&opts, &r), 0);
	q = unio_region_queue(r);

	CHECK_EQ(unio_submit(q), 0);		/* nothing pending: no syscall */
	CHECK_EQ(unio_sq_space_left(q), 8);
	for (i = 0; i < 8; i++)
		unio_prep_nop(unio_get_sqe(q), 100 + i);
	CHECK(unio_get_sqe(q) == NULL);
	CHECK_EQ(unio_sq_ready(q), 8);
	CHECK_EQ(unio_submit(q), 8);
	CHECK_EQ(unio_sq_ready(q), 0);
	CHECK_EQ(unio_cq_ready(q), 8);
	CHECK_EQ(unio_wait_cqes(q, 8, 0), 8);
	for (i = 0; i < 8; i++) {
		cqe = unio_peek_cqe(q);
		CHECK(cqe && cqe->user_data == 100 + i && cqe->res == 0 &&
		      cqe->opcode == UNIFIED_IO_OP_NOP);
		unio_cqe_seen(q);
	}
	CHECK(unio_peek_cqe(q) == NULL);

	/* Wrap the rings several times. */
	for (i = 0; i < 40; i++) {
		unio_prep_nop(unio_get_sqe(q), i);
		CHECK_EQ(unio_submit(q), 1);
		cqe = unio_peek_cqe(q);
		CHECK(cqe && cqe->user_data == i);
		unio_cq_advance(q, 1);
	}

	/* The sync helpers leave other completions in place and in order. */
	for (i = 0; i < 3; i++)
		unio_prep_nop(unio_get_sqe(q), 1 + i);
	CHECK_EQ(unio_submit(q), 3);
	{
		uint64_t off, off2;

		CHECK_EQ(unio_buf_alloc(q, 9, &off), 0);
		CHECK_EQ(off % 4096, 0);
		CHECK_EQ(unio_buf_alloc(q, 9, &off2), 0);
		CHECK(off2 != off);
		CHECK_EQ(unio_cq_ready(q), 3);
		CHECK_EQ(unio_buf_free(q, 8, off), -EPERM);
		CHECK_EQ(unio_buf_free(q, 9, off), 0);
		CHECK_EQ(unio_buf_free(q, 9, off), -EALREADY);
		CHECK_EQ(unio_buf_free(q, 9, off + 1), -EINVAL);
		CHECK_EQ(unio_buf_free(q, 9, 1 << 30), -ERANGE);
		CHECK_EQ(unio_buf_free(q, 0, off2), -EINVAL);
		CHECK_EQ(unio_buf_free(q, 9, off2), 0);
		memset(unio_data_ptr(q, off2), 0xab, 4096);
	}
	CHECK_EQ(unio_cq_ready(q), 3);
	for (i = 0; i < 3; i++) {
		cqe = unio_peek_cqe(q);
		CHECK(cqe && cqe->user_data == 1 + i && cqe->opcode == UNIFIED_IO_OP_NOP);
		unio_cqe_seen(q);
	}

	/* Exhaustion, then a full CQ makes the helpers fail with EBUSY. */
	{
		uint64_t offs[4], off;

		for (i = 0; i < 4; i++)
			CHECK_EQ(unio_buf_alloc(q, 1, &offs[i]), 0);
		CHECK_EQ(unio_buf_alloc(q, 1, &off), -ENOBUFS);
		for (i = 0; i < 2; i++) {
			unsigned int j;

			for (j = 0; j < 8; j++)
				unio_prep_nop(unio_get_sqe(q), j);
			CHECK_EQ(unio_submit(q), 8);
		}
		CHECK_EQ(unio_cq_ready(q), 16);
		CHECK_EQ(unio_buf_free(q, 1, offs[0]), -EBUSY);
		unio_cq_advance(q, 16);
		for (i = 0; i < 4; i++)
			CHECK_EQ(unio_buf_free(q, 1, offs[i]), 0);
	}
	unio_region_destroy(r);
}

static void test_names(void)
{
	CHECK(!strcmp(unio_op_name(UNIFIED_IO_OP_NOP), "nop"));
	CHECK(!strcmp(unio_op_name(UNIFIED_IO_OP_FREE), "free"));
	CHECK(!strcmp(unio_op_name(200), "unknown"));
	CHECK(!strcmp(unio_buf_state_name(UNIFIED_IO_BUF_KERNEL), "kernel"));
	CHECK(!strcmp(unio_buf_state_name(3), "unknown"));
}

int main(void)
{
	test_opts();
	test_open_then_setup();
	test_rings();
	test_names();
	if (failures) {
		fprintf(stderr, "test_lib: %d failures\n", failures);
		return 1;
	}
	printf("test_lib: all tests passed\n");
	return 0;
}
