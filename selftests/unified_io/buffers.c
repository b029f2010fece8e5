// SPDX-License-Identifier: GPL-2.0
/*
 * Buffer ownership: ALLOC/FREE through the SQ and inline, every refusal with
 * its documented completion errno, refused descriptors never acted on
 * (counts and buffer table unchanged), the buffer table mirror, and data
 * persistence across other buffers' churn.
 */
#include "ut.h"

FIXTURE(bufs) {
	struct ut_region r;
};

FIXTURE_VARIANT(bufs) {
	__u32 flags;
	__u32 buf;
	__u64 data;
};

FIXTURE_VARIANT_ADD(bufs, b4k_x16) {
	.buf = 4096,
	.data = 16 * 4096,
};

FIXTURE_VARIANT_ADD(bufs, b64k_x8) {
	.buf = 64 << 10,
	.data = 8 * (64 << 10),
};

FIXTURE_VARIANT_ADD(bufs, b2m_x2_huge) {
	.flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
	.buf = 2 << 20,
	.data = 2 * (2 << 20),
};

FIXTURE_SETUP(bufs)
{
	if (!ut_region_create(&self->r, 8, 16, variant->buf, variant->data,
			       variant->flags))
		return;
}

FIXTURE_TEARDOWN(bufs)
{
	ut_region_destroy(&self->r);
}

/* Buffer accounting as GET_INFO and the table show it. */
struct snap {
	__u32 free, app, kernel;
	__u64 errors;
	struct unified_io_buf_entry bt[64];
};

static void snapshot(struct __test_metadata *_metadata, struct ut_region *r,
		     struct snap *s)
{
	struct unified_io_info info;

	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	s->free = info.stats.bufs_free;
	s->app = info.stats.bufs_app;
	s->kernel = info.stats.bufs_kernel;
	s->errors = info.stats.errors;
	ASSERT_LE(r->l.nr_bufs, UT_ARRAY_SIZE(s->bt));
	memcpy(s->bt, r->bt, r->l.nr_bufs * sizeof(*r->bt));
	ASSERT_EQ(r->l.nr_bufs, s->free + s->app + s->kernel);
}

/* Nothing but the error counter moved since @before. */
static void check_unchanged(struct __test_metadata *_metadata,
			    struct ut_region *r, const struct snap *before,
			    __u64 new_errors)
{
	struct snap now;

	snapshot(_metadata, r, &now);
	EXPECT_EQ(before->free, now.free);
	EXPECT_EQ(before->app, now.app);
	EXPECT_EQ(before->kernel, now.kernel);
	EXPECT_EQ(before->errors + new_errors, now.errors);
	EXPECT_EQ(0, memcmp(before->bt, now.bt, r->l.nr_bufs * sizeof(*r->bt)));
}

/* Submit @d through the SQ and, with a fresh copy, inline; both must
 * complete with @err and change nothing.
 */
static void expect_refused(struct __test_metadata *_metadata,
			   struct ut_region *r, const struct unified_io_desc *d,
			   int err, const char *what)
{
	struct unified_io_cqe cqe;
	struct snap before;

	snapshot(_metadata, r, &before);
	EXPECT_EQ(err, ut_do(r, d, &cqe)) TH_LOG("%s (SQ): res %d (%s)", what,
						  cqe.res, strerror(-cqe.res));
	EXPECT_EQ(err, ut_do_inline(r, d, &cqe)) TH_LOG("%s (inline): res %d (%s)",
							 what, cqe.res,
							 strerror(-cqe.res));
	check_unchanged(_metadata, r, &before, 2);
}

static __u32 buf_index(const struct ut_region *r, __u64 off)
{
	return off / r->l.buf_size;
}

