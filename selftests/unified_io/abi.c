// SPDX-License-Identifier: GPL-2.0
/*
 * ABI of /dev/unified_io_region's ioctls, as include/uapi/linux/unified_io.h
 * documents it: success paths, argument length rules (iommufd TEST_LENGTH
 * style), EFAULT/ENOTTY/EBADFD, every invalid SETUP field with its errno,
 * layout consistency, RLIMIT_MEMLOCK charging, and the SUBMIT/COMPLETE
 * argument checks. Raw ioctls only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ut.h"

#define SQ	8
#define CQ	16
#define BUF	4096
#define DATA	(16 * 4096)

static const __u8 poison = 0xcc;

/* --- layout checks --------------------------------------------------- */

struct range {
	const char *name;
	__u64 off, len;
};

static void check_ranges(struct __test_metadata *_metadata,
			 const struct range *r, int n, __u64 limit)
{
	for (int i = 0; i < n; i++) {
		EXPECT_LE(r[i].off, limit) TH_LOG("%s starts past %llu",
						   r[i].name, (unsigned long long)limit);
		EXPECT_LE(r[i].len, limit - r[i].off)
			TH_LOG("%s [%llu, +%llu) ends past %llu", r[i].name,
			       (unsigned long long)r[i].off,
			       (unsigned long long)r[i].len,
			       (unsigned long long)limit);
		for (int j = i + 1; j < n; j++) {
			EXPECT_TRUE(r[i].off + r[i].len <= r[j].off ||
				    r[j].off + r[j].len <= r[i].off)
				TH_LOG("%s [%llu, +%llu) overlaps %s [%llu, +%llu)",
				       r[i].name, (unsigned long long)r[i].off,
				       (unsigned long long)r[i].len, r[j].name,
				       (unsigned long long)r[j].off,
				       (unsigned long long)r[j].len);
		}
	}
}

static void check_ring(struct __test_metadata *_metadata,
		       const struct unified_io_ring_offsets *ring,
		       __u32 entries, __u32 entry_size)
{
	EXPECT_EQ(entries, ring->ring_entries);
	EXPECT_EQ(entries - 1, ring->ring_mask);
	EXPECT_EQ(entry_size, ring->entry_size);
	EXPECT_EQ(0U, ring->head % 4);
	EXPECT_EQ(0U, ring->tail % 4);
	EXPECT_EQ(0U, ring->array % 8);
	EXPECT_EQ(0U, ring->resv[0]);
	EXPECT_EQ(0U, ring->resv[1]);
}

/* The layout SETUP returned for @s (with @cq CQ entries) is consistent. */
static void check_layout(struct __test_metadata *_metadata,
			 const struct unified_io_setup *s, __u32 cq,
			 const struct unified_io_region_layout *l)
{
	__u64 pg = UT_PAGE_SIZE;
	__u32 nr_bufs = s->data_size / s->buf_size;
	const struct range areas[] = {
		{ "ctrl", l->ctrl_off, l->ctrl_size },
		{ "desc", l->desc_off, l->desc_size },
		{ "data", l->data_off, l->data_size },
	};
	const struct range ctrl[] = {
		{ "sq.head", l->sq.head, 4 },
		{ "sq.tail", l->sq.tail, 4 },
		{ "cq.head", l->cq.head, 4 },
		{ "cq.tail", l->cq.tail, 4 },
		{ "stats", l->stats, sizeof(struct unified_io_stats) },
		{ "config", l->config, sizeof(struct unified_io_config) },
	};
	const struct range desc[] = {
		{ "sq.array", l->sq.array,
		  (__u64)s->sq_entries * sizeof(struct unified_io_desc) },
		{ "cq.array", l->cq.array, (__u64)cq * sizeof(struct unified_io_cqe) },
		{ "buf_table", l->buf_table,
		  (__u64)nr_bufs * sizeof(struct unified_io_buf_entry) },
	};

	EXPECT_EQ(0ULL, l->ctrl_off);
	EXPECT_NE(0ULL, l->ctrl_size);
	EXPECT_NE(0ULL, l->desc_size);
	EXPECT_EQ(s->data_size, l->data_size);
	EXPECT_EQ(s->buf_size, l->buf_size);
	EXPECT_EQ(nr_bufs, l->nr_bufs);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(0U, l->resv[i]);
	}

	/* Every area page aligned, inside the region, disjoint. */
	EXPECT_EQ(0ULL, l->region_size % pg);
	EXPECT_EQ(0ULL, l->ctrl_size % pg);
	EXPECT_EQ(0ULL, l->desc_off % pg);
	EXPECT_EQ(0ULL, l->desc_size % pg);
	EXPECT_EQ(0ULL, l->data_off % pg);
	EXPECT_EQ(0ULL, l->data_size % pg);
	check_ranges(_metadata, areas, UT_ARRAY_SIZE(areas), l->region_size);

	check_ring(_metadata, &l->sq, s->sq_entries, sizeof(struct unified_io_desc));
	check_ring(_metadata, &l->cq, cq, sizeof(struct unified_io_cqe));
	EXPECT_EQ(0U, l->stats % 8);
	EXPECT_EQ(0U, l->config % 8);
	EXPECT_EQ(0U, l->buf_table % 4);
	/* Control area: four indices, stats and config, disjoint. */
	check_ranges(_metadata, ctrl, UT_ARRAY_SIZE(ctrl), l->ctrl_size);
	/* Descriptor area: SQ, CQ and buffer table, disjoint. */
	check_ranges(_metadata, desc, UT_ARRAY_SIZE(desc), l->desc_size);
}

static bool all_bytes(const void *p, size_t len, __u8 v)
{
	const __u8 *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* --- a context without a region ----------------------------------------- */

/* Setup and teardown of a fixture whose state is a fresh open, self->fd. */
#define FD_FIXTURE_HOOKS(name)						\
	FIXTURE_SETUP(name)						\
	{								\
		self->fd = -1;						\
		UT_OPEN(self->fd);					\
	}								\
									\
	FIXTURE_TEARDOWN(name)						\
	{								\
		if (self->fd >= 0)					\
			close(self->fd);				\
	}

FIXTURE(ctx) {
	int fd;
};

FD_FIXTURE_HOOKS(ctx)

/* GET_INFO before SETUP is the feature query. */
TEST_F(ctx, get_info_before_setup)
{
	struct unified_io_info info;

	memset(&info, poison, sizeof(info));
	info.size = sizeof(info);
	info.flags = 0;
	ASSERT_EQ(0, ut_ioctl(self->fd, UNIFIED_IO_GET_INFO, &info));

	ASSERT_EQ((__u32)UNIFIED_IO_ABI_VERSION, info.config.abi_version);
	/* No bit this header does not know; every bit the tests rely on. */
	EXPECT_EQ(0U, info.config.features & ~UNIFIED_IO_FEATURES);
	EXPECT_EQ((__u32)(UNIFIED_IO_FEAT_SQ_RING | UNIFIED_IO_FEAT_INLINE_SUBMIT |
			  UNIFIED_IO_FEAT_WAIT | UNIFIED_IO_FEAT_POLL |
			  UNIFIED_IO_FEAT_BUF_OWNERS),
		  info.config.features & (UNIFIED_IO_FEAT_SQ_RING |
					  UNIFIED_IO_FEAT_INLINE_SUBMIT |
					  UNIFIED_IO_FEAT_WAIT |
					  UNIFIED_IO_FEAT_POLL |
					  UNIFIED_IO_FEAT_BUF_OWNERS));
	/* Everything else is zero (and so was written over the poison). */
	EXPECT_TRUE(all_bytes((__u8 *)&info.config + 8,
			      sizeof(info.config) - 8, 0));
	EXPECT_TRUE(all_bytes(&info.layout, sizeof(info.layout), 0));
	EXPECT_TRUE(all_bytes(&info.stats, sizeof(info.stats), 0));
}

TEST_F(ctx, ioctls_before_setup_ebadfd)
{
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	__u32 ready;

	EXPECT_EQ(-EBADFD, ut_submit(self->fd, 0));
	EXPECT_EQ(-EBADFD, ut_submit(self->fd, 1));
	EXPECT_EQ(-EBADFD, ut_submit_inline(self->fd, &nop));
	EXPECT_EQ(-EBADFD, ut_complete(self->fd, 0, 0, &ready));
	EXPECT_EQ(-EBADFD, ut_complete(self->fd, 1, 1000000, &ready));
}

static const unsigned long unknown_cmds[] = {
	_IO(UNIFIED_IO_TYPE, 0),
	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_SETUP - 1),
	_IO(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_NET_UNBIND + 1),
	_IO(UNIFIED_IO_TYPE, 0xff),
	/* Same number, other direction/size encoding: another command. */
	_IOWR(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_SETUP, struct unified_io_setup),
	_IOR(UNIFIED_IO_TYPE, UNIFIED_IO_CMD_GET_INFO, struct unified_io_info),
	_IO(UNIFIED_IO_TYPE + 1, UNIFIED_IO_CMD_SETUP),
	0x5401,	/* TCGETS */
};

