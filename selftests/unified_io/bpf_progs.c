// SPDX-License-Identifier: GPL-2.0
/*
 * The region programs of bpf/ (crc32c, filter, redact, stats) run by
 * UNIFIED_IO_OP_BPF over region buffers, checked byte for byte through the
 * mapping: every CRC against a bitwise user-space CRC32C, the filter's
 * verdicts, that redaction changes exactly its range, that the stats maps
 * and GET_INFO's per-program counters agree with what was run; chains
 * (stamp then verify, stamp with append then verify with strip, a drop in
 * the middle) and the completion's length after bpf_xdp_adjust_tail.
 *
 * Programs are loaded from their libbpf skeletons (open, set the rodata
 * tunables, load) and attached with libunifiedio 1.2's unio_bpf_attach();
 * the test links the shared library, so it also checks the
 * LIBUNIFIEDIO_1.2 node. Each variant is a buffer size: one page, 64 KiB
 * (the programs' direct packet access window is [0, 0xffff)) and 256 KiB
 * and 2 MiB, where bytes beyond the window go through the xdp helpers.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ut.h"
#include "unified_io_progs.h"

#include "crc32c.skel.h"
#include "filter.skel.h"
#include "redact.skel.h"
#include "stats.skel.h"

#define OWNER		0x51
#define OWNER2		0x52
#define NR_BUFS		4
#define SEED		0x5eedf00dULL

static uint32_t crc32c_sw(const uint8_t *p, size_t n)
{
	uint32_t c = ~0U;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
	}
	return ~c;
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

FIXTURE(bpf) {
	struct unio_region *r;
	struct unio_queue *q;
	uint32_t buf_size;
	uint64_t off[NR_BUFS];
	uint8_t *buf[NR_BUFS];
	uint8_t *shadow;	/* expected content of one buffer */
	struct stats_bpf *stats;
	uint64_t user_data;
};

FIXTURE_VARIANT(bpf) {
	uint32_t buf_size;
};

FIXTURE_VARIANT_ADD(bpf, page) { .buf_size = 4096 };
FIXTURE_VARIANT_ADD(bpf, buf64k) { .buf_size = 64 << 10 };
FIXTURE_VARIANT_ADD(bpf, buf256k) { .buf_size = 256 << 10 };
FIXTURE_VARIANT_ADD(bpf, buf2m) { .buf_size = 2 << 20 };

FIXTURE_SETUP(bpf)
{
	UNIO_OPTS(opts, .sq_entries = 16, .buf_size = variant->buf_size,
		 .data_size = (uint64_t)variant->buf_size * NR_BUFS);
	int ret;

	self->r = NULL;
	self->stats = NULL;
	self->shadow = NULL;
	ret = unio_region_create(&opts, &self->r);
	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)
		SKIP(return, "%s: %s", UNIFIED_IO_DEVICE, strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("region: %s", strerror(-ret));
	if (!ut_has_cap(CAP_BPF) && !ut_has_cap(CAP_SYS_ADMIN))
		SKIP(return, "needs CAP_BPF");
	self->q = unio_region_queue(self->r);
	self->buf_size = variant->buf_size;
	for (int i = 0; i < NR_BUFS; i++) {
		ASSERT_EQ(0, unio_buf_alloc(self->q, i & 1 ? OWNER2 : OWNER,
					    &self->off[i]));
		self->buf[i] = unio_data_ptr(self->q, self->off[i]);
	}
	self->shadow = malloc(self->buf_size);
	ASSERT_NE(NULL, self->shadow);
	self->user_data = 1;
}

FIXTURE_TEARDOWN(bpf)
{
	stats_bpf__destroy(self->stats);
	free(self->shadow);
	unio_region_destroy(self->r);
}

static uint16_t owner_of(int i)
{
	return i & 1 ? OWNER2 : OWNER;
}

/* Buffer @i and the shadow get the pattern of @seed over the whole buffer. */
static void fill(FIXTURE_DATA(bpf) *self, int i, uint64_t seed)
{
	for (uint32_t k = 0; k < self->buf_size; k++)
		self->shadow[k] = ut_pattern(seed, k);
	memcpy(self->buf[i], self->shadow, self->buf_size);
}

