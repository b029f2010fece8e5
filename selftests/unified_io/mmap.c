// SPDX-License-Identifier: GPL-2.0
/*
 * mmap() of the region: the documented refusals (EBADFD, EINVAL, EPERM,
 * ENXIO), no growth by mremap(), every area mapped on its own aliasing the
 * whole-region mapping, and the mapping's lifetime against close().
 */
#include "ut.h"

FIXTURE(map) {
	struct ut_region r;
};

FIXTURE_VARIANT(map) {
	__u32 flags;
	__u32 buf;
	__u64 data;
};

FIXTURE_VARIANT_ADD(map, small) {
	.buf = 4096,
	.data = 64 << 10,
};

FIXTURE_VARIANT_ADD(map, bufs_64k) {
	.buf = 64 << 10,
	.data = 1 << 20,
};

FIXTURE_VARIANT_ADD(map, huge_pages) {
	.flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
	.buf = 2 << 20,
	.data = 4 << 20,
};

FIXTURE_SETUP(map)
{
	if (!ut_region_create(&self->r, 8, 16, variant->buf, variant->data,
			       variant->flags))
		return;
}

FIXTURE_TEARDOWN(map)
{
	ut_region_destroy(&self->r);
}

static void *map_at(int fd, __u64 off, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, off);
}

TEST(before_setup_ebadfd)
{
	void *p;
	int fd;

	UT_OPEN(fd);
	p = map_at(fd, 0, UT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EBADFD, errno);
	p = map_at(fd, 0, UT_PAGE_SIZE, PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EBADFD, errno);
	close(fd);
}