TEST_F(ctx, unknown_ioctl_enotty)
{
	char buf[4096] = {};
	struct unified_io_setup s;

	for (size_t i = 0; i < UT_ARRAY_SIZE(unknown_cmds); i++) {
		*(__u32 *)buf = sizeof(buf);
		EXPECT_EQ(-ENOTTY, ut_ioctl(self->fd, unknown_cmds[i], buf))
			TH_LOG("cmd %#lx", unknown_cmds[i]);
	}
	/* Same after SETUP. */
	ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
	ASSERT_EQ(0, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s));
	for (size_t i = 0; i < UT_ARRAY_SIZE(unknown_cmds); i++) {
		*(__u32 *)buf = sizeof(buf);
		EXPECT_EQ(-ENOTTY, ut_ioctl(self->fd, unknown_cmds[i], buf))
			TH_LOG("cmd %#lx after SETUP", unknown_cmds[i]);
	}
}

TEST_F(ctx, setup_twice_ebusy)
{
	struct unified_io_setup s, s2;
	struct unified_io_info info;

	ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
	ASSERT_EQ(0, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s));
	ut_setup_init(&s2, 2 * SQ, 0, 2 * BUF, 2 * DATA, 0);
	memset(&s2.layout, poison, sizeof(s2.layout));
	ASSERT_EQ(-EBUSY, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s2));
	/* Identical arguments are no exception. */
	ut_setup_init(&s2, SQ, 0, BUF, DATA, 0);
	ASSERT_EQ(-EBUSY, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s2));

	/* The first region is untouched. */
	ASSERT_EQ(0, ut_get_info(self->fd, &info));
	ASSERT_EQ(0, memcmp(&s.layout, &info.layout, sizeof(s.layout)));
	ASSERT_EQ((__u32)SQ, info.config.sq_entries);
	ASSERT_EQ((__u32)BUF, info.config.buf_size);
	ASSERT_EQ((__u64)DATA, info.config.data_size);
}

/* A dup()ed descriptor is the same context; another open() is not. */
TEST_F(ctx, contexts_per_open)
{
	struct unified_io_setup s;
	struct unified_io_info info;
	int dupfd, other;

	ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
	ASSERT_EQ(0, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s));
	dupfd = dup(self->fd);
	ASSERT_LE(0, dupfd);
	ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
	EXPECT_EQ(-EBUSY, ut_ioctl(dupfd, UNIFIED_IO_SETUP, &s));
	close(dupfd);

	other = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ut_get_info(other, &info));
	EXPECT_TRUE(all_bytes(&info.layout, sizeof(info.layout), 0));
	EXPECT_EQ(-EBADFD, ut_submit(other, 0));
	ut_setup_init(&s, 2 * SQ, 0, BUF, DATA, 0);
	EXPECT_EQ(0, ut_ioctl(other, UNIFIED_IO_SETUP, &s));
	close(other);
}

/* A NUMA node that is not online, found through sysfs. */
static int offline_node(void)
{
	char buf[256] = {};
	int fd = open("/sys/devices/system/node/online", O_RDONLY);
	int hi = 0;
	char *p;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	/* "0" or "0-3" or "0,2-3": one past the highest listed node. */
	for (p = buf; *p; p++)
		if (*p >= '0' && *p <= '9') {
			int v = strtol(p, &p, 10);

			if (v > hi)
				hi = v;
			p--;
		}
	return hi + 1;
}

TEST_F(ctx, setup_numa_offline_node)
{
	struct unified_io_setup s;
	int nodes[] = { offline_node(), 1 << 20, INT32_MAX, -2, INT32_MIN };

	for (size_t i = 0; i < UT_ARRAY_SIZE(nodes); i++) {
		ut_setup_init(&s, SQ, 0, BUF, DATA, UNIFIED_IO_SETUP_F_NUMA_NODE);
		s.numa_node = nodes[i];
		EXPECT_EQ(-EINVAL, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s))
			TH_LOG("numa_node %d", nodes[i]);
	}
	/* None of the refusals created a region. */
	ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
	EXPECT_EQ(0, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s));
}

/* --- argument length rules ------------------------------------------------ */

/*
 * Copy @base (@ksize bytes, the structure as this header has it) into a
 * page-aligned buffer of @size bytes, zero-extended, with the byte at @bad
 * (if >= 0) set to 1, and call @cmd. @out receives @ksize bytes back.
 */
static int call_sized(int fd, unsigned long cmd, const void *base,
		      size_t ksize, __u32 size, long bad, void *out,
		      void *tail_out, size_t tail_len)
{
	size_t pg = UT_PAGE_SIZE;
	__u8 *buf = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	if (buf == MAP_FAILED)
		return -ENOMEM;
	memcpy(buf, base, ksize < size ? ksize : size);
	*(__u32 *)buf = size;
	if (bad >= 0)
		buf[bad] = 1;
	ret = ut_ioctl(fd, cmd, buf);
	if (out)
		memcpy(out, buf, ksize);
	if (tail_out)
		memcpy(tail_out, buf + ksize, tail_len);
	munmap(buf, 2 * pg);
	return ret;
}

/* The sizes every ioctl must refuse with EINVAL: below the first version. */
#define TOO_SMALL(ksize)	{ 0, 4, 8, (ksize) - 8, (ksize) - 1 }

#ifndef offsetofend
#define offsetofend(T, m)	(offsetof(T, m) + sizeof(((T *)0)->m))
#endif

/* struct unified_io_info as first published (ABI 1, before the BPF tail). */
#define UT_INFO_SIZE_V1	offsetofend(struct unified_io_info, stats)
/* ... and of struct unified_io_setup (before the refill ring offsets). */
#define UT_SETUP_SIZE_V1	offsetofend(struct unified_io_setup, resv)

/*
 * @cmd with @base (@ks bytes) at every TOO_SMALL size is EINVAL, and with a
 * non-zero byte beyond the structure E2BIG; @what prefixes the log lines.
 */
static void check_bad_sizes(struct __test_metadata *_metadata, int fd,
			    unsigned long cmd, const void *base, __u32 ks,
			    __u32 first, const char *what)
{
	/* Too small means smaller than the first published version. */
	__u32 small[] = TOO_SMALL(first);

	for (size_t i = 0; i < UT_ARRAY_SIZE(small); i++) {
		EXPECT_EQ(-EINVAL, call_sized(fd, cmd, base, ks, small[i], -1,
					      NULL, NULL, 0))
			TH_LOG("%ssize %u", what, small[i]);
	}
	for (long bad = ks; bad < ks + 8; bad += 7) {
		EXPECT_EQ(-E2BIG, call_sized(fd, cmd, base, ks, ks + 8, bad,
					     NULL, NULL, 0))
			TH_LOG("%snon-zero byte at %ld", what, bad);
	}
}

TEST(setup_length)
{
	struct unified_io_setup base, out;
	const __u32 ks = sizeof(base);
	__u32 small[] = TOO_SMALL(UT_SETUP_SIZE_V1);
	__u8 tail[8];
	int fd;

	UT_REQUIRE_DEVICE();
	ut_setup_init(&base, SQ, 0, BUF, DATA, 0);
	memset(&base.layout, poison, sizeof(base.layout));

	for (size_t i = 0; i < UT_ARRAY_SIZE(small); i++) {
		fd = open(UNIFIED_IO_DEVICE, O_RDWR);
		ASSERT_LE(0, fd);
		EXPECT_EQ(-EINVAL, call_sized(fd, UNIFIED_IO_SETUP, &base, ks,
					      small[i], -1, NULL, NULL, 0))
			TH_LOG("size %u", small[i]);
		/* Not acted on: a correct SETUP still works. */
		EXPECT_EQ(0, call_sized(fd, UNIFIED_IO_SETUP, &base, ks, ks, -1,
					NULL, NULL, 0));
		close(fd);
	}

	/* A non-zero byte beyond the structure: E2BIG, nothing created. */
	for (long bad = ks; bad < ks + 8; bad += 7) {
		fd = open(UNIFIED_IO_DEVICE, O_RDWR);
		ASSERT_LE(0, fd);
		EXPECT_EQ(-E2BIG, call_sized(fd, UNIFIED_IO_SETUP, &base, ks,
					     ks + 8, bad, NULL, NULL, 0))
			TH_LOG("non-zero byte at %ld", bad);
		EXPECT_EQ(0, call_sized(fd, UNIFIED_IO_SETUP, &base, ks, ks, -1,
					NULL, NULL, 0));
		close(fd);
	}

	/* Zero bytes beyond: like the exact size; output within ksize only. */
	for (__u32 size = ks; size <= ks + 8; size += 8) {
		fd = open(UNIFIED_IO_DEVICE, O_RDWR);
		ASSERT_LE(0, fd);
		memset(&out, poison, sizeof(out));
		memset(tail, poison, sizeof(tail));
		EXPECT_EQ(0, call_sized(fd, UNIFIED_IO_SETUP, &base, ks, size, -1,
					&out, tail, sizeof(tail)))
			TH_LOG("size %u", size);
		check_layout(_metadata, &base, 2 * SQ, &out.layout);
		EXPECT_EQ(0ULL, out.resv[0] | out.resv[1] | out.resv[2] | out.resv[3]);
		if (size > ks) {
			EXPECT_TRUE(all_bytes(tail, sizeof(tail), 0));
		}
		close(fd);
	}

	/* Up to one page is accepted. */
	fd = open(UNIFIED_IO_DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, call_sized(fd, UNIFIED_IO_SETUP, &base, ks, UT_PAGE_SIZE,
				-1, NULL, NULL, 0));
	close(fd);
}