/* Buffer @i equals the shadow, every byte of it; logs the first mismatch. */
#define EXPECT_SHADOW(self, i) do {					\
	size_t __k;							\
									\
	for (__k = 0; __k < (self)->buf_size; __k++)			\
		if ((self)->buf[i][__k] != (self)->shadow[__k])		\
			break;						\
	EXPECT_EQ((self)->buf_size, __k)				\
		TH_LOG("byte %zu: %#x, expected %#x", __k,		\
		       (self)->buf[i][__k], (self)->shadow[__k]);	\
} while (0)

/* Run the chain over @len bytes of buffer @i; returns the completion. */
static struct unified_io_cqe __run(struct __test_metadata *_metadata,
				   FIXTURE_DATA(bpf) *self, int i, uint32_t len)
{
	struct unified_io_desc *d;
	struct unified_io_cqe *c, cqe = {};
	uint64_t ud = self->user_data++;

	d = unio_get_sqe(self->q);
	EXPECT_NE(NULL, d);
	if (!d)
		return cqe;
	unio_prep_bpf(d, owner_of(i), self->off[i], len, ud);
	EXPECT_EQ(1, unio_submit(self->q));
	EXPECT_EQ(1U, unio_cq_ready(self->q));
	c = unio_peek_cqe(self->q);
	EXPECT_NE(NULL, c);
	if (!c)
		return cqe;
	cqe = *c;
	unio_cqe_seen(self->q);
	EXPECT_EQ(ud, cqe.user_data);
	EXPECT_EQ(UNIFIED_IO_OP_BPF, cqe.opcode);
	EXPECT_EQ(self->off[i], cqe.addr);
	return cqe;
}

#define run(i, len)	__run(_metadata, self, i, len)

/* A passed completion of length @len, or a drop by program @idx. */
#define EXPECT_PASS(cqe, len) do {					\
	EXPECT_EQ((int)(len), (cqe).res);				\
	EXPECT_EQ(0U, (cqe).flags);					\
} while (0)

#define EXPECT_DROP(cqe, idx) do {					\
	unsigned int __idx = ~0U;					\
									\
	EXPECT_EQ(0, (cqe).res);					\
	EXPECT_TRUE(unio_cqe_bpf_dropped(&(cqe), &__idx));		\
	EXPECT_EQ((unsigned int)(idx), __idx);				\
} while (0)

/* Load a program from its skeleton (tunables set by @SET) and attach it. */
#define ATTACH(name, prog, id, SET) do {				\
	struct name##_bpf *__s = name##_bpf__open();			\
	int __ret;							\
									\
	ASSERT_NE(NULL, __s);						\
	SET;								\
	__ret = name##_bpf__load(__s);					\
	ASSERT_EQ(0, __ret) TH_LOG("load " #name ": %d", __ret);	\
	__ret = unio_bpf_attach(self->r,				\
				bpf_program__fd(__s->progs.prog), (id));\
	ASSERT_EQ(0, __ret) TH_LOG("attach " #name ": %s",		\
				   strerror(-__ret));			\
	/* The region holds its own reference. */			\
	name##_bpf__destroy(__s);					\
} while (0)

#define ATTACH_CRC(mode, flags, id)					\
	ATTACH(crc32c, unio_crc32c, id,					\
	       (__s->rodata->crc_mode = (mode),				\
		__s->rodata->crc_flags = (flags)))

/* Lengths worth trying in a buffer of @buf_size, at most @max of them. */
static unsigned int lengths(uint32_t buf_size, uint32_t *out)
{
	static const uint32_t cand[] = {
		4, 5, 11, 12, 13, 100, 4095, 4096, 65531, 65535, 65536, 65539,
		65540, 65547, 100003, 262144, 1048576 + 17,
	};
	unsigned int n = 0;

	for (unsigned int k = 0; k < UT_ARRAY_SIZE(cand); k++)
		if (cand[k] < buf_size)
			out[n++] = cand[k];
	out[n++] = buf_size - 1;
	out[n++] = buf_size;
	return n;
}

TEST(crc32c_check_value)
{
	EXPECT_EQ(UNIO_CRC32C_CHECK, crc32c_sw((const uint8_t *)"123456789", 9));
}