TEST_F(map, private_einval)
{
	void *p = map_at(self->r.fd, 0, self->r.map_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE);

	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = map_at(self->r.fd, 0, UT_PAGE_SIZE, PROT_READ, MAP_PRIVATE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(map, exec_eperm)
{
	void *p;

	p = map_at(self->r.fd, 0, self->r.map_len,
		   PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	p = map_at(self->r.fd, self->r.l.data_off, UT_PAGE_SIZE,
		   PROT_READ | PROT_EXEC, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
}

/* A mapping that was allowed without PROT_EXEC cannot gain it later. */
TEST_F(map, mprotect_exec_refused)
{
	void *p = map_at(self->r.fd, self->r.l.data_off, UT_PAGE_SIZE,
			 PROT_READ, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, UT_PAGE_SIZE, PROT_READ | PROT_EXEC));
	munmap(p, UT_PAGE_SIZE);
}

TEST_F(map, unaligned_offset_einval)
{
	__u64 offs[] = { 1, 100, UT_PAGE_SIZE - 1, self->r.l.data_off + 8 };

	for (size_t i = 0; i < UT_ARRAY_SIZE(offs); i++) {
		void *p = map_at(self->r.fd, offs[i], UT_PAGE_SIZE, PROT_READ,
				 MAP_SHARED);

		EXPECT_EQ(MAP_FAILED, p) TH_LOG("offset %llu",
						(unsigned long long)offs[i]);
		EXPECT_EQ(EINVAL, errno);
	}
}

TEST_F(map, past_end_enxio)
{
	const struct unified_io_region_layout *l = &self->r.l;
	size_t pg = UT_PAGE_SIZE;
	struct {
		__u64 off;
		size_t len;
	} cases[] = {
		{ l->region_size, pg },
		{ 0, l->region_size + pg },
		{ l->region_size - pg, 2 * pg },
		{ l->data_off, l->data_size + pg },
		{ l->region_size + 64 * pg, pg },
		{ 1ULL << 40, pg },
	};

	for (size_t i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		void *p = map_at(self->r.fd, cases[i].off, cases[i].len,
				 PROT_READ, MAP_SHARED);

		EXPECT_EQ(MAP_FAILED, p) TH_LOG("[%llu, +%zu)",
						(unsigned long long)cases[i].off,
						cases[i].len);
		EXPECT_EQ(ENXIO, errno) TH_LOG("[%llu, +%zu)",
					       (unsigned long long)cases[i].off,
					       cases[i].len);
	}
	/* The last page itself is fine. */
	{
		void *p = map_at(self->r.fd, l->region_size - pg, pg, PROT_READ,
				 MAP_SHARED);

		EXPECT_NE(MAP_FAILED, p);
		if (p != MAP_FAILED)
			munmap(p, pg);
	}
}

TEST_F(map, mremap_cannot_grow)
{
	size_t pg = UT_PAGE_SIZE;
	size_t len = self->r.map_len;
	__u8 *p, *q;

	/* Whole region: growing would pass its end. */
	p = mremap(self->r.map, len, len + pg, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, (void *)p);
	/* A one-page mapping of the start, growing inside the region. */
	p = map_at(self->r.fd, 0, pg, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	q = mremap(p, pg, 2 * pg, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, (void *)q);
	if (q != MAP_FAILED)
		p = q;
	munmap(p, q == MAP_FAILED ? pg : 2 * pg);
	/* The original mapping still works. */
	self->r.map[self->r.l.data_off] = 0x5a;
	EXPECT_EQ(0x5a, self->r.map[self->r.l.data_off]);
}

/* Each area mapped on its own is the same memory as in the whole mapping. */
TEST_F(map, areas_alias)
{
	const struct unified_io_region_layout *l = &self->r.l;
	__u8 *whole = self->r.map;
	__u8 *ctrl, *desc, *data, *mid;
	size_t pg = UT_PAGE_SIZE;
	__u64 mid_off = l->data_off + (l->data_size / 2 & ~(pg - 1)) + pg;
	struct unified_io_desc *sqe;
	struct unified_io_cqe *cqe;
	__u32 *sq_tail, *cq_tail;

	ctrl = map_at(self->r.fd, l->ctrl_off, l->ctrl_size,
		      PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, ctrl);
	desc = map_at(self->r.fd, l->desc_off, l->desc_size,
		      PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, desc);
	data = map_at(self->r.fd, l->data_off, l->data_size,
		      PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, data);
	/* One page inside the data area (inside a huge page if there are). */
	if (mid_off + pg > l->data_off + l->data_size)
		mid_off = l->data_off;
	mid = map_at(self->r.fd, mid_off, pg, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, mid);

	/* Control: the kernel-written config reads the same. */
	EXPECT_EQ(0, memcmp(ctrl, whole, l->ctrl_size));
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION,
		  ((struct unified_io_config *)(ctrl + l->config))->abi_version);

	/* Descriptor area: a byte pattern written on one side. */
	for (__u64 i = 0; i < l->desc_size; i += 61)
		desc[i] = ut_pattern(1, i);
	for (__u64 i = 0; i < l->desc_size; i += 61) {
		ASSERT_EQ(ut_pattern(1, i), whole[l->desc_off + i]);
	}
	memset(whole + l->desc_off, 0, l->desc_size);
	EXPECT_EQ(0, desc[l->desc_size - 1]);

	/* Data: whole -> area, area -> whole, mid page both ways. */
	for (__u64 i = 0; i < l->data_size; i += 509)
		whole[l->data_off + i] = ut_pattern(2, i);
	for (__u64 i = 0; i < l->data_size; i += 509) {
		ASSERT_EQ(ut_pattern(2, i), data[i]);
	}
	for (__u64 i = 0; i < l->data_size; i += 4093)
		data[i] = ut_pattern(3, i);
	for (__u64 i = 0; i < l->data_size; i += 4093) {
		ASSERT_EQ(ut_pattern(3, i), whole[l->data_off + i]);
	}
	mid[0] = 0xa5;
	mid[pg - 1] = 0x5a;
	EXPECT_EQ(0xa5, whole[mid_off]);
	EXPECT_EQ(0x5a, whole[mid_off + pg - 1]);
	EXPECT_EQ(0xa5, data[mid_off - l->data_off]);

	/* Rings through the per-area mappings: a NOP round trip. */
	sq_tail = (__u32 *)(ctrl + l->sq.tail);
	cq_tail = (__u32 *)(ctrl + l->cq.tail);
	sqe = (void *)(desc + l->sq.array);
	cqe = (void *)(desc + l->cq.array);
	memset(&sqe[0], 0, sizeof(sqe[0]));
	sqe[0].user_data = 0x1234;
	unio_smp_store_release(sq_tail, 1);
	ASSERT_EQ(1, ut_submit(self->r.fd, 1));
	ASSERT_EQ(1U, unio_smp_load_acquire(cq_tail));
	EXPECT_EQ(0x1234ULL, cqe[0].user_data);
	EXPECT_EQ(1U, *self->r.q.sq.khead);

	munmap(ctrl, l->ctrl_size);
	munmap(desc, l->desc_size);
	munmap(data, l->data_size);
	munmap(mid, pg);
}

/* Read-only mappings are allowed and see the same bytes. */
TEST_F(map, read_only)
{
	__u8 *ro = map_at(self->r.fd, 0, self->r.map_len, PROT_READ, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, ro);
	self->r.map[self->r.l.data_off + 7] = 0x77;
	EXPECT_EQ(0x77, ro[self->r.l.data_off + 7]);
	munmap(ro, self->r.map_len);
}

/* --- an fd opened read-only ------------------------------------------------ */

/*
 * SETUP works on an fd opened O_RDONLY (ioctls do not need FMODE_WRITE);
 * such an fd maps MAP_SHARED with PROT_READ only: a writable shared mapping
 * is refused by mmap() and by a later mprotect() with EACCES.
 */
static void ro_fd_check(struct __test_metadata *_metadata, __u32 buf,
			__u64 data, __u32 flags)
{
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP,
				       .user_data = 0x7e57 };
	struct unified_io_setup s;
	struct unified_io_info info;
	const struct unified_io_region_layout *l = &s.layout;
	const struct unified_io_config *cfg;
	const struct unified_io_cqe *cqe;
	size_t pg = UT_PAGE_SIZE;
	__u8 *ro, *data_ro, *p;
	int fd, ret;

	fd = open(UNIFIED_IO_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENODEV || errno == ENXIO))
		SKIP(return, "%s: %s", UNIFIED_IO_DEVICE, strerror(errno));
	ASSERT_LE(0, fd) TH_LOG("open O_RDONLY: %s", strerror(errno));

	/* Before SETUP: still EBADFD, not EACCES. */
	p = map_at(fd, 0, pg, PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EBADFD, errno);

	ut_setup_init(&s, 8, 16, buf, data, flags);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	ASSERT_EQ(0, ret) TH_LOG("SETUP on a read-only fd: %s", strerror(-ret));
	ASSERT_EQ(0, ut_get_info(fd, &info));

	/* PROT_READ, MAP_SHARED: the whole region. */
	ro = map_at(fd, 0, l->region_size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, ro) TH_LOG("mmap PROT_READ MAP_SHARED of a read-only fd: %s",
					 strerror(errno));
	cfg = (const struct unified_io_config *)(ro + l->config);
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, cfg->abi_version);
	EXPECT_EQ(data, cfg->data_size);
	EXPECT_EQ(buf, cfg->buf_size);
	ut_check_config(&info.config, cfg);
	/* The data area alone, too. */
	data_ro = map_at(fd, l->data_off, l->data_size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, data_ro) TH_LOG("mmap data area: %s", strerror(errno));
	EXPECT_EQ(0, data_ro[0]);
	EXPECT_EQ(0, data_ro[l->data_size - 1]);

	/* The kernel's writes are seen through it: an inline NOP's CQE. */
	EXPECT_EQ(0U, *(const volatile __u32 *)(ro + l->cq.tail));
	ASSERT_EQ(1, ut_submit_inline(fd, &nop));
	EXPECT_EQ(1U, unio_smp_load_acquire((__u32 *)(ro + l->cq.tail)));
	cqe = (const struct unified_io_cqe *)(ro + l->desc_off + l->cq.array);
	EXPECT_EQ(0x7e57ULL, cqe->user_data);
	EXPECT_EQ(0, cqe->res);
	EXPECT_EQ(UNIFIED_IO_OP_NOP, cqe->opcode);

	/* Writable shared mappings: EACCES, for every area. */
	p = map_at(fd, 0, l->region_size, PROT_READ | PROT_WRITE, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	if (p != MAP_FAILED)
		munmap(p, l->region_size);
	p = map_at(fd, l->ctrl_off, l->ctrl_size, PROT_WRITE, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	if (p != MAP_FAILED)
		munmap(p, l->ctrl_size);
	p = map_at(fd, l->data_off, l->data_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	if (p != MAP_FAILED)
		munmap(p, l->data_size);
	/* Private mappings stay refused (EINVAL), as on a read-write fd. */
	p = map_at(fd, 0, pg, PROT_READ, MAP_PRIVATE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	if (p != MAP_FAILED)
		munmap(p, pg);
	/* And executable ones (EPERM). */
	p = map_at(fd, l->data_off, pg, PROT_READ | PROT_EXEC, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	if (p != MAP_FAILED)
		munmap(p, pg);

	/* The read-only mappings cannot be made writable. */
	EXPECT_EQ(-1, mprotect(ro, l->region_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(ro, pg, PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(data_ro, l->data_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* Still mapped and readable after the refusals. */
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, cfg->abi_version);

	/* The mapping outlives close(), like any other. */
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, cfg->abi_version);
	EXPECT_EQ(0x7e57ULL, cqe->user_data);
	EXPECT_EQ(0, munmap(data_ro, l->data_size));
	EXPECT_EQ(0, munmap(ro, l->region_size));
}

TEST(read_only_fd)
{
	ro_fd_check(_metadata, 4096, 64 << 10, 0);
}

TEST(read_only_fd_huge_pages)
{
	ro_fd_check(_metadata, 2 << 20, 4 << 20, UNIFIED_IO_SETUP_F_HUGE_PAGES);
}

/* An fd opened write-only cannot be mapped at all (EACCES), even PROT_READ. */
TEST(write_only_fd)
{
	struct unified_io_setup s;
	void *p;
	int fd, ret;

	fd = open(UNIFIED_IO_DEVICE, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENODEV || errno == ENXIO))
		SKIP(return, "%s: %s", UNIFIED_IO_DEVICE, strerror(errno));
	ASSERT_LE(0, fd);
	ut_setup_init(&s, 8, 16, 4096, 64 << 10, 0);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	ASSERT_EQ(0, ret) TH_LOG("SETUP on a write-only fd: %s", strerror(-ret));
	p = map_at(fd, 0, s.layout.region_size, PROT_READ, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	p = map_at(fd, 0, s.layout.region_size, PROT_READ | PROT_WRITE, MAP_SHARED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	close(fd);
}

/* Data written before close() stays reachable through the mapping. */
TEST_F(map, survives_close)
{
	const struct unified_io_region_layout l = self->r.l;
	__u8 *whole = self->r.map;
	__u8 *data;
	struct ut_region other;

	data = map_at(self->r.fd, l.data_off, l.data_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED);
	ASSERT_NE(MAP_FAILED, data);
	for (__u64 i = 0; i < l.data_size; i += 1021)
		whole[l.data_off + i] = ut_pattern(4, i);

	ASSERT_EQ(0, close(self->r.fd));
	self->r.fd = -1;

	for (__u64 i = 0; i < l.data_size; i += 1021) {
		ASSERT_EQ(ut_pattern(4, i), data[i]);
	}
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, self->r.config->abi_version);
	/* Still writable, still shared between the two mappings. */
	for (__u64 i = 0; i < l.data_size; i += 1021)
		data[i] = ut_pattern(5, i);
	for (__u64 i = 0; i < l.data_size; i += 1021) {
		ASSERT_EQ(ut_pattern(5, i), whole[l.data_off + i]);
	}

	/* A new context is a different region. */
	if (!ut_region_create(&other, 8, 16, 4096, 64 << 10, 0))
		return;
	EXPECT_NE(other.map, whole);
	other.q.data = other.map + other.l.data_off;
	((__u8 *)other.q.data)[0] = 0x11;
	EXPECT_EQ(ut_pattern(5, 0), data[0]);
	ut_region_destroy(&other);

	/* Unmap one, then the other; the region goes with the last. */
	EXPECT_EQ(0, munmap(data, l.data_size));
	for (__u64 i = 0; i < l.data_size; i += 1021) {
		ASSERT_EQ(ut_pattern(5, i), whole[l.data_off + i]);
	}
	EXPECT_EQ(0, munmap(whole, self->r.map_len));
	self->r.map = NULL;
}

/* munmap() before close(), then the context still works and maps again. */
TEST_F(map, munmap_before_close)
{
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	__u8 *again;

	self->r.map[self->r.l.data_off] = 0x42;
	ASSERT_EQ(0, munmap(self->r.map, self->r.map_len));
	self->r.map = NULL;
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	again = map_at(self->r.fd, 0, self->r.map_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED);
	ASSERT_NE(MAP_FAILED, again);
	EXPECT_EQ(0x42, again[self->r.l.data_off]);
	self->r.map = again;
	ut_region_wire(&self->r);
	EXPECT_EQ(1U, unio_cq_ready(&self->r.q));
}

/* Splitting the mapping with a partial munmap keeps both halves working. */
TEST_F(map, partial_munmap)
{
	const struct unified_io_region_layout *l = &self->r.l;
	size_t pg = UT_PAGE_SIZE;
	__u8 *p = self->r.map;
	__u64 hole = l->data_off + pg;

	if (hole + pg >= l->region_size)
		SKIP(return, "data area too small");
	p[hole - 1] = 1;
	p[hole + pg] = 2;
	ASSERT_EQ(0, munmap(p + hole, pg));
	EXPECT_EQ(1, p[hole - 1]);
	EXPECT_EQ(2, p[hole + pg]);
	close(self->r.fd);
	self->r.fd = -1;
	EXPECT_EQ(0, munmap(p, hole));
	EXPECT_EQ(2, p[hole + pg]);
	EXPECT_EQ(0, munmap(p + hole + pg, self->r.map_len - hole - pg));
	self->r.map = NULL;
}

/* fork() shares the mapping: a child's writes are the parent's. */
TEST_F(map, fork_shares_mapping)
{
	__u8 *data = self->r.map + self->r.l.data_off;
	pid_t pid;
	int status;

	data[0] = 1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (data[0] != 1)
			_exit(1);
		data[0] = 2;
		data[self->r.l.data_size - 1] = 3;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(2, data[0]);
	EXPECT_EQ(3, data[self->r.l.data_size - 1]);
}

TEST_HARNESS_MAIN