TEST(get_info_length)
{
	struct unified_io_info base, out, exact;
	const __u32 ks = sizeof(base);
	struct unified_io_setup s;
	__u8 tail[8];
	int fd;

	UT_OPEN(fd);
	/* Before and after SETUP. */
	for (int pass = 0; pass < 2; pass++) {
		char what[16];

		memset(&base, poison, sizeof(base));
		base.size = ks;
		base.flags = 0;

		snprintf(what, sizeof(what), "pass %d ", pass);
		check_bad_sizes(_metadata, fd, UNIFIED_IO_GET_INFO, &base, ks,
				UT_INFO_SIZE_V1, what);

		/* A caller built against the first version still works. */
		memset(&out, poison, sizeof(out));
		ASSERT_EQ(0, call_sized(fd, UNIFIED_IO_GET_INFO, &base, ks,
					UT_INFO_SIZE_V1, -1, &out, NULL, 0));
		EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, out.config.abi_version);
		/* Every feature but the provider, which needs a patched kernel. */
		EXPECT_EQ((__u32)(UNIFIED_IO_FEATURES & ~UNIFIED_IO_FEAT_NET_PROVIDER),
			  out.config.features & ~UNIFIED_IO_FEAT_NET_PROVIDER);

		memset(&exact, poison, sizeof(exact));
		ASSERT_EQ(0, call_sized(fd, UNIFIED_IO_GET_INFO, &base, ks, ks,
					-1, &exact, NULL, 0));
		EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, exact.config.abi_version);
		/* The poisoned output was written in full. */
		EXPECT_FALSE(all_bytes(&exact.layout, 8, poison));
		EXPECT_EQ(0ULL, exact.config.resv[0] | exact.config.resv[1]);
		EXPECT_EQ(0U, exact.stats.resv);

		memset(&out, poison, sizeof(out));
		memset(tail, poison, sizeof(tail));
		ASSERT_EQ(0, call_sized(fd, UNIFIED_IO_GET_INFO, &base, ks,
					ks + 8, -1, &out, tail, sizeof(tail)));
		EXPECT_TRUE(all_bytes(tail, sizeof(tail), 0));
		EXPECT_EQ(0, memcmp(&exact.config, &out.config, sizeof(out.config)));
		EXPECT_EQ(0, memcmp(&exact.layout, &out.layout, sizeof(out.layout)));
		EXPECT_EQ(0, memcmp(&exact.stats, &out.stats, sizeof(out.stats)));

		EXPECT_EQ(0, call_sized(fd, UNIFIED_IO_GET_INFO, &base, ks,
					UT_PAGE_SIZE, -1, NULL, NULL, 0));

		/* flags Must be 0 */
		base.flags = 1;
		EXPECT_EQ(-EINVAL, call_sized(fd, UNIFIED_IO_GET_INFO, &base, ks,
					      ks, -1, NULL, NULL, 0));
		base.flags = 0x80000000;
		EXPECT_EQ(-EINVAL, call_sized(fd, UNIFIED_IO_GET_INFO, &base, ks,
					      ks, -1, NULL, NULL, 0));

		ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
		if (!pass) {
			ASSERT_EQ(0, ut_ioctl(fd, UNIFIED_IO_SETUP, &s));
		}
	}
	close(fd);
}

FIXTURE(region) {
	struct ut_region r;
};

FIXTURE_SETUP(region)
{
	if (!ut_region_create(&self->r, SQ, CQ, BUF, DATA, 0))
		return;
}

FIXTURE_TEARDOWN(region)
{
	ut_region_destroy(&self->r);
}

TEST_F(region, submit_length)
{
	struct unified_io_submit base = {
		.size = sizeof(base),
		.flags = UNIFIED_IO_SUBMIT_F_INLINE,
		.desc = { .opcode = UNIFIED_IO_OP_NOP, .user_data = 77 },
	};
	const __u32 ks = sizeof(base);
	struct unio_queue *q = &self->r.q;
	__u8 tail[8];

	check_bad_sizes(_metadata, self->r.fd, UNIFIED_IO_SUBMIT, &base, ks, ks, "");
	/* None of them was acted on. */
	ASSERT_EQ(0U, unio_cq_ready(q));

	ASSERT_EQ(1, call_sized(self->r.fd, UNIFIED_IO_SUBMIT, &base, ks, ks, -1,
				NULL, NULL, 0));
	memset(tail, poison, sizeof(tail));
	ASSERT_EQ(1, call_sized(self->r.fd, UNIFIED_IO_SUBMIT, &base, ks, ks + 8,
				-1, NULL, tail, sizeof(tail)));
	EXPECT_TRUE(all_bytes(tail, sizeof(tail), 0));
	ASSERT_EQ(1, call_sized(self->r.fd, UNIFIED_IO_SUBMIT, &base, ks,
				UT_PAGE_SIZE, -1, NULL, NULL, 0));
	ASSERT_EQ(3U, unio_cq_ready(q));
	for (int i = 0; i < 3; i++) {
		struct unified_io_cqe *c = unio_peek_cqe(q);

		ASSERT_NE(NULL, c);
		EXPECT_EQ(77ULL, c->user_data);
		EXPECT_EQ(0, c->res);
		unio_cqe_seen(q);
	}
}

TEST_F(region, complete_length)
{
	struct unified_io_complete base = {
		.size = sizeof(base),
		.ready = 0xcccccccc,
	};
	struct unified_io_complete out;
	const __u32 ks = sizeof(base);
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	__u8 tail[8];

	check_bad_sizes(_metadata, self->r.fd, UNIFIED_IO_COMPLETE, &base, ks, ks, "");

	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	for (__u32 size = ks; size <= ks + 8; size += 8) {
		memset(&out, poison, sizeof(out));
		memset(tail, poison, sizeof(tail));
		EXPECT_EQ(2, call_sized(self->r.fd, UNIFIED_IO_COMPLETE, &base, ks,
					size, -1, &out, tail, sizeof(tail)))
			TH_LOG("size %u", size);
		EXPECT_EQ(2U, out.ready);
		if (size > ks) {
			EXPECT_TRUE(all_bytes(tail, sizeof(tail), 0));
		}
	}
	EXPECT_EQ(2, call_sized(self->r.fd, UNIFIED_IO_COMPLETE, &base, ks,
				UT_PAGE_SIZE, -1, NULL, NULL, 0));
}

/* Sizes above one page are outside the contract; they must fail. */
TEST_F(region, above_page_size_refused)
{
	struct unified_io_info info = { .size = sizeof(info) };
	size_t pg = UT_PAGE_SIZE;
	__u8 *buf = calloc(1, 2 * pg);
	int ret;

	ASSERT_NE(NULL, buf);
	memcpy(buf, &info, sizeof(info));
	*(__u32 *)buf = pg + 8;
	ret = ut_ioctl(self->r.fd, UNIFIED_IO_GET_INFO, buf);
	EXPECT_TRUE(ret == -E2BIG || ret == -EINVAL) TH_LOG("GET_INFO size %zu: %d",
							   pg + 8, ret);
	*(__u32 *)buf = 0xffffffff;
	ret = ut_ioctl(self->r.fd, UNIFIED_IO_GET_INFO, buf);
	EXPECT_TRUE(ret == -E2BIG || ret == -EINVAL || ret == -EFAULT)
		TH_LOG("GET_INFO size 4G-1: %d", ret);
	free(buf);
}

/* --- EFAULT ---------------------------------------------------------------- */

struct fault_buf {
	__u8 *base;	/* two pages: readable+writable, then PROT_NONE */
	__u8 *ro;	/* a read-only page */
};

static int fault_buf_init(struct fault_buf *f)
{
	size_t pg = UT_PAGE_SIZE;

	f->base = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->base == MAP_FAILED)
		return -1;
	if (mprotect(f->base + pg, pg, PROT_NONE))
		return -1;
	f->ro = f->base + 2 * pg;
	return 0;
}