/* The known vector through the program: "123456789" and a trailer. */
TEST_F(bpf, crc_vector)
{
	struct unified_io_cqe cqe;
	uint32_t id;

	ATTACH_CRC(UNIO_CRC_STAMP, 0, &id);
	EXPECT_NE(0U, id);
	fill(self, 0, SEED);
	memcpy(self->buf[0], "123456789", 9);
	memcpy(self->shadow, "123456789", 9);
	put_le32(self->shadow + 9, UNIO_CRC32C_CHECK);
	cqe = run(0, 13);
	EXPECT_PASS(cqe, 13);
	EXPECT_EQ(UNIO_CRC32C_CHECK, get_le32(self->buf[0] + 9));
	EXPECT_SHADOW(self, 0);
}

/* STAMP writes the CRC of [0, len - 4) into [len - 4, len), nothing else. */
TEST_F(bpf, crc_stamp)
{
	uint32_t len[32], n = lengths(self->buf_size, len);
	struct unified_io_cqe cqe;

	ATTACH_CRC(UNIO_CRC_STAMP, 0, NULL);
	for (unsigned int k = 0; k < n; k++) {
		uint32_t want;

		fill(self, k % NR_BUFS, SEED + k);
		want = crc32c_sw(self->shadow, len[k] - 4);
		put_le32(self->shadow + len[k] - 4, want);
		cqe = run(k % NR_BUFS, len[k]);
		EXPECT_PASS(cqe, len[k]);
		EXPECT_EQ(want, get_le32(self->buf[k % NR_BUFS] + len[k] - 4))
			TH_LOG("len %u", len[k]);
		EXPECT_SHADOW(self, k % NR_BUFS);
	}

	/* No room for a trailer: XDP_ABORTED, nothing written. */
	fill(self, 0, SEED);
	cqe = run(0, 3);
	EXPECT_EQ(-ECANCELED, cqe.res);
	EXPECT_SHADOW(self, 0);
}

/* VERIFY passes a good trailer, drops any corrupted byte, changes nothing. */
TEST_F(bpf, crc_verify)
{
	uint32_t len[32], n = lengths(self->buf_size, len);
	struct unified_io_cqe cqe;

	ATTACH_CRC(UNIO_CRC_VERIFY, 0, NULL);
	for (unsigned int k = 0; k < n; k++) {
		uint32_t l = len[k], pos[5] = { 0, l / 2, l - 5, l - 4, l - 1 };
		int b = k % NR_BUFS;

		fill(self, b, SEED + k);
		put_le32(self->shadow + l - 4, crc32c_sw(self->shadow, l - 4));
		memcpy(self->buf[b], self->shadow, self->buf_size);
		cqe = run(b, l);
		EXPECT_PASS(cqe, l);
		EXPECT_SHADOW(self, b);

		for (unsigned int p = 0; p < UT_ARRAY_SIZE(pos); p++) {
			if (pos[p] >= l)
				continue;
			self->shadow[pos[p]] ^= 0x10;
			self->buf[b][pos[p]] ^= 0x10;
			cqe = run(b, l);
			EXPECT_DROP(cqe, 0);
			EXPECT_SHADOW(self, b);
			self->shadow[pos[p]] ^= 0x10;
			self->buf[b][pos[p]] ^= 0x10;
		}
	}

	/* Shorter than a trailer: dropped. */
	cqe = run(0, 3);
	EXPECT_DROP(cqe, 0);
}