TEST_F(bufs, alloc_until_enobufs)
{
	struct ut_region *r = &self->r;
	__u32 nr = r->l.nr_bufs;
	__u64 offs[64];
	struct unified_io_info info;
	struct unified_io_desc d = {};
	__u64 off;

	ASSERT_LE(nr, UT_ARRAY_SIZE(offs));
	for (__u32 i = 0; i < nr; i++) {
		ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 1 + i, &offs[i]));
		ASSERT_EQ(0ULL, offs[i] % r->l.buf_size);
		ASSERT_LT(offs[i], r->l.data_size);
		for (__u32 j = 0; j < i; j++) {
			ASSERT_NE(offs[j], offs[i]);
		}
		/* The mirror shows it. */
		EXPECT_EQ(UNIFIED_IO_BUF_APP, r->bt[buf_index(r, offs[i])].state);
		EXPECT_EQ(1 + i, r->bt[buf_index(r, offs[i])].owner);
		EXPECT_EQ(1, r->bt[buf_index(r, offs[i])].refs);
	}
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ(0U, info.stats.bufs_free);
	EXPECT_EQ(nr, info.stats.bufs_app);

	/* Empty: ENOBUFS, nothing changes. */
	unio_prep_alloc(&d, 1, 0xe0);
	expect_refused(_metadata, r, &d, -ENOBUFS, "ALLOC on empty");

	/* Free all; each is reusable. */
	for (__u32 i = 0; i < nr; i++) {
		ASSERT_EQ(0, ut_free(r, 1 + i, offs[i]));
		EXPECT_EQ(UNIFIED_IO_BUF_FREE, r->bt[buf_index(r, offs[i])].state);
		EXPECT_EQ(0, r->bt[buf_index(r, offs[i])].owner);
		EXPECT_EQ(0, r->bt[buf_index(r, offs[i])].refs);
	}
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ(nr, info.stats.bufs_free);
	EXPECT_EQ(0U, info.stats.bufs_app);
	ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 0xffff, &off));
	EXPECT_EQ(0xffff, r->bt[buf_index(r, off)].owner);
	ASSERT_EQ(0, ut_free(r, 0xffff, off));
}

TEST_F(bufs, alloc_len)
{
	struct ut_region *r = &self->r;
	__u32 lens[] = { 0, 1, 512, r->l.buf_size - 1, r->l.buf_size };
	struct unified_io_desc d;
	struct unified_io_cqe cqe;

	for (size_t i = 0; i < UT_ARRAY_SIZE(lens); i++) {
		memset(&d, 0, sizeof(d));
		unio_prep_alloc(&d, 3, i);
		d.len = lens[i];
		/* The result is the buffer size whatever len asked. */
		ASSERT_EQ((int)r->l.buf_size, ut_do(r, &d, &cqe))
			TH_LOG("len %u", lens[i]);
		ASSERT_EQ(0, ut_free(r, 3, cqe.addr));
	}
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, 3, 0);
	d.len = r->l.buf_size + 1;
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC len buf_size+1");
	d.len = ~0U;
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC len ~0");
	d.len = 2 * r->l.buf_size;
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC len 2*buf_size");
}

TEST_F(bufs, alloc_bad_fields)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;

	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, 0, 1);
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC owner 0");

	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, 1, 1);
	d.addr = r->l.buf_size;
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC addr != 0");

	for (int f = 0; f < 8; f++) {
		memset(&d, 0, sizeof(d));
		unio_prep_alloc(&d, 1, 1);
		d.flags = 1 << f;
		expect_refused(_metadata, r, &d, -EINVAL, "ALLOC flags");
	}
	/* The type-specific union, byte by byte (every 3rd to stay quick). */
	for (size_t b = 0; b < sizeof(d.pad); b += 3) {
		memset(&d, 0, sizeof(d));
		unio_prep_alloc(&d, 1, 1);
		((__u8 *)d.pad)[b] = 0x01;
		expect_refused(_metadata, r, &d, -EINVAL, "ALLOC union byte");
	}
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, 1, 1);
	d.nvme.nsid = 1;
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC nvme.nsid");
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, 1, 1);
	d.net.fd = -1;
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC net.fd");
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, 1, 1);
	d.bpf.resv[3] = 1ULL << 63;
	expect_refused(_metadata, r, &d, -EINVAL, "ALLOC bpf.resv[3]");
}