/* Every ioctl with a bad argument pointer gets EFAULT. */
static void check_efault(struct __test_metadata *_metadata, int fd,
			 unsigned long cmd, const void *arg, size_t len,
			 bool writes_back)
{
	struct fault_buf f;
	size_t pg = UT_PAGE_SIZE;
	__u8 *p;

	ASSERT_EQ(0, fault_buf_init(&f));

	EXPECT_EQ(-EFAULT, ut_ioctl(fd, cmd, NULL));
	EXPECT_EQ(-EFAULT, ut_ioctl(fd, cmd, (void *)8));
	EXPECT_EQ(-EFAULT, ut_ioctl(fd, cmd, (void *)-4096L));
	EXPECT_EQ(-EFAULT, ut_ioctl(fd, cmd, f.base + pg));
	/* Kernel address. */
	EXPECT_EQ(-EFAULT, ut_ioctl(fd, cmd, (void *)0xffff888000000000UL));
	/* The size field readable, the rest in the PROT_NONE page. */
	p = f.base + pg - 8;
	memcpy(p, arg, 8);
	EXPECT_EQ(-EFAULT, ut_ioctl(fd, cmd, p));
	/* Readable but not writable, for an ioctl that writes back. */
	if (writes_back) {
		memcpy(f.ro, arg, len);
		ASSERT_EQ(0, mprotect(f.ro, pg, PROT_READ));
		EXPECT_EQ(-EFAULT, ut_ioctl(fd, cmd, f.ro));
	}
	munmap(f.base, 3 * pg);
}

TEST_F(ctx, efault)
{
	struct unified_io_setup s;
	struct unified_io_info info = { .size = sizeof(info) };

	ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
	check_efault(_metadata, self->fd, UNIFIED_IO_GET_INFO, &info,
		     sizeof(info), true);
	check_efault(_metadata, self->fd, UNIFIED_IO_SETUP, &s, sizeof(s), false);
	/* None of those created a region. */
	ASSERT_EQ(0, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s));
}

/* SETUP writes its layout back: a read-only argument is EFAULT. */
TEST_F(ctx, efault_setup_readonly)
{
	struct unified_io_setup s;
	struct fault_buf f;

	ASSERT_EQ(0, fault_buf_init(&f));
	ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
	memcpy(f.ro, &s, sizeof(s));
	ASSERT_EQ(0, mprotect(f.ro, UT_PAGE_SIZE, PROT_READ));
	EXPECT_EQ(-EFAULT, ut_ioctl(self->fd, UNIFIED_IO_SETUP, f.ro));
	munmap(f.base, 3 * UT_PAGE_SIZE);
}

TEST_F(region, efault)
{
	struct unified_io_submit sub = {
		.size = sizeof(sub),
		.flags = UNIFIED_IO_SUBMIT_F_INLINE,
	};
	struct unified_io_complete c = { .size = sizeof(c) };
	struct unified_io_info info = { .size = sizeof(info) };

	check_efault(_metadata, self->r.fd, UNIFIED_IO_SUBMIT, &sub,
		     sizeof(sub), false);
	check_efault(_metadata, self->r.fd, UNIFIED_IO_COMPLETE, &c, sizeof(c),
		     true);
	check_efault(_metadata, self->r.fd, UNIFIED_IO_GET_INFO, &info,
		     sizeof(info), true);
	/* Nothing was submitted. */
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(0ULL, info.stats.sqes);
	EXPECT_EQ(0U, unio_cq_ready(&self->r.q));
}

/* --- SETUP parameter matrix ---------------------------------------------- */

FIXTURE(setup_param) {
	int fd;
};

FIXTURE_VARIANT(setup_param) {
	__u32 flags;
	__u32 sq, cq, buf;
	__u64 data;
	__s32 numa;
	int resv;	/* index of resv[] set to 1, or -1 */
	int err;	/* expected -errno, 0 for success */
	__u32 want_cq;	/* CQ entries expected on success */
};

FD_FIXTURE_HOOKS(setup_param)

/* SP() sets defaults that variants override. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#define SP(name, ...)							\
	FIXTURE_VARIANT_ADD(setup_param, name) {			\
		.sq = SQ, .buf = BUF, .data = DATA, .resv = -1,		\
		__VA_ARGS__						\
	}

SP(ok_default, .want_cq = 2 * SQ);
SP(ok_cq_equal, .sq = 16, .cq = 16, .want_cq = 16);
SP(ok_one_entry, .sq = 1, .cq = 1, .want_cq = 1);
SP(ok_cq_max, .sq = 1, .cq = UNIFIED_IO_MAX_ENTRIES,
   .want_cq = UNIFIED_IO_MAX_ENTRIES);
SP(ok_max_entries_cq_capped, .sq = UNIFIED_IO_MAX_ENTRIES,
   .want_cq = UNIFIED_IO_MAX_ENTRIES);
SP(ok_one_buf, .data = BUF, .want_cq = 2 * SQ);
SP(ok_buf_64k, .buf = 64 << 10, .data = 1 << 20, .want_cq = 2 * SQ);
SP(ok_buf_2m, .buf = UNIFIED_IO_MAX_BUF_SIZE, .data = 4 << 20,
   .want_cq = 2 * SQ);
SP(ok_huge_pages, .flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
   .buf = UNIFIED_IO_MAX_BUF_SIZE, .data = 4 << 20, .want_cq = 2 * SQ);
SP(ok_huge_pages_small_bufs, .flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
   .buf = 4096, .data = 4 << 20, .want_cq = 2 * SQ);
/* Not a multiple of 2 MiB: the tail needs order-0 pages. */
SP(ok_huge_pages_odd_size, .flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
   .buf = 64 << 10, .data = (2 << 20) + (64 << 10), .want_cq = 2 * SQ);
SP(ok_numa_node0, .flags = UNIFIED_IO_SETUP_F_NUMA_NODE, .numa = 0,
   .want_cq = 2 * SQ);

SP(flag_unknown, .flags = 1 << 2, .err = -EINVAL);
SP(flag_high, .flags = 1U << 31, .err = -EINVAL);
SP(resv0, .resv = 0, .err = -EINVAL);
SP(resv3, .resv = 3, .err = -EINVAL);
SP(numa_without_flag, .numa = 1, .err = -EINVAL);
SP(numa_minus1_without_flag, .numa = -1, .err = -EINVAL);
SP(sq_zero, .sq = 0, .err = -EINVAL);
SP(sq_not_pow2, .sq = 3, .err = -EINVAL);
SP(sq_not_pow2_100, .sq = 100, .err = -EINVAL);
SP(sq_too_big, .sq = 2 * UNIFIED_IO_MAX_ENTRIES, .err = -E2BIG);
SP(sq_too_big_2g, .sq = 1U << 31, .err = -E2BIG);
SP(cq_not_pow2, .cq = 24, .err = -EINVAL);
SP(cq_below_sq, .sq = 16, .cq = 8, .err = -EINVAL);
SP(cq_too_big, .cq = 2 * UNIFIED_IO_MAX_ENTRIES, .err = -E2BIG);
SP(buf_zero, .buf = 0, .err = -EINVAL);
SP(buf_one, .buf = 1, .err = -EINVAL);
SP(buf_not_pow2, .buf = 4097, .err = -EINVAL);
SP(buf_not_pow2_6k, .buf = 6144, .data = 6144 * 4, .err = -EINVAL);
SP(buf_below_page, .buf = 2048, .data = 2048 * 8, .err = -EINVAL);
SP(buf_too_big, .buf = 2 * UNIFIED_IO_MAX_BUF_SIZE,
   .data = 2 * UNIFIED_IO_MAX_BUF_SIZE, .err = -E2BIG);
SP(buf_too_big_2g, .buf = 1U << 31, .data = 1ULL << 31, .err = -E2BIG);
SP(data_zero, .data = 0, .err = -EINVAL);
SP(data_unaligned, .data = DATA + 512, .err = -EINVAL);
SP(data_not_buf_multiple, .buf = 64 << 10, .data = (64 << 10) + 4096,
   .err = -EINVAL);
SP(data_too_big, .buf = UNIFIED_IO_MAX_BUF_SIZE,
   .data = UNIFIED_IO_MAX_DATA_SIZE + UNIFIED_IO_MAX_BUF_SIZE, .err = -E2BIG);
SP(data_too_big_1t, .buf = UNIFIED_IO_MAX_BUF_SIZE, .data = 1ULL << 40,
   .err = -E2BIG);
SP(data_too_many_bufs, .buf = 4096,
   .data = (UNIFIED_IO_MAX_BUFS + 1ULL) * 4096, .err = -E2BIG);