/* A chain: stamp, then verify; GET_INFO counts both programs. */
TEST_F(bpf, crc_chain)
{
	uint32_t len = self->buf_size / 2 + 3, id[2];
	struct unified_io_info info;
	struct unified_io_cqe cqe;

	ATTACH_CRC(UNIO_CRC_STAMP, 0, &id[0]);
	ATTACH_CRC(UNIO_CRC_VERIFY, 0, &id[1]);
	EXPECT_NE(id[0], id[1]);

	fill(self, 1, SEED);
	put_le32(self->shadow + len - 4, crc32c_sw(self->shadow, len - 4));
	cqe = run(1, len);
	EXPECT_PASS(cqe, len);
	EXPECT_SHADOW(self, 1);

	ASSERT_EQ(0, unio_region_get_info(self->r, &info));
	ASSERT_EQ(2U, info.nr_bpf_progs);
	for (int p = 0; p < 2; p++) {
		EXPECT_EQ(id[p], info.bpf_progs[p].prog_id);
		EXPECT_EQ(1U, info.bpf_progs[p].runs);
		EXPECT_EQ(len, info.bpf_progs[p].bytes);
		EXPECT_EQ(1U, info.bpf_progs[p].pass);
		EXPECT_EQ(0U, info.bpf_progs[p].drop);
		EXPECT_EQ(0U, info.bpf_progs[p].aborted);
		EXPECT_EQ(0U, info.bpf_progs[p].other);
	}

	/* Detach the stamp: verify alone now finds the old trailer wrong. */
	EXPECT_EQ(0, unio_bpf_detach(self->r, id[0]));
	EXPECT_EQ(-ENOENT, unio_bpf_detach(self->r, id[0]));
	self->buf[1][0] ^= 1;
	self->shadow[0] ^= 1;
	cqe = run(1, len);
	EXPECT_DROP(cqe, 0);
	EXPECT_SHADOW(self, 1);
	ASSERT_EQ(0, unio_region_get_info(self->r, &info));
	ASSERT_EQ(1U, info.nr_bpf_progs);
	EXPECT_EQ(id[1], info.bpf_progs[0].prog_id);
	EXPECT_EQ(2U, info.bpf_progs[0].runs);
	EXPECT_EQ(1U, info.bpf_progs[0].drop);
	EXPECT_EQ(0, unio_bpf_detach(self->r, id[1]));

	/* Nothing attached. */
	cqe = run(1, len);
	EXPECT_EQ(-ENOENT, cqe.res);
}

/*
 * bpf_xdp_adjust_tail seen in the completion: stamp with append grows the
 * data by the trailer, verify with strip takes it off again.
 */
TEST_F(bpf, crc_append_strip)
{
	uint32_t len = self->buf_size / 4 + 1, id[2];
	struct unified_io_cqe cqe;

	ATTACH_CRC(UNIO_CRC_STAMP, UNIO_CRC_F_APPEND, &id[0]);
	fill(self, 2, SEED);
	put_le32(self->shadow + len, crc32c_sw(self->shadow, len));
	cqe = run(2, len);
	EXPECT_PASS(cqe, len + 4);
	EXPECT_SHADOW(self, 2);

	/* Stamp-append then verify-strip: back to the original length. */
	ATTACH_CRC(UNIO_CRC_VERIFY, UNIO_CRC_F_STRIP, &id[1]);
	fill(self, 2, SEED + 1);
	put_le32(self->shadow + len, crc32c_sw(self->shadow, len));
	cqe = run(2, len);
	EXPECT_PASS(cqe, len);
	EXPECT_SHADOW(self, 2);

	/* Verify-strip alone over what the two left: length - 4. */
	EXPECT_EQ(0, unio_bpf_detach(self->r, id[0]));
	cqe = run(2, len + 4);
	EXPECT_PASS(cqe, len);
	EXPECT_SHADOW(self, 2);

	/* Append on a full buffer: no room to grow, XDP_ABORTED. */
	EXPECT_EQ(0, unio_bpf_detach(self->r, id[1]));
	ATTACH_CRC(UNIO_CRC_STAMP, UNIO_CRC_F_APPEND, NULL);
	fill(self, 2, SEED);
	cqe = run(2, self->buf_size);
	EXPECT_EQ(-ECANCELED, cqe.res);
	EXPECT_SHADOW(self, 2);
}

struct filter_case {
	uint32_t off, len;
	uint64_t value, mask;
	uint32_t invert;
};

/* Set the field of @fc in buffer @b (and the shadow) to @v. */
static void put_field(FIXTURE_DATA(bpf) *self, int b,
		      const struct filter_case *fc, uint64_t v)
{
	for (uint32_t k = 0; k < fc->len; k++) {
		self->shadow[fc->off + k] = v >> (8 * k);
		self->buf[b][fc->off + k] = v >> (8 * k);
	}
}