TEST_F(bufs, nop_bad_fields)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;

	memset(&d, 0, sizeof(d));
	d.owner = 1;
	expect_refused(_metadata, r, &d, -EINVAL, "NOP owner");
	memset(&d, 0, sizeof(d));
	d.len = 1;
	expect_refused(_metadata, r, &d, -EINVAL, "NOP len");
	memset(&d, 0, sizeof(d));
	d.addr = r->l.buf_size;
	expect_refused(_metadata, r, &d, -EINVAL, "NOP addr");
	memset(&d, 0, sizeof(d));
	d.flags = 0x80;
	expect_refused(_metadata, r, &d, -EINVAL, "NOP flags");
	for (size_t b = 0; b < sizeof(d.pad); b++) {
		memset(&d, 0, sizeof(d));
		((__u8 *)d.pad)[b] = 0xff;
		expect_refused(_metadata, r, &d, -EINVAL, "NOP union byte");
	}
}

TEST_F(bufs, unknown_opcode_eopnotsupp)
{
	static const __u8 ops[] = { UNIFIED_IO_OP_LAST, 7, 8, 0x7f, 0x80, 0xff };
	struct ut_region *r = &self->r;
	struct unified_io_desc d;

	for (size_t i = 0; i < UT_ARRAY_SIZE(ops); i++) {
		memset(&d, 0, sizeof(d));
		d.opcode = ops[i];
		d.user_data = 0x0bad0000 | ops[i];
		expect_refused(_metadata, r, &d, -EOPNOTSUPP, "unknown opcode");
	}
	/* Even with fields that would be valid for ALLOC. */
	memset(&d, 0, sizeof(d));
	d.opcode = UNIFIED_IO_OP_LAST;
	d.owner = 1;
	expect_refused(_metadata, r, &d, -EOPNOTSUPP, "unknown opcode, owner 1");
}

TEST_F(bufs, free_wrong_owner_eperm)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	__u64 off;

	ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 10, &off));
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, 11, off, 1);
	expect_refused(_metadata, r, &d, -EPERM, "FREE by owner 11 of owner 10's");
	unio_prep_free(&d, 0xffff, off, 1);
	expect_refused(_metadata, r, &d, -EPERM, "FREE by owner 0xffff");
	/* Still allocated to 10. */
	EXPECT_EQ(UNIFIED_IO_BUF_APP, r->bt[buf_index(r, off)].state);
	EXPECT_EQ(10, r->bt[buf_index(r, off)].owner);
	ASSERT_EQ(0, ut_free(r, 10, off));
}

TEST_F(bufs, double_free_ealready)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	__u64 off;

	ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 5, &off));
	ASSERT_EQ(0, ut_free(r, 5, off));
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, 5, off, 2);
	expect_refused(_metadata, r, &d, -EALREADY, "second FREE");
	/* Another owner freeing a free buffer: it is free, not someone's. */
	unio_prep_free(&d, 6, off, 2);
	expect_refused(_metadata, r, &d, -EALREADY, "FREE of a free buffer by owner 6");
	/* A buffer never allocated. */
	unio_prep_free(&d, 5, (r->l.nr_bufs - 1) * (__u64)r->l.buf_size, 3);
	if (r->bt[r->l.nr_bufs - 1].state == UNIFIED_IO_BUF_FREE)
		expect_refused(_metadata, r, &d, -EALREADY, "FREE of never-allocated");
}

TEST_F(bufs, free_unaligned_einval)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	__u64 off;
	__u64 deltas[] = { 1, 8, 4096 - 1, r->l.buf_size / 2, r->l.buf_size - 1 };

	ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 5, &off));
	for (size_t i = 0; i < UT_ARRAY_SIZE(deltas); i++) {
		if (deltas[i] >= r->l.buf_size)
			continue;
		memset(&d, 0, sizeof(d));
		unio_prep_free(&d, 5, off + deltas[i], i);
		expect_refused(_metadata, r, &d, -EINVAL, "FREE inside a buffer");
	}
	ASSERT_EQ(0, ut_free(r, 5, off));
}