SP(data_overflow, .buf = 4096, .data = ~0ULL & ~4095ULL, .err = -EOVERFLOW);
SP(data_overflow_2m, .buf = UNIFIED_IO_MAX_BUF_SIZE,
   .data = ~0ULL & ~(UNIFIED_IO_MAX_BUF_SIZE - 1ULL), .err = -EOVERFLOW);

#pragma GCC diagnostic pop

/* The control area carries GET_INFO's config, and the indices start at 0. */
static void check_ctrl_copy(struct __test_metadata *_metadata, int fd,
			    const struct unified_io_region_layout *l,
			    const struct unified_io_config *config)
{
	__u8 *map = mmap(NULL, l->ctrl_size, PROT_READ, MAP_SHARED, fd, 0);

	ASSERT_NE(MAP_FAILED, map);
	/* GET_INFO is the reference; the control-area copy must match it. */
	ut_check_config(config, (struct unified_io_config *)(map + l->config));
	EXPECT_EQ(0U, *(__u32 *)(map + l->sq.head));
	EXPECT_EQ(0U, *(__u32 *)(map + l->sq.tail));
	EXPECT_EQ(0U, *(__u32 *)(map + l->cq.head));
	EXPECT_EQ(0U, *(__u32 *)(map + l->cq.tail));
	munmap(map, l->ctrl_size);
}

TEST_F(setup_param, apply)
{
	struct unified_io_setup s;
	struct unified_io_info info;
	__u64 pg = UT_PAGE_SIZE;
	int ret;

	if ((variant->flags & UNIFIED_IO_SETUP_F_HUGE_PAGES) && !variant->err) {
		ASSERT_EQ(0, ut_get_info(self->fd, &info));
		if (!(info.config.features & UNIFIED_IO_FEAT_HUGE_PAGES))
			SKIP(return, "no UNIFIED_IO_FEAT_HUGE_PAGES");
	}
	ut_setup_init(&s, variant->sq, variant->cq, variant->buf, variant->data,
		       variant->flags);
	s.numa_node = variant->numa;
	if (variant->resv >= 0)
		s.resv[variant->resv] = 1;
	memset(&s.layout, poison, sizeof(s.layout));

	ret = ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s);
	ASSERT_EQ(variant->err, ret) TH_LOG("expected %s, got %s",
					    strerror(-variant->err), strerror(-ret));

	ASSERT_EQ(0, ut_get_info(self->fd, &info));
	if (variant->err) {
		/* Refused: no region, and a correct SETUP still works. */
		EXPECT_TRUE(all_bytes(&info.layout, sizeof(info.layout), 0));
		EXPECT_EQ(0U, info.config.sq_entries);
		EXPECT_EQ(-EBADFD, ut_submit(self->fd, 0));
		ut_setup_init(&s, SQ, 0, BUF, DATA, 0);
		EXPECT_EQ(0, ut_ioctl(self->fd, UNIFIED_IO_SETUP, &s));
		return;
	}

	check_layout(_metadata, &s, variant->want_cq, &s.layout);
	/* GET_INFO agrees with SETUP and with the parameters. */
	EXPECT_EQ(0, memcmp(&s.layout, &info.layout, sizeof(s.layout)));
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, info.config.abi_version);
	EXPECT_EQ(variant->flags, info.config.setup_flags);
	EXPECT_EQ(variant->sq, info.config.sq_entries);
	EXPECT_EQ(variant->want_cq, info.config.cq_entries);
	EXPECT_EQ(variant->buf, info.config.buf_size);
	EXPECT_EQ((__u32)(variant->data / variant->buf), info.config.nr_bufs);
	EXPECT_EQ(variant->data, info.config.data_size);
	if (variant->flags & UNIFIED_IO_SETUP_F_NUMA_NODE) {
		EXPECT_EQ(variant->numa, info.config.numa_node);
	}
	/* The pages obtained cover the data area exactly. */
	EXPECT_EQ(variant->data, (__u64)info.config.huge_pages * UT_SZ_2M +
				 (__u64)info.config.small_pages * pg)
		TH_LOG("huge_pages %u small_pages %u", info.config.huge_pages,
		       info.config.small_pages);
	if (!(variant->flags & UNIFIED_IO_SETUP_F_HUGE_PAGES)) {
		EXPECT_EQ(0U, info.config.huge_pages);
	}
	TH_LOG("huge_pages %u small_pages %u", info.config.huge_pages,
	       info.config.small_pages);
	EXPECT_EQ(0ULL, info.config.resv[0] | info.config.resv[1]);

	/* Fresh counters. */
	EXPECT_EQ(0ULL, info.stats.submit_calls | info.stats.sqes |
			info.stats.cqes | info.stats.errors |
			info.stats.sq_bad_tail | info.stats.cq_full |
			info.stats.cq_bad_head | info.stats.waits);
	EXPECT_EQ(info.config.nr_bufs, info.stats.bufs_free);
	EXPECT_EQ(0U, info.stats.bufs_app);
	EXPECT_EQ(0U, info.stats.bufs_kernel);

	check_ctrl_copy(_metadata, self->fd, &s.layout, &info.config);
}

/* --- RLIMIT_MEMLOCK ---------------------------------------------------------- */

#define BIG_DATA	(8ULL << 20)

/*
 * SETUP a region of @data_size bytes in buffers of @buf_size on a new
 * descriptor and close it again, so the charge is returned at once.
 * Returns SETUP's result (0 or -errno), or 1 if the device cannot be opened.
 */
static int setup_and_close(__u32 buf_size, __u64 data_size)
{
	struct unified_io_setup s;
	int fd, ret;

	fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ut_setup_init(&s, SQ, 0, buf_size, data_size, 0);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	close(fd);
	return ret;
}

/* In a child: without CAP_IPC_LOCK a big region fails against a tiny limit. */
static int memlock_child(void *arg)
{
	struct rlimit small = { 64 << 10, 64 << 10 };
	struct rlimit big = { 64ULL << 20, 64ULL << 20 };
	struct unified_io_setup s;
	int fd, ret;

	ret = ut_drop_cap(CAP_IPC_LOCK);
	if (ret && ret != -EPERM)
		return 10;
	if (ut_has_cap(CAP_IPC_LOCK))
		return 11;
	if (setrlimit(RLIMIT_MEMLOCK, &small))
		return 12;
	fd = open(UNIFIED_IO_DEVICE, O_RDWR);
	if (fd < 0)
		return 13;
	ut_setup_init(&s, SQ, 0, 64 << 10, BIG_DATA, 0);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	if (ret != -ENOMEM) {
		fprintf(stderr, "# SETUP %llu bytes over RLIMIT_MEMLOCK 64K: %d, want %d\n",
			BIG_DATA, ret, -ENOMEM);
		return 14;
	}
	/* Only the limit was in the way (raising it needs CAP_SYS_RESOURCE). */
	if (setrlimit(RLIMIT_MEMLOCK, &big))
		return 0;
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	if (ret) {
		fprintf(stderr, "# SETUP under a 64M limit: %d\n", ret);
		return 15;
	}
	close(fd);
	/*
	 * The charge goes back on close: with room for one region at a
	 * time, five in a row work.
	 */
	big.rlim_cur = big.rlim_max = BIG_DATA + (4ULL << 20);
	if (setrlimit(RLIMIT_MEMLOCK, &big))
		return 16;
	for (int i = 0; i < 5; i++) {
		fd = open(UNIFIED_IO_DEVICE, O_RDWR);
		if (fd < 0)
			return 17;
		ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
		close(fd);
		if (ret) {
			fprintf(stderr, "# region %d under a %llu limit: %d (charge not returned?)\n",
				i, (unsigned long long)big.rlim_cur, ret);
			return 18;
		}
	}
	return 0;
}

TEST(rlimit_memlock_enomem)
{
	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, ut_in_child(memlock_child, NULL));
}

/*
 * A SETUP refused for RLIMIT_MEMLOCK charges nothing: with room for one
 * region, one refused attempt in between, the next region still fits once
 * the first is gone.
 */