static void __filter_case(struct __test_metadata *_metadata,
			  FIXTURE_DATA(bpf) *self, const struct filter_case *fc)
{
	uint64_t lmask = fc->len == 8 ? ~0ULL : (1ULL << (8 * fc->len)) - 1;
	uint32_t end = fc->off + fc->len, id;
	struct unified_io_cqe cqe;

	if (end > self->buf_size)
		return;
	ATTACH(filter, unio_filter, &id,
	       (__s->rodata->filter_off = fc->off,
		__s->rodata->filter_len = fc->len,
		__s->rodata->filter_value = fc->value,
		__s->rodata->filter_mask = fc->mask,
		__s->rodata->filter_invert = fc->invert));

	fill(self, 3, SEED + fc->off);

	/* Matching field; bits outside the mask may differ. */
	put_field(self, 3, fc, (fc->value & fc->mask) | (~fc->mask & 0x5a5a5a5a5a5a5a5aULL));
	cqe = run(3, end);
	if (fc->invert)
		EXPECT_DROP(cqe, 0);
	else
		EXPECT_PASS(cqe, end);
	EXPECT_SHADOW(self, 3);

	/* One masked bit off in each byte of the field. */
	for (uint32_t k = 0; k < fc->len; k++) {
		uint64_t bit = (fc->mask & lmask) & (0xffULL << (8 * k));

		if (!bit)
			continue;
		bit &= -bit;
		put_field(self, 3, fc, (fc->value ^ bit) & lmask);
		cqe = run(3, self->buf_size);
		if (fc->invert)
			EXPECT_PASS(cqe, self->buf_size);
		else
			EXPECT_DROP(cqe, 0);
		EXPECT_SHADOW(self, 3);
	}

	/* The data ends inside the field: dropped whatever invert says. */
	put_field(self, 3, fc, fc->value);
	if (end > 1) {
		cqe = run(3, end - 1);
		EXPECT_DROP(cqe, 0);
	}
	EXPECT_EQ(0, unio_bpf_detach(self->r, id));
}

TEST_F(bpf, filter)
{
	const struct filter_case cases[] = {
		{ .off = 0, .len = 1, .value = 0x7e, .mask = ~0ULL },
		{ .off = 0, .len = 4, .value = 0x55494f31, .mask = ~0ULL },
		{ .off = 3, .len = 2, .value = 0xbeef, .mask = 0xff0f },
		{ .off = 17, .len = 8, .value = 0x0123456789abcdefULL, .mask = ~0ULL },
		{ .off = 5, .len = 3, .value = 0x123456, .mask = ~0ULL, .invert = 1 },
		{ .off = 4000, .len = 6, .value = 0xa1b2c3d4e5f6ULL, .mask = 0xffff00ffffffULL },
		{ .off = 65530, .len = 5, .value = 0x1122334455ULL, .mask = ~0ULL },
		{ .off = 65535, .len = 2, .value = 0xcafe, .mask = ~0ULL },
		{ .off = 200000, .len = 8, .value = 0xfeedfacecafebeefULL, .mask = ~0ULL },
	};

	for (unsigned int k = 0; k < UT_ARRAY_SIZE(cases); k++)
		__filter_case(_metadata, self, &cases[k]);
}

/* redact changes exactly [off, min(off + len, data len)) and nothing else. */
TEST_F(bpf, redact)
{
	const struct { uint32_t off, len, dlen; uint8_t fill; } cases[] = {
		{ 0, 1, 100, 0 },
		{ 10, 20, 100, 0 },
		{ 90, 50, 100, 0 },		/* clamped to the data */
		{ 100, 10, 100, 0 },		/* starts at the end: nothing */
		{ 5000, 10, 100, 0 },		/* beyond: nothing */
		{ 7, 4000, 4096, 0xa5 },
		{ 0, 0xffffffff, 4096, 0 },	/* whole data, no overflow */
		{ 65500, 100, 65600, 0 },	/* across the direct window */
		{ 65535, 3, 70000, 0x11 },
		{ 70000, 100000, 262144, 0 },
		{ 1000, 1 << 20, 2 << 20, 0 },
	};
	struct unified_io_cqe cqe;

	for (unsigned int k = 0; k < UT_ARRAY_SIZE(cases); k++) {
		uint32_t dlen = cases[k].dlen, id, end;

		if (dlen > self->buf_size)
			continue;
		ATTACH(redact, unio_redact, &id,
		       (__s->rodata->redact_off = cases[k].off,
			__s->rodata->redact_len = cases[k].len,
			__s->rodata->redact_fill = cases[k].fill));
		fill(self, k % NR_BUFS, SEED + k);
		if (cases[k].off >= dlen)
			end = 0;
		else if (cases[k].len > dlen - cases[k].off)
			end = dlen;
		else
			end = cases[k].off + cases[k].len;
		for (uint32_t b = cases[k].off; b < end; b++)
			self->shadow[b] = cases[k].fill;
		cqe = run(k % NR_BUFS, dlen);
		EXPECT_PASS(cqe, dlen);
		EXPECT_SHADOW(self, k % NR_BUFS);
		EXPECT_EQ(0, unio_bpf_detach(self->r, id));
	}
}