TEST_F(bufs, free_out_of_range_erange)
{
	struct ut_region *r = &self->r;
	__u64 ds = r->l.data_size, bs = r->l.buf_size;
	__u64 addrs[] = {
		ds, ds + bs, 2 * ds, ~0ULL, ~0ULL & ~(bs - 1), 1ULL << 63,
		1ULL << 32, (1ULL << 32) + ds, ds + 1, -bs,
	};
	struct unified_io_desc d;

	for (size_t i = 0; i < UT_ARRAY_SIZE(addrs); i++) {
		memset(&d, 0, sizeof(d));
		unio_prep_free(&d, 5, addrs[i], i);
		expect_refused(_metadata, r, &d, -ERANGE, "FREE outside the data area");
	}
}

TEST_F(bufs, free_bad_fields_einval)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	__u64 off;

	ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 5, &off));
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, 0, off, 1);
	expect_refused(_metadata, r, &d, -EINVAL, "FREE owner 0");
	unio_prep_free(&d, 5, off, 1);
	d.len = 1;
	expect_refused(_metadata, r, &d, -EINVAL, "FREE len 1");
	d.len = r->l.buf_size;
	expect_refused(_metadata, r, &d, -EINVAL, "FREE len buf_size");
	d.len = 0;
	d.flags = 1;
	expect_refused(_metadata, r, &d, -EINVAL, "FREE flags");
	d.flags = 0;
	d.pad[4] = 1;
	expect_refused(_metadata, r, &d, -EINVAL, "FREE union");
	d.pad[4] = 0;
	d.nvme.opcode = 1;
	expect_refused(_metadata, r, &d, -EINVAL, "FREE nvme.opcode");
	memset(&d.pad, 0, sizeof(d.pad));
	/* Still owned by 5; the well-formed FREE works. */
	EXPECT_EQ(UNIFIED_IO_BUF_APP, r->bt[buf_index(r, off)].state);
	ASSERT_EQ(0, ut_free(r, 5, off));
}

/* The table is a mirror: user writes are overwritten at the next change. */
TEST_F(bufs, buffer_table_mirror)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d = {};
	__u32 nr = r->l.nr_bufs;
	__u64 off;
	__u32 idx;

	for (__u32 i = 0; i < nr; i++) {
		EXPECT_EQ(UNIFIED_IO_BUF_FREE, r->bt[i].state);
		EXPECT_EQ(0, r->bt[i].owner);
		EXPECT_EQ(0, r->bt[i].refs);
	}
	ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 0x1234, &off));
	idx = buf_index(r, off);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, r->bt[idx].state);
	EXPECT_EQ(0x1234, r->bt[idx].owner);
	EXPECT_EQ(1, r->bt[idx].refs);

	/* Forge the mirror: the kernel does not believe it. */
	r->bt[idx].owner = 0x4321;
	r->bt[idx].state = UNIFIED_IO_BUF_FREE;
	r->bt[idx].refs = 0;
	unio_prep_free(&d, 0x4321, off, 1);
	expect_refused(_metadata, r, &d, -EPERM, "FREE by the forged owner");
	/* The real owner frees; the entry is rewritten. */
	ASSERT_EQ(0, ut_free(r, 0x1234, off));
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, r->bt[idx].state);
	EXPECT_EQ(0, r->bt[idx].owner);
	EXPECT_EQ(0, r->bt[idx].refs);

	/* A forged APP entry for a free buffer is rewritten by its ALLOC. */
	for (__u32 i = 0; i < nr; i++) {
		r->bt[i].state = UNIFIED_IO_BUF_KERNEL;
		r->bt[i].owner = 0xdead;
		r->bt[i].refs = 0xff;
	}
	ASSERT_EQ((int)r->l.buf_size, ut_alloc(r, 7, &off));
	idx = buf_index(r, off);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, r->bt[idx].state);
	EXPECT_EQ(7, r->bt[idx].owner);
	EXPECT_EQ(1, r->bt[idx].refs);
	ASSERT_EQ(0, ut_free(r, 7, off));
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, r->bt[idx].state);
}