static int memlock_refusal_child(void *arg)
{
	struct rlimit lim = { BIG_DATA + (2ULL << 20), BIG_DATA + (2ULL << 20) };
	bool map_first = arg;
	struct unified_io_setup s;
	void *map = MAP_FAILED;
	size_t len = 0;
	int a, b, c, ret;

	if (ut_drop_cap(CAP_IPC_LOCK) && ut_has_cap(CAP_IPC_LOCK))
		return 10;
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return 11;
	a = open(UNIFIED_IO_DEVICE, O_RDWR);
	if (a < 0)
		return 12;
	ut_setup_init(&s, SQ, 0, 64 << 10, BIG_DATA, 0);
	ret = ut_ioctl(a, UNIFIED_IO_SETUP, &s);
	if (ret) {
		fprintf(stderr, "# first region: %d\n", ret);
		return 13;
	}
	len = s.layout.region_size;
	if (map_first) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
		if (map == MAP_FAILED)
			return 16;
	}
	/* Each attempt on a file opened while the first region exists. */
	for (int i = 0; i < 3; i++) {
		b = open(UNIFIED_IO_DEVICE, O_RDWR);
		if (b < 0)
			return 12;
		ut_setup_init(&s, SQ, 0, 64 << 10, BIG_DATA, 0);
		ret = ut_ioctl(b, UNIFIED_IO_SETUP, &s);
		close(b);
		if (ret != -ENOMEM) {
			fprintf(stderr, "# second region over the limit: %d, want %d\n",
				ret, -ENOMEM);
			return 14;
		}
	}
	if (map != MAP_FAILED)
		munmap(map, len);
	close(a);
	c = open(UNIFIED_IO_DEVICE, O_RDWR);
	if (c < 0)
		return 12;
	ut_setup_init(&s, SQ, 0, 64 << 10, BIG_DATA, 0);
	ret = ut_ioctl(c, UNIFIED_IO_SETUP, &s);
	close(c);
	if (ret) {
		fprintf(stderr, "# region after the refused ones were closed: %d (refused SETUP left a charge)\n",
			ret);
		return 15;
	}
	return 0;
}

TEST(rlimit_memlock_refusal_uncharged)
{
	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, ut_in_child(memlock_refusal_child, NULL));
}

/* The same with the first region mapped while the refusals happen. */
TEST(rlimit_memlock_refusal_uncharged_mapped)
{
	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, ut_in_child(memlock_refusal_child, (void *)1));
}

/* With CAP_IPC_LOCK the limit does not apply. */
static int memlock_cap_child(void *arg)
{
	struct rlimit small = { 64 << 10, 64 << 10 };
	int ret;

	if (setrlimit(RLIMIT_MEMLOCK, &small))
		return 12;
	ret = setup_and_close(64 << 10, BIG_DATA);
	if (ret > 0)
		return 13;
	if (ret) {
		fprintf(stderr, "# SETUP with CAP_IPC_LOCK over RLIMIT_MEMLOCK: %d\n", ret);
		return 14;
	}
	return 0;
}

TEST(rlimit_memlock_cap_ipc_lock)
{
	UT_REQUIRE_DEVICE();
	if (!ut_has_cap(CAP_IPC_LOCK))
		SKIP(return, "no CAP_IPC_LOCK");
	ASSERT_EQ(0, ut_in_child(memlock_cap_child, NULL));
}

/*
 * The charge of a region whose pages the stack still holds for a SEND
 * outlives the region: closed with a send in flight to a peer that does not
 * read, its memory stays charged (a second region does not fit) until the
 * peer reads and the notification comes; then it fits.
 */
#define SEND_DATA	(1ULL << 20)

static int memlock_send_child(void *arg)
{
	struct rlimit lim = { SEND_DATA + (1ULL << 20), SEND_DATA + (1ULL << 20) };
	struct unified_io_desc d = { .opcode = UNIFIED_IO_OP_ALLOC, .owner = 1 };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int rcvbuf = 4096, fd, ls, cs, rs, ret = -1;
	struct unified_io_setup s;
	struct unified_io_cqe *cq;
	__u32 *cq_tail;
	char drain[4096];
	size_t got = 0, sent;
	uint8_t *map;

	if (ut_drop_cap(CAP_IPC_LOCK) && ut_has_cap(CAP_IPC_LOCK))
		return 10;
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return 11;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || cs < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) ||
	    connect(cs, (struct sockaddr *)&a, sizeof(a)))
		return 12;
	rs = accept(ls, NULL, NULL);
	if (rs < 0)
		return 12;

	fd = open(UNIFIED_IO_DEVICE, O_RDWR);
	if (fd < 0)
		return 13;
	ut_setup_init(&s, SQ, 0, 64 << 10, SEND_DATA, 0);
	if (ut_ioctl(fd, UNIFIED_IO_SETUP, &s))
		return 14;
	map = mmap(NULL, s.layout.region_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 15;
	cq = (void *)(map + s.layout.desc_off + s.layout.cq.array);
	cq_tail = (__u32 *)(map + s.layout.cq.tail);
	if (ut_submit_inline(fd, &d) != 1 || *cq_tail != 1 || cq[0].res <= 0)
		return 16;
	/* 64 KiB to a peer with a 4 KiB receive buffer that does not read. */
	d = (struct unified_io_desc){ .opcode = UNIFIED_IO_OP_SEND, .owner = 1,
				      .addr = cq[0].addr, .len = 64 << 10 };
	d.net.fd = cs;
	if (ut_submit_inline(fd, &d) != 1 || *cq_tail != 2 || cq[1].res <= 0)
		return 17;
	sent = cq[1].res;
	munmap(map, s.layout.region_size);
	close(fd);

	/* Still pinned by the stack: still charged. */
	ret = setup_and_close(64 << 10, SEND_DATA);
	if (ret != -ENOMEM) {
		fprintf(stderr, "# region while the last one's send is in flight: %d, want %d\n",
			ret, -ENOMEM);
		return 18;
	}
	/* The peer reads; the notification ends the charge. */
	while (got < sent) {
		ssize_t n = recv(rs, drain, sizeof(drain), 0);

		if (n <= 0)
			return 19;
		got += n;
	}
	for (int i = 0; i < 100 && (ret = setup_and_close(64 << 10, SEND_DATA)); i++)
		usleep(50000);
	if (ret) {
		fprintf(stderr, "# region after the send was released: %d\n", ret);
		return 20;
	}
	close(rs);
	close(cs);
	close(ls);
	return 0;
}

TEST(rlimit_memlock_send_in_flight)
{
	struct unified_io_info info;
	int fd;

	UT_REQUIRE_DEVICE();
	fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ut_get_info(fd, &info));
	close(fd);
	if (!(info.config.features & UNIFIED_IO_FEAT_NET_SEND))
		SKIP(return, "no UNIFIED_IO_FEAT_NET_SEND");
	ASSERT_EQ(0, ut_in_child(memlock_send_child, NULL));
}

/*
 * The charge belongs to the user (user_struct locked_vm), not to the mm:
 * neither exec() nor another process of the same user escapes it.
 *
 * A child without CAP_IPC_LOCK, under RLIMIT_MEMLOCK EXEC_LIMIT, sets up a
 * region of most of the limit on an fd it keeps across exec(). A fork of it
 * (same user, its own mm) cannot set up more than what is left. The child
 * then exec()s this binary with EXEC_ENV set; the new image, before the
 * harness runs (memlock_exec_hook()), finds a second region of the same size
 * refused with ENOMEM while the inherited fd is open, and accepted once it
 * has closed that fd. Results travel through exit statuses. The test runs
 * as root in the guest, where no other region of uid 0 is charged while it
 * runs (root keeps CAP_IPC_LOCK everywhere else).
 */
#define EXEC_ENV	"UT_ABI_MEMLOCK_AFTER_EXEC"
#define EXEC_BUF	(64 << 10)
#define EXEC_LIMIT	(BIG_DATA + (4ULL << 20))

/* In the image exec()ed by memlock_exec_child(): "<fd>:<data_size>". */
static int memlock_after_exec(const char *arg)
{
	struct unified_io_setup s;
	struct unified_io_info info;
	unsigned long long data;
	struct rlimit lim;
	int inherited, fd, ret;

	if (sscanf(arg, "%d:%llu", &inherited, &data) != 2)
		return 20;
	/* exec() gave root its capabilities back; drop CAP_IPC_LOCK again. */
	ret = ut_drop_cap(CAP_IPC_LOCK);
	if (ret || ut_has_cap(CAP_IPC_LOCK)) {
		fprintf(stderr, "# after exec: cannot drop CAP_IPC_LOCK: %d\n", ret);
		return 21;
	}
	if (getrlimit(RLIMIT_MEMLOCK, &lim) || lim.rlim_cur != EXEC_LIMIT)
		return 22;
	/* The inherited fd is still the context with the first region. */
	ret = ut_get_info(inherited, &info);
	if (ret || info.config.data_size != data) {
		fprintf(stderr, "# after exec: inherited fd %d: GET_INFO %d, data_size %llu\n",
			inherited, ret, (unsigned long long)info.config.data_size);
		return 23;
	}
	fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 24;
	ut_setup_init(&s, SQ, 0, EXEC_BUF, data, 0);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	if (ret != -ENOMEM) {
		fprintf(stderr, "# after exec, first region still open: SETUP of %llu bytes under a %llu limit: %d (%s), want %d (ENOMEM): exec escaped the charge\n",
			data, EXEC_LIMIT, ret, strerror(-ret), -ENOMEM);
		return 25;
	}
	if (close(inherited))
		return 26;
	ut_setup_init(&s, SQ, 0, EXEC_BUF, data, 0);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	if (ret) {
		fprintf(stderr, "# after exec, first region closed: SETUP of %llu bytes: %d (%s), want 0: charge not returned\n",
			data, ret, strerror(-ret));
		return 27;
	}
	close(fd);
	return 0;
}