/*
 * stats counts what it saw; after a drop earlier in the chain it sees
 * nothing; its counts agree with GET_INFO's.
 */
TEST_F(bpf, stats)
{
	uint64_t hist[UNIO_STATS_HIST] = {}, bytes = 0, obuf[2] = {}, obytes[2] = {};
	uint32_t len[32], n = lengths(self->buf_size, len), id[2], key = 0;
	struct unio_stats_total tot;
	struct unio_stats_owner own;
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	int fd;

	/* Kept open: the maps are read after the runs. */
	self->stats = stats_bpf__open_and_load();
	ASSERT_NE(NULL, self->stats);
	ASSERT_EQ(0, unio_bpf_attach(self->r,
				     bpf_program__fd(self->stats->progs.unio_stats),
				     &id[0]));
	for (unsigned int k = 0; k < n; k++) {
		int b = k % NR_BUFS, bucket = 31 - __builtin_clz(len[k]);

		fill(self, b, SEED + k);
		cqe = run(b, len[k]);
		EXPECT_PASS(cqe, len[k]);
		EXPECT_SHADOW(self, b);
		bytes += len[k];
		hist[bucket < UNIO_STATS_HIST ? bucket : UNIO_STATS_HIST - 1]++;
		obuf[b & 1]++;
		obytes[b & 1] += len[k];
	}

	fd = bpf_map__fd(self->stats->maps.totals);
	ASSERT_EQ(0, bpf_map_lookup_elem(fd, &key, &tot));
	EXPECT_EQ(n, tot.buffers);
	EXPECT_EQ(bytes, tot.bytes);
	EXPECT_EQ(0U, tot.untracked);
	for (int h = 0; h < UNIO_STATS_HIST; h++) {
		EXPECT_EQ(hist[h], tot.hist[h]) TH_LOG("bucket %d", h);
	}

	fd = bpf_map__fd(self->stats->maps.owners);
	for (int o = 0; o < 2; o++) {
		key = o ? OWNER2 : OWNER;
		if (!obuf[o]) {
			EXPECT_EQ(-ENOENT, bpf_map_lookup_elem(fd, &key, &own) ? -errno : 0);
			continue;
		}
		ASSERT_EQ(0, bpf_map_lookup_elem(fd, &key, &own));
		EXPECT_EQ(obuf[o], own.buffers);
		EXPECT_EQ(obytes[o], own.bytes);
	}

	ASSERT_EQ(0, unio_region_get_info(self->r, &info));
	ASSERT_EQ(1U, info.nr_bpf_progs);
	EXPECT_EQ(id[0], info.bpf_progs[0].prog_id);
	EXPECT_EQ(n, info.bpf_progs[0].runs);
	EXPECT_EQ(bytes, info.bpf_progs[0].bytes);
	EXPECT_EQ(n, info.bpf_progs[0].pass);

	/*
	 * Chain filter (passes only 0x7e at byte 0), then stats: stats sees
	 * the buffer the filter passed and not the one it dropped.
	 */
	EXPECT_EQ(0, unio_bpf_detach(self->r, id[0]));
	ATTACH(filter, unio_filter, &id[1],
	       (__s->rodata->filter_len = 1, __s->rodata->filter_value = 0x7e));
	ASSERT_EQ(0, unio_bpf_attach(self->r,
				     bpf_program__fd(self->stats->progs.unio_stats),
				     &id[0]));
	fill(self, 0, SEED);
	self->buf[0][0] = 0x7f;
	self->shadow[0] = 0x7f;
	cqe = run(0, 64);
	EXPECT_DROP(cqe, 0);
	self->buf[0][0] = 0x7e;
	self->shadow[0] = 0x7e;
	cqe = run(0, 64);
	EXPECT_PASS(cqe, 64);
	EXPECT_SHADOW(self, 0);

	fd = bpf_map__fd(self->stats->maps.totals);
	key = 0;
	ASSERT_EQ(0, bpf_map_lookup_elem(fd, &key, &tot));
	EXPECT_EQ(n + 1, tot.buffers);
	EXPECT_EQ(bytes + 64, tot.bytes);
	ASSERT_EQ(0, unio_region_get_info(self->r, &info));
	ASSERT_EQ(2U, info.nr_bpf_progs);
	EXPECT_EQ(id[1], info.bpf_progs[0].prog_id);
	EXPECT_EQ(2U, info.bpf_progs[0].runs);
	EXPECT_EQ(1U, info.bpf_progs[0].drop);
	EXPECT_EQ(id[0], info.bpf_progs[1].prog_id);
	EXPECT_EQ(1U, info.bpf_progs[1].runs);	/* counters restart on re-attach */
}