/* Buffer contents survive other buffers' ALLOC/FREE. */
TEST_F(bufs, data_persists)
{
	struct ut_region *r = &self->r;
	__u64 bs = r->l.buf_size;
	__u64 a, b, c;

	if (r->l.nr_bufs < 3) {
		/* Two buffers: keep one, churn the other. */
		ASSERT_EQ((int)bs, ut_alloc(r, 1, &a));
		for (__u64 i = 0; i < bs; i += 97)
			((__u8 *)unio_data_ptr(&r->q, a))[i] = ut_pattern(a, i);
		for (int k = 0; k < 5; k++) {
			ASSERT_EQ((int)bs, ut_alloc(r, 2, &b));
			ASSERT_NE(a, b);
			memset(unio_data_ptr(&r->q, b), 0xee, bs);
			ASSERT_EQ(0, ut_free(r, 2, b));
		}
		for (__u64 i = 0; i < bs; i += 97) {
			ASSERT_EQ(ut_pattern(a, i), ((__u8 *)unio_data_ptr(&r->q, a))[i]);
		}
		return;
	}
	ASSERT_EQ((int)bs, ut_alloc(r, 1, &a));
	ASSERT_EQ((int)bs, ut_alloc(r, 1, &b));
	ASSERT_EQ((int)bs, ut_alloc(r, 1, &c));
	for (__u64 i = 0; i < bs; i++) {
		((__u8 *)unio_data_ptr(&r->q, a))[i] = ut_pattern(a, i);
		((__u8 *)unio_data_ptr(&r->q, c))[i] = ut_pattern(c, i);
	}
	/* Churn b and every other free buffer, writing garbage into them. */
	for (int k = 0; k < 3; k++) {
		__u64 offs[64];
		__u32 n = 0;

		ASSERT_EQ(0, ut_free(r, 1, b));
		while (n < UT_ARRAY_SIZE(offs) && ut_alloc(r, 2, &offs[n]) == (int)bs) {
			memset(unio_data_ptr(&r->q, offs[n]), 0xee, bs);
			n++;
		}
		ASSERT_EQ(r->l.nr_bufs - 2, n);
		for (__u32 i = 0; i < n; i++) {
			ASSERT_EQ(0, ut_free(r, 2, offs[i]));
		}
		ASSERT_EQ((int)bs, ut_alloc(r, 1, &b));
	}
	for (__u64 i = 0; i < bs; i++) {
		ASSERT_EQ(ut_pattern(a, i), ((__u8 *)unio_data_ptr(&r->q, a))[i]);
		ASSERT_EQ(ut_pattern(c, i), ((__u8 *)unio_data_ptr(&r->q, c))[i]);
	}
}

/* A batch mixing good and refused descriptors: each gets its own result. */
TEST_F(bufs, mixed_batch)
{
	struct ut_region *r = &self->r;
	struct unio_queue *q = &r->q;
	struct unified_io_desc *d;
	struct unified_io_cqe *c;
	struct unified_io_info info;
	__u64 off = 0;
	int expect[5] = { (int)r->l.buf_size, -EINVAL, 0, -EOPNOTSUPP, (int)r->l.buf_size };

	d = unio_get_sqe(q);
	unio_prep_alloc(d, 1, 0);
	d = unio_get_sqe(q);
	unio_prep_alloc(d, 0, 1);			/* owner 0 */
	d = unio_get_sqe(q);
	unio_prep_nop(d, 2);
	d = unio_get_sqe(q);
	d->opcode = 0x42;				/* unknown */
	d->user_data = 3;
	d = unio_get_sqe(q);
	unio_prep_alloc(d, 2, 4);
	unio_sq_flush(q);
	ASSERT_EQ(5, ut_submit(r->fd, 5));
	ASSERT_EQ(5U, unio_cq_ready(q));
	for (int i = 0; i < 5; i++) {
		c = unio_peek_cqe(q);
		EXPECT_EQ((__u64)i, c->user_data);
		EXPECT_EQ(expect[i], c->res) TH_LOG("entry %d", i);
		if (i == 0)
			off = c->addr;
		unio_cqe_seen(q);
	}
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ(2U, info.stats.bufs_app);
	EXPECT_EQ(2ULL, info.stats.errors);
	EXPECT_EQ(5ULL, info.stats.sqes);
	EXPECT_EQ(1ULL, info.stats.submit_calls);
	EXPECT_EQ(1, r->bt[buf_index(r, off)].owner);
}

TEST_HARNESS_MAIN