/* Before the harness: the exec()ed image of memlock_exec_child(). */
__attribute__((constructor)) static void memlock_exec_hook(void)
{
	const char *arg = getenv(EXEC_ENV);

	if (arg)
		_exit(memlock_after_exec(arg));
}

/* In a fork of memlock_exec_child(): same user, same limit, another mm. */
static int memlock_same_user(__u64 first_region)
{
	__u64 left = EXEC_LIMIT - first_region;
	int ret;

	/* A region of the same size as the first. */
	ret = setup_and_close(EXEC_BUF, BIG_DATA);
	if (ret > 0)
		return 40;
	if (ret != -ENOMEM) {
		fprintf(stderr, "# other process of the user: SETUP of %llu bytes: %d, want %d (ENOMEM)\n",
			BIG_DATA, ret, -ENOMEM);
		return 41;
	}
	/* Under the limit on its own, over what the first region left. */
	ret = setup_and_close(EXEC_BUF, 4ULL << 20);
	if (ret > 0)
		return 40;
	if (ret != -ENOMEM) {
		fprintf(stderr, "# other process of the user: SETUP of 4M with %llu bytes left: %d, want %d (ENOMEM)\n",
			(unsigned long long)left, ret, -ENOMEM);
		return 42;
	}
	/* What is left is usable. */
	ret = setup_and_close(EXEC_BUF, 1ULL << 20);
	if (ret > 0)
		return 40;
	if (ret) {
		fprintf(stderr, "# other process of the user: SETUP of 1M with %llu bytes left: %d, want 0\n",
			(unsigned long long)left, ret);
		return 43;
	}
	return 0;
}

static int memlock_exec_child(void *arg)
{
	struct rlimit lim = { EXEC_LIMIT, EXEC_LIMIT };
	struct unified_io_setup s;
	char env[64];
	char *argv[] = { "abi", NULL };
	char *envp[] = { env, NULL };
	int fd, ret, status;
	pid_t pid;

	ret = ut_drop_cap(CAP_IPC_LOCK);
	if ((ret && ret != -EPERM) || ut_has_cap(CAP_IPC_LOCK))
		return 10;
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return 11;
	/* No O_CLOEXEC: the exec()ed image inherits the region. */
	fd = open(UNIFIED_IO_DEVICE, O_RDWR);
	if (fd < 0)
		return 12;
	ut_setup_init(&s, SQ, 0, EXEC_BUF, BIG_DATA, 0);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	if (ret) {
		fprintf(stderr, "# first region of %llu bytes under a %llu limit: %d\n",
			BIG_DATA, EXEC_LIMIT, ret);
		return 13;
	}
	/* More than half the limit, and less than 4M left. */
	if (s.layout.region_size * 2 <= EXEC_LIMIT ||
	    s.layout.region_size > EXEC_LIMIT ||
	    EXEC_LIMIT - s.layout.region_size >= (4ULL << 20))
		return 14;

	pid = fork();
	if (pid < 0)
		return 15;
	if (pid == 0)
		_exit(memlock_same_user(s.layout.region_size));
	if (waitpid(pid, &status, 0) != pid)
		return 16;
	if (!WIFEXITED(status))
		return 17;
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);

	snprintf(env, sizeof(env), "%s=%d:%llu", EXEC_ENV, fd,
		 (unsigned long long)BIG_DATA);
	execve("/proc/self/exe", argv, envp);
	fprintf(stderr, "# execve /proc/self/exe: %s\n", strerror(errno));
	return 18;
}

TEST(rlimit_memlock_charged_to_user)
{
	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, ut_in_child(memlock_exec_child, NULL));
}

/* --- concurrent SETUP -------------------------------------------------------- */

struct setup_racer {
	int fd;
	pthread_barrier_t *bar;
	int *done;
	struct unified_io_setup s;
	int ret;
};