/* A drop in the middle of a chain names the program; later ones do not run. */
TEST_F(bpf, chain_drop_index)
{
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	uint32_t len = 256;

	ATTACH(redact, unio_redact, NULL,
	       (__s->rodata->redact_off = 8, __s->rodata->redact_len = 8));
	ATTACH(filter, unio_filter, NULL,
	       (__s->rodata->filter_len = 2, __s->rodata->filter_value = 0x4242));
	ATTACH_CRC(UNIO_CRC_STAMP, 0, NULL);

	fill(self, 0, SEED);
	memset(self->shadow + 8, 0, 8);		/* redact ran */
	cqe = run(0, len);
	EXPECT_DROP(cqe, 1);
	EXPECT_SHADOW(self, 0);			/* no trailer stamped */

	fill(self, 0, SEED);
	self->shadow[0] = self->shadow[1] = 0x42;
	memcpy(self->buf[0], self->shadow, 2);
	memset(self->shadow + 8, 0, 8);
	put_le32(self->shadow + len - 4, crc32c_sw(self->shadow, len - 4));
	cqe = run(0, len);
	EXPECT_PASS(cqe, len);
	EXPECT_SHADOW(self, 0);

	ASSERT_EQ(0, unio_region_get_info(self->r, &info));
	ASSERT_EQ(3U, info.nr_bpf_progs);
	EXPECT_EQ(2U, info.bpf_progs[0].runs);
	EXPECT_EQ(2U, info.bpf_progs[1].runs);
	EXPECT_EQ(1U, info.bpf_progs[1].drop);
	EXPECT_EQ(1U, info.bpf_progs[2].runs);
}

/* The library wrappers' own checks and the ioctls' errors through them. */
TEST_F(bpf, attach_errors)
{
	struct crc32c_bpf *s;
	uint32_t id, id2;
	int fd;

	EXPECT_EQ(-EINVAL, unio_bpf_attach(NULL, 0, &id));
	EXPECT_EQ(-EINVAL, unio_bpf_attach(self->r, -1, &id));
	EXPECT_EQ(-EINVAL, unio_bpf_detach(self->r, 0));
	EXPECT_EQ(-EINVAL, unio_bpf_detach(NULL, 1));
	EXPECT_EQ(-ENOENT, unio_bpf_detach(self->r, 0x7fffffff));

	/* Not a BPF program. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, unio_bpf_attach(self->r, fd, &id));
	close(fd);

	s = crc32c_bpf__open_and_load();
	ASSERT_NE(NULL, s);
	fd = bpf_program__fd(s->progs.unio_crc32c);
	ASSERT_EQ(0, unio_bpf_attach(self->r, fd, &id));
	EXPECT_EQ(-EEXIST, unio_bpf_attach(self->r, fd, &id2));
	EXPECT_EQ(0, unio_bpf_detach(self->r, id));
	ASSERT_EQ(0, unio_bpf_attach(self->r, fd, &id2));
	EXPECT_EQ(id, id2);
	crc32c_bpf__destroy(s);
	/* Still attached after the skeleton is gone; detached by id. */
	EXPECT_EQ(0, unio_bpf_detach(self->r, id));
}

TEST_HARNESS_MAIN