static void *setup_race_thread(void *arg)
{
	struct setup_racer *r = arg;

	pthread_barrier_wait(r->bar);
	r->ret = ut_ioctl(r->fd, UNIFIED_IO_SETUP, &r->s);
	__atomic_add_fetch(r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Two threads SETUP the same fd at once: exactly one gets 0, the other
 * EBUSY, and the region is the winner's and works. Meanwhile this thread
 * looks at the context: GET_INFO shows either no region or the whole
 * winner's layout, and mmap() is EBADFD until the region is ready.
 */
TEST(setup_concurrent_one_wins)
{
	int wins[2] = {};

	for (int iter = 0; iter < 20; iter++) {
		struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
		struct unified_io_region_layout seen, zero = {};
		struct setup_racer racer[2];
		struct unified_io_info info;
		struct unified_io_cqe cqe;
		struct setup_racer *win;
		pthread_barrier_t bar;
		struct ut_region r;
		bool have_seen = false;
		int bad_info = 0, bad_map = 0, maps = 0;
		pthread_t t[2];
		int fd, done = 0;

		UT_OPEN(fd);
		ASSERT_EQ(0, pthread_barrier_init(&bar, NULL, 3));
		for (int i = 0; i < 2; i++) {
			racer[i] = (struct setup_racer){ .fd = fd, .bar = &bar,
							 .done = &done, .ret = 1 };
			/* Different geometries, so the region tells who won. */
			ut_setup_init(&racer[i].s, SQ << i, 0, BUF,
				       (256ULL * BUF) << i, 0);
			ASSERT_EQ(0, pthread_create(&t[i], NULL, setup_race_thread,
						    &racer[i]));
		}
		pthread_barrier_wait(&bar);
		while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < 2) {
			void *p;

			if (ut_get_info(fd, &info)) {
				bad_info++;
			} else if (info.config.data_size == 0) {
				/* No region yet: nothing half-published. */
				if (memcmp(&info.layout, &zero, sizeof(zero)) ||
				    info.config.sq_entries || info.config.nr_bufs)
					bad_info++;
			} else {
				if (info.layout.region_size == 0 ||
				    info.layout.data_size != info.config.data_size ||
				    info.config.nr_bufs != info.layout.nr_bufs)
					bad_info++;
				seen = info.layout;
				have_seen = true;
			}
			p = mmap(NULL, UT_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
			if (p != MAP_FAILED) {
				maps++;
				munmap(p, UT_PAGE_SIZE);
			} else if (errno != EBADFD) {
				bad_map++;
			}
		}
		for (int i = 0; i < 2; i++) {
			ASSERT_EQ(0, pthread_join(t[i], NULL));
		}
		pthread_barrier_destroy(&bar);

		/* Exactly one winner, one EBUSY. */
		ASSERT_TRUE((racer[0].ret == 0 && racer[1].ret == -EBUSY) ||
			    (racer[0].ret == -EBUSY && racer[1].ret == 0))
			TH_LOG("iteration %d: SETUP returned %d and %d", iter,
			       racer[0].ret, racer[1].ret);
		win = racer[0].ret == 0 ? &racer[0] : &racer[1];
		wins[win - racer]++;
		EXPECT_EQ(0, bad_info) TH_LOG("iteration %d", iter);
		EXPECT_EQ(0, bad_map) TH_LOG("iteration %d", iter);
		if (have_seen) {
			EXPECT_EQ(0, memcmp(&seen, &win->s.layout, sizeof(seen)));
		}

		/* The context is the winner's. */
		ASSERT_EQ(0, ut_get_info(fd, &info));
		EXPECT_EQ(win->s.data_size, info.config.data_size);
		EXPECT_EQ(win->s.sq_entries, info.config.sq_entries);
		EXPECT_EQ(0, memcmp(&win->s.layout, &info.layout, sizeof(info.layout)));
		/* A third SETUP is still EBUSY. */
		EXPECT_EQ(-EBUSY, ut_ioctl(fd, UNIFIED_IO_SETUP, &racer[0].s));

		/* And it works: a NOP round trip through the SQ and inline. */
		memset(&r, 0, sizeof(r));
		r.fd = fd;
		r.setup = win->s;
		r.l = win->s.layout;
		r.map_len = r.l.region_size;
		r.map = mmap(NULL, r.map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			     fd, 0);
		ASSERT_NE(MAP_FAILED, r.map) TH_LOG("mmap: %s", strerror(errno));
		ut_region_wire(&r);
		EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, r.config->abi_version);
		EXPECT_EQ(win->s.data_size, r.config->data_size);
		nop.user_data = 0x5e700 + iter;
		EXPECT_EQ(0, ut_do(&r, &nop, &cqe));
		EXPECT_EQ(0, ut_do_inline(&r, &nop, &cqe));
		ut_region_destroy(&r);
		(void)maps;
	}
	TH_LOG("first thread won %d times, second %d", wins[0], wins[1]);
}

/* --- SUBMIT and COMPLETE arguments ------------------------------------------ */

/* Queue @n NOPs in the SQ without submitting them. */
static void queue_nops(struct __test_metadata *_metadata, struct unio_queue *q,
		       int n)
{
	for (int i = 0; i < n; i++) {
		struct unified_io_desc *d = unio_get_sqe(q);

		ASSERT_NE(NULL, d);
		unio_prep_nop(d, 1000 + i);
	}
	unio_sq_flush(q);
}

TEST_F(region, submit_success)
{
	struct unio_queue *q = &self->r.q;
	struct unified_io_info info;

	/* Nothing queued: 0, nothing consumed. */
	ASSERT_EQ(0, ut_submit(self->r.fd, 0));
	ASSERT_EQ(0, ut_submit(self->r.fd, 8));
	queue_nops(_metadata, q, 5);
	ASSERT_EQ(0, ut_submit(self->r.fd, 0));
	ASSERT_EQ(0U, *q->sq.khead);
	/* to_submit bounds the batch; the rest waits. */
	ASSERT_EQ(2, ut_submit(self->r.fd, 2));
	ASSERT_EQ(2U, *q->sq.khead);
	ASSERT_EQ(3, ut_submit(self->r.fd, 100));
	ASSERT_EQ(5U, *q->sq.khead);
	ASSERT_EQ(5U, unio_cq_ready(q));
	for (int i = 0; i < 5; i++) {
		struct unified_io_cqe *c = unio_peek_cqe(q);

		ASSERT_EQ(1000ULL + i, c->user_data);
		ASSERT_EQ(0, c->res);
		ASSERT_EQ(UNIFIED_IO_OP_NOP, c->opcode);
		unio_cqe_seen(q);
	}
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(2ULL, info.stats.submit_calls);
	EXPECT_EQ(5ULL, info.stats.sqes);
	EXPECT_EQ(5ULL, info.stats.cqes);
}

TEST_F(region, submit_bad_args_einval)
{
	struct unio_queue *q = &self->r.q;
	struct unified_io_submit sub;
	struct unified_io_info info;

	queue_nops(_metadata, q, 2);

	/* Unknown flags. */
	for (__u32 f = 1 << 1; f; f <<= 1) {
		memset(&sub, 0, sizeof(sub));
		sub.size = sizeof(sub);
		sub.flags = f;
		sub.to_submit = 2;
		EXPECT_EQ(-EINVAL, ut_ioctl(self->r.fd, UNIFIED_IO_SUBMIT, &sub))
			TH_LOG("flags %#x", f);
	}
	/* resv */
	memset(&sub, 0, sizeof(sub));
	sub.size = sizeof(sub);
	sub.to_submit = 2;
	sub.resv = 1;
	EXPECT_EQ(-EINVAL, ut_ioctl(self->r.fd, UNIFIED_IO_SUBMIT, &sub));
	/* SQ mode: desc Must be 0, byte by byte. */
	for (size_t i = 0; i < sizeof(sub.desc); i++) {
		memset(&sub, 0, sizeof(sub));
		sub.size = sizeof(sub);
		sub.to_submit = 2;
		((__u8 *)&sub.desc)[i] = 0x80;
		EXPECT_EQ(-EINVAL, ut_ioctl(self->r.fd, UNIFIED_IO_SUBMIT, &sub))
			TH_LOG("desc byte %zu in SQ mode", i);
	}
	/* INLINE: to_submit Must be 0. */
	memset(&sub, 0, sizeof(sub));
	sub.size = sizeof(sub);
	sub.flags = UNIFIED_IO_SUBMIT_F_INLINE;
	sub.to_submit = 1;
	EXPECT_EQ(-EINVAL, ut_ioctl(self->r.fd, UNIFIED_IO_SUBMIT, &sub));
	sub.to_submit = 0;
	sub.resv = 1;
	EXPECT_EQ(-EINVAL, ut_ioctl(self->r.fd, UNIFIED_IO_SUBMIT, &sub));

	/* Nothing was consumed or posted. */
	EXPECT_EQ(0U, *q->sq.khead);
	EXPECT_EQ(0U, unio_cq_ready(q));
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(0ULL, info.stats.sqes);
	EXPECT_EQ(0ULL, info.stats.cqes);
	EXPECT_EQ(0ULL, info.stats.submit_calls);

	ASSERT_EQ(2, ut_submit(self->r.fd, 2));
}

TEST_F(region, inline_submit_success)
{
	struct unio_queue *q = &self->r.q;
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP,
				       .user_data = 0xfeedface12345678ULL };
	struct unified_io_cqe *c;

	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	ASSERT_EQ(1U, unio_cq_ready(q));
	c = unio_peek_cqe(q);
	EXPECT_EQ(nop.user_data, c->user_data);
	EXPECT_EQ(0, c->res);
	EXPECT_EQ(0ULL, c->addr);
	EXPECT_EQ(UNIFIED_IO_OP_NOP, c->opcode);
	EXPECT_TRUE(all_bytes(c->resv, sizeof(c->resv), 0));
	/* The SQ was not touched. */
	EXPECT_EQ(0U, *q->sq.khead);
	unio_cqe_seen(q);
}

TEST_F(region, complete_args)
{
	struct unified_io_complete c;
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	__u32 cq = self->r.l.cq.ring_entries;
	__u32 ready;
	__u64 t0;

	/* Nothing ready, no wait. */
	ASSERT_EQ(0, ut_complete(self->r.fd, 0, 0, &ready));
	ASSERT_EQ(0U, ready);

	/* flags, resv */
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	for (__u32 f = 1; f; f <<= 1) {
		c.flags = f;
		EXPECT_EQ(-EINVAL, ut_ioctl(self->r.fd, UNIFIED_IO_COMPLETE, &c))
			TH_LOG("flags %#x", f);
	}
	c.flags = 0;
	c.resv = 1;
	EXPECT_EQ(-EINVAL, ut_ioctl(self->r.fd, UNIFIED_IO_COMPLETE, &c));

	/* min_complete above the CQ size. */
	EXPECT_EQ(-EINVAL, ut_complete(self->r.fd, cq + 1, 1000000, &ready));
	EXPECT_EQ(-EINVAL, ut_complete(self->r.fd, ~0U, 1000000, &ready));
	EXPECT_EQ(-EINVAL, ut_complete(self->r.fd, cq + 1, 0, &ready));

	/* min_complete == CQ size is legal: times out, ready written. */
	t0 = ut_now_ns();
	EXPECT_EQ(-ETIME, ut_complete(self->r.fd, cq, 20 * 1000000ULL, &ready));
	EXPECT_LE(t0 + 20 * 1000000ULL, ut_now_ns());
	EXPECT_EQ(0U, ready);

	/* Two ready, three wanted: ETIME with ready == 2. */
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	EXPECT_EQ(-ETIME, ut_complete(self->r.fd, 3, 1000000, &ready));
	EXPECT_EQ(2U, ready);
	/* Enough ready: returns at once with the count. */
	EXPECT_EQ(2, ut_complete(self->r.fd, 2, 0, &ready));
	EXPECT_EQ(2U, ready);
	EXPECT_EQ(2, ut_complete(self->r.fd, 1, 1000000, &ready));
	EXPECT_EQ(2U, ready);
	EXPECT_EQ(2, ut_complete(self->r.fd, 0, 0, &ready));
	EXPECT_EQ(2U, ready);
	/* COMPLETE does not consume: still two. */
	EXPECT_EQ(2U, unio_cq_ready(&self->r.q));
	unio_cq_advance(&self->r.q, 2);
	EXPECT_EQ(0, ut_complete(self->r.fd, 0, 0, &ready));
	EXPECT_EQ(0U, ready);
}

TEST_F(region, get_info_after_setup)
{
	struct unified_io_info info;

	memset(&info, poison, sizeof(info));
	info.size = sizeof(info);
	info.flags = 0;
	ASSERT_EQ(0, ut_ioctl(self->r.fd, UNIFIED_IO_GET_INFO, &info));
	EXPECT_EQ(0, memcmp(&self->r.l, &info.layout, sizeof(info.layout)));
	EXPECT_EQ((__u32)SQ, info.config.sq_entries);
	EXPECT_EQ((__u32)CQ, info.config.cq_entries);
	EXPECT_EQ((__u32)BUF, info.config.buf_size);
	EXPECT_EQ((__u32)(DATA / BUF), info.config.nr_bufs);
	EXPECT_EQ((__u64)DATA, info.config.data_size);
	EXPECT_EQ(0U, info.config.setup_flags);
	EXPECT_EQ((__u32)(DATA / BUF), info.stats.bufs_free);
	EXPECT_EQ(0U, info.stats.resv);
	for (int i = 0; i < 8; i++) {
		EXPECT_EQ(0ULL, info.stats.ops[i]);
	}
	ut_check_config(&info.config, self->r.config);
}

TEST_HARNESS_MAIN
