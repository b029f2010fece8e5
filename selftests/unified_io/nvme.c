// SPDX-License-Identifier: GPL-2.0
/*
 * NVMe passthrough into the region through libunifiedio's unified path
 * (unio_nvme_open, unio_submit_descs, unio_reap), on both emulated
 * namespaces of the test VM (512-byte and 4096-byte LBAs): discovery,
 * patterns checked against O_DIRECT on the block device, queue depths,
 * split transfers, flush and write zeroes, NVMe and validation errors,
 * mixed module/NVMe batches, the command table limit,
 * UNIO_NVME_F_NO_FIXED, unio_nvme_writev()'s gather of scattered chunks
 * into consecutive blocks, and streams (unio_stream_*) stored contiguously
 * with alignment copies counted. Each test uses its own range of the namespace.
 */
#include <linux/fs.h>
#include <sys/mount.h>
#include <linux/nvme_ioctl.h>
#include <sys/stat.h>

#include "ut.h"

#define DATA_SIZE	(8ULL << 20)
#define BUF_SIZE	(64U << 10)
#define POISON		0xa5
#define REAP_NS		(30ULL * 1000000000ULL)

/* unio_nvme_status_str(@status) begins with @name (libnvme's text). */
#define EXPECT_STATUS_STR(name, status)					\
	EXPECT_EQ(0, strncmp(name, unio_nvme_status_str(status),	\
			     strlen(name)))					\
		TH_LOG("status %#x: %s", (unsigned int)(status),		\
		       unio_nvme_status_str(status))

FIXTURE(nvme) {
	char chr_path[64];
	char blk_path[64];
	struct unio_region *r;
	struct unio_nvme *ns;
	struct unio_nvme_info info;
	__u8 *data;
	int bdev;
};

/*
 * The variant names the namespace tools/vm/run creates with that LBA size;
 * the kernel numbers namespaces in the order its scan finds them, which is
 * not always nsid order, so the fixture takes the namespace of controller 0
 * with the variant's LBA size, whatever it is called.
 */
FIXTURE_VARIANT(nvme) {
	const char *chr;
	const char *blk;
	__u32 lba_size;
};

FIXTURE_VARIANT_ADD(nvme, ng0n1_512) {
	.chr = "/dev/ng0n1",
	.blk = "/dev/nvme0n1",
	.lba_size = 512,
};

FIXTURE_VARIANT_ADD(nvme, ng0n2_4096) {
	.chr = "/dev/ng0n2",
	.blk = "/dev/nvme0n2",
	.lba_size = 4096,
};

static int make_region(struct unio_region **r, __u32 cq)
{
	UNIO_OPTS(opts, .sq_entries = cq && cq < 64 ? cq : 64, .cq_entries = cq, .buf_size = BUF_SIZE,
		  .data_size = DATA_SIZE);

	return unio_region_create(&opts, r);
}

/* nvme0nN with logical blocks of @lba_size; false if none. */
static bool find_namespace(__u32 lba_size, char *chr, char *blk, size_t len)
{
	for (int n = 1; n <= 16; n++) {
		char path[96];
		unsigned int lbs = 0;
		struct stat st;
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/block/nvme0n%d/queue/logical_block_size", n);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%u", &lbs) != 1)
			lbs = 0;
		fclose(f);
		snprintf(chr, len, "/dev/ng0n%d", n);
		snprintf(blk, len, "/dev/nvme0n%d", n);
		if (lbs == lba_size && !stat(chr, &st) && !stat(blk, &st))
			return true;
	}
	return false;
}

FIXTURE_SETUP(nvme)
{
	int ret;

	self->bdev = -1;
	UT_REQUIRE_DEVICE();
	if (!find_namespace(variant->lba_size, self->chr_path, self->blk_path,
			    sizeof(self->chr_path)))
		SKIP(return, "no NVMe namespace with %u-byte LBAs", variant->lba_size);
	if (strcmp(self->chr_path, self->chr_path))
		TH_LOG("%u-byte LBAs: %s (not %s)", variant->lba_size,
		       self->chr_path, variant->chr);
	ASSERT_EQ(0, make_region(&self->r, 256));
	ret = unio_nvme_open(self->r, self->chr_path, NULL, &self->ns);
	if (ret == -EPERM || ret == -ENOSYS)
		SKIP(return, "io_uring unavailable: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("unio_nvme_open %s: %s", self->chr_path, strerror(-ret));
	ASSERT_EQ(0, unio_nvme_get_info(self->ns, &self->info));
	self->data = unio_region_data(self->r);
	self->bdev = open(self->blk_path, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->bdev) TH_LOG("open %s: %s", self->blk_path, strerror(errno));
}

FIXTURE_TEARDOWN(nvme)
{
	if (self->bdev >= 0)
		close(self->bdev);
	if (self->ns)
		unio_nvme_close(self->ns);
	if (self->r)
		unio_region_destroy(self->r);
}

/* Reap exactly @n completions (any order) within the timeout. */
static void __reap_n(struct __test_metadata *_metadata, struct unio_region *r,
		     struct unified_io_cqe *cqes, unsigned int n)
{
	unsigned int got = 0;

	while (got < n) {
		int ret = unio_reap(r, cqes + got, n - got, n - got, REAP_NS);

		ASSERT_LT(0, ret) TH_LOG("unio_reap after %u of %u: %s", got, n,
					 strerror(-ret));
		got += ret;
	}
}

#define reap_n(r, c, n)	__reap_n(_metadata, r, c, n)

/* Nothing more completes. */
static void __expect_no_cqe(struct __test_metadata *_metadata, struct unio_region *r)
{
	struct unified_io_cqe cqe;

	EXPECT_EQ(0, unio_reap(r, &cqe, 1, 0, 0));
	EXPECT_EQ(-ETIME, unio_reap(r, &cqe, 1, 1, 50 * 1000000ULL));
}

#define expect_no_cqe(r)	__expect_no_cqe(_metadata, r)

/* One descriptor through the unified path; returns its completion. */
static struct unified_io_cqe __do_one(struct __test_metadata *_metadata,
				      struct unio_region *r,
				      const struct unified_io_desc *d)
{
	struct unified_io_cqe cqe = {};

	EXPECT_EQ(1, unio_submit_descs(r, d, 1));
	__reap_n(_metadata, r, &cqe, 1);
	EXPECT_EQ(d->user_data, cqe.user_data);
	EXPECT_EQ(d->opcode, cqe.opcode);
	return cqe;
}

#define do_one(r, d)	__do_one(_metadata, r, d)

static int nvme_io(struct __test_metadata *_metadata, struct unio_region *r,
		   __u8 op, __u64 off, __u64 slba, __u32 nlb, __u32 *flags)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;

	__unio_prep_nvme(&d, op, off, slba, nlb, 0x10000 + op);
	cqe = __do_one(_metadata, r, &d);
	if (flags)
		*flags = cqe.flags;
	if (cqe.res >= 0)
		EXPECT_EQ(0U, cqe.flags);
	EXPECT_EQ(off, cqe.addr);
	return cqe.res;
}

#define nvme_read(r, off, slba, nlb) \
	nvme_io(_metadata, r, UNIFIED_IO_NVME_READ, off, slba, nlb, NULL)
#define nvme_write(r, off, slba, nlb) \
	nvme_io(_metadata, r, UNIFIED_IO_NVME_WRITE, off, slba, nlb, NULL)

static void fill(__u8 *p, size_t len, __u64 seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = ut_pattern(seed, i);
}

/* p[0, len) holds the pattern @seed from byte @from. */
static bool __check(struct __test_metadata *_metadata, const __u8 *p,
		    size_t len, __u64 seed, __u64 from, const char *what)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != ut_pattern(seed, from + i)) {
			TH_LOG("%s: byte %zu is %#x, want %#x", what, i, p[i],
			       ut_pattern(seed, from + i));
			return false;
		}
	}
	return true;
}

#define check(p, len, seed, from, what) \
	EXPECT_TRUE(__check(_metadata, p, len, seed, from, what))

/* First LBA of test area @n: 16 MiB apart. */
static __u64 area(const struct unio_nvme_info *info, unsigned int n)
{
	return ((__u64)n << 24) / info->lba_size;
}

static void *aligned(size_t len)
{
	void *p = NULL;

	return posix_memalign(&p, 4096, len) ? NULL : p;
}

TEST_F(nvme, discovery)
{
	struct unio_nvme_info info;
	struct unio_region *r2;
	struct unio_nvme *ns2;
	__u64 bytes = 0, kb = 0, nsid = 0;
	char path[128];
	FILE *f;
	int fd;

	EXPECT_EQ(variant->lba_size, self->info.lba_size);
	ASSERT_EQ(0, ioctl(self->bdev, BLKGETSIZE64, &bytes));
	EXPECT_EQ(bytes / variant->lba_size, self->info.nr_lbas);
	fd = open(self->chr_path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((int)self->info.nsid, ioctl(fd, NVME_IOCTL_ID));
	close(fd);
	snprintf(path, sizeof(path), "/sys/block/%s/nsid", self->blk_path + 5);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%llu", (unsigned long long *)&nsid));
	fclose(f);
	EXPECT_EQ(nsid, self->info.nsid);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/max_hw_sectors_kb",
		 self->blk_path + 5);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%llu", (unsigned long long *)&kb));
	fclose(f);
	EXPECT_LT(0U, self->info.max_transfer);
	EXPECT_EQ(kb << 10, self->info.max_transfer);
	EXPECT_EQ(64U, self->info.queue_depth);
	EXPECT_EQ(0U, self->info.flags);
	EXPECT_STREQ(self->chr_path, self->info.char_dev);
	EXPECT_STREQ(self->blk_path, self->info.block_dev);
	TH_LOG("%s: nsid %u lba %u nr_lbas %llu max_transfer %u", self->chr_path,
	       self->info.nsid, self->info.lba_size,
	       (unsigned long long)self->info.nr_lbas, self->info.max_transfer);

	/* The same namespace twice on one region: refused. */
	EXPECT_EQ(-EEXIST, unio_nvme_open(self->r, self->blk_path, NULL, &ns2));

	/* Through the block device, on a second region: the same facts. */
	if (!make_region(&r2, 0)) {
		ASSERT_EQ(0, unio_nvme_open(r2, self->blk_path, NULL, &ns2));
		ASSERT_EQ(0, unio_nvme_get_info(ns2, &info));
		EXPECT_EQ(self->info.nsid, info.nsid);
		EXPECT_EQ(self->info.lba_size, info.lba_size);
		EXPECT_EQ(self->info.nr_lbas, info.nr_lbas);
		EXPECT_EQ(self->info.max_transfer, info.max_transfer);
		EXPECT_STREQ(self->chr_path, info.char_dev);
		EXPECT_STREQ(self->blk_path, info.block_dev);
		unio_nvme_close(ns2);
		unio_region_destroy(r2);
	} else {
		ASSERT_TRUE(false) TH_LOG("second region");
	}
}

/* Write/read by passthrough and check both ways against O_DIRECT. */
static void pattern_roundtrip(struct __test_metadata *_metadata,
			      struct unio_region *r, int bdev,
			      const struct unio_nvme_info *info, __u64 slba,
			      __u64 seed)
{
	const __u32 len = 256 << 10, nlb = len / info->lba_size;
	__u8 *data = unio_region_data(r);
	__u8 *buf = aligned(len);
	__u64 w_off = 3 * BUF_SIZE + 4096, r_off = DATA_SIZE / 2 + 512;

	ASSERT_NE(NULL, buf);
	/* Passthrough write, passthrough read elsewhere, O_DIRECT read. */
	memset(data, POISON, DATA_SIZE);
	fill(data + w_off, len, seed);
	EXPECT_EQ((int)len, nvme_write(r, w_off, slba, nlb));
	EXPECT_EQ((int)len, nvme_read(r, r_off, slba, nlb));
	check(data + r_off, len, seed, 0, "passthrough read back");
	EXPECT_EQ(POISON, data[r_off - 1]);
	EXPECT_EQ(POISON, data[r_off + len]);
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(bdev, buf, len, slba * info->lba_size));
	check(buf, len, seed, 0, "O_DIRECT read of passthrough write");

	/* The reverse: O_DIRECT write, passthrough read into the region. */
	fill(buf, len, seed + 1);
	ASSERT_EQ((ssize_t)len, pwrite(bdev, buf, len, slba * info->lba_size));
	memset(data, POISON, DATA_SIZE);
	EXPECT_EQ((int)len, nvme_read(r, w_off, slba, nlb));
	check(data + w_off, len, seed + 1, 0, "passthrough read of O_DIRECT write");
	EXPECT_EQ(POISON, data[w_off - 1]);
	EXPECT_EQ(POISON, data[w_off + len]);
	free(buf);
}

TEST_F_TIMEOUT(nvme, pattern_fixed, 120)
{
	pattern_roundtrip(_metadata, self->r, self->bdev, &self->info,
			  area(&self->info, 1), 0x1111);
}

TEST_F_TIMEOUT(nvme, pattern_no_fixed, 120)
{
	UNIO_NVME_OPTS(opts, .flags = UNIO_NVME_F_NO_FIXED, .queue_depth = 4);
	struct unio_nvme_info info;
	struct unio_region *r2;
	struct unio_nvme *ns2;

	ASSERT_EQ(0, make_region(&r2, 0));
	ASSERT_EQ(0, unio_nvme_open(r2, self->chr_path, &opts, &ns2));
	ASSERT_EQ(0, unio_nvme_get_info(ns2, &info));
	EXPECT_EQ((__u32)UNIO_NVME_F_NO_FIXED, info.flags);
	EXPECT_EQ(4U, info.queue_depth);
	pattern_roundtrip(_metadata, r2, self->bdev, &info, area(&info, 2), 0x2222);
	unio_nvme_close(ns2);
	unio_region_destroy(r2);
}

/* Many reads in flight, each into its own buffer. */
TEST_F_TIMEOUT(nvme, queue_depths, 300)
{
	static const __u32 depths[] = { 1, 8, 32, 64 };
	const __u32 chunk = 16 << 10, nlb = chunk / self->info.lba_size;
	const unsigned int nr = DATA_SIZE / BUF_SIZE;	/* 128 buffers */
	__u64 slba = area(&self->info, 3);
	struct unified_io_desc d[128];
	struct unified_io_cqe cqes[128];
	__u8 *buf = aligned(nr * chunk);

	ASSERT_NE(NULL, buf);
	/* nr chunks of distinct content, written with O_DIRECT. */
	fill(buf, nr * chunk, 0x3333);
	ASSERT_EQ((ssize_t)(nr * chunk),
		  pwrite(self->bdev, buf, nr * chunk, slba * self->info.lba_size));
	free(buf);

	for (size_t k = 0; k < UT_ARRAY_SIZE(depths); k++) {
		UNIO_NVME_OPTS(opts, .queue_depth = depths[k]);
		unsigned int n = 2 * depths[k] < nr ? 2 * depths[k] : nr;
		bool seen[128] = {};

		unio_nvme_close(self->ns);
		self->ns = NULL;
		ASSERT_EQ(0, unio_nvme_open(self->r, self->chr_path, &opts, &self->ns));
		memset(self->data, POISON, DATA_SIZE);
		memset(d, 0, sizeof(d));
		for (unsigned int i = 0; i < n; i++)
			unio_prep_nvme_read(&d[i], (__u64)i * BUF_SIZE,
					    slba + (__u64)i * nlb, nlb, 1000 + i);
		ASSERT_EQ((int)n, unio_submit_descs(self->r, d, n));
		reap_n(self->r, cqes, n);
		for (unsigned int i = 0; i < n; i++) {
			unsigned int j = cqes[i].user_data - 1000;

			ASSERT_LT(j, n);
			EXPECT_FALSE(seen[j]);
			seen[j] = true;
			EXPECT_EQ((int)chunk, cqes[i].res);
			EXPECT_EQ((__u64)j * BUF_SIZE, cqes[i].addr);
			EXPECT_EQ(UNIFIED_IO_OP_NVME, cqes[i].opcode);
		}
		for (unsigned int i = 0; i < n; i++) {
			__u8 *p = self->data + (__u64)i * BUF_SIZE;

			check(p, chunk, 0x3333, (__u64)i * chunk, "queued read");
			EXPECT_EQ(POISON, p[chunk]);
		}
		expect_no_cqe(self->r);
	}
}

/* Four times the largest transfer: split, one completion, right data. */
TEST_F_TIMEOUT(nvme, split_transfer, 300)
{
	const __u32 len = 4 * self->info.max_transfer;
	const __u32 nlb = len / self->info.lba_size;
	__u64 slba = area(&self->info, 4);
	__u64 w_off = 4096, r_off = DATA_SIZE - len;
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;
	__u8 *buf;

	ASSERT_LE((__u64)len + w_off, r_off);
	memset(self->data, POISON, DATA_SIZE);
	fill(self->data + w_off, len, 0x4444);
	unio_prep_nvme_write(&d, w_off, slba, nlb, 41);
	d.len = len;	/* explicit, equal to nlb * lba_size */
	cqe = do_one(self->r, &d);
	EXPECT_EQ((int)len, cqe.res);
	EXPECT_EQ(w_off, cqe.addr);
	expect_no_cqe(self->r);

	memset(&d, 0, sizeof(d));
	unio_prep_nvme_read(&d, r_off, slba, nlb, 42);
	cqe = do_one(self->r, &d);
	EXPECT_EQ((int)len, cqe.res);
	expect_no_cqe(self->r);
	check(self->data + r_off, len, 0x4444, 0, "split read");

	buf = aligned(len);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)len, pread(self->bdev, buf, len, slba * self->info.lba_size));
	check(buf, len, 0x4444, 0, "O_DIRECT read of split write");
	free(buf);
}

TEST_F_TIMEOUT(nvme, flush_and_write_zeroes, 120)
{
	const __u32 len = 128 << 10, nlb = len / self->info.lba_size;
	__u64 slba = area(&self->info, 5);
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;
	__u8 *buf = aligned(len);

	ASSERT_NE(NULL, buf);
	fill(self->data, len, 0x5555);
	EXPECT_EQ((int)len, nvme_write(self->r, 0, slba, nlb));
	unio_prep_nvme_flush(&d, 51);
	cqe = do_one(self->r, &d);
	EXPECT_EQ(0, cqe.res);
	EXPECT_EQ(0ULL, cqe.addr);

	/* Zero the middle half; the rest keeps the pattern. */
	memset(&d, 0, sizeof(d));
	unio_prep_nvme_write_zeroes(&d, slba + nlb / 4, nlb / 2, 52);
	cqe = do_one(self->r, &d);
	EXPECT_EQ(0, cqe.res);
	EXPECT_EQ(0U, cqe.flags);

	memset(self->data, POISON, len);
	EXPECT_EQ((int)len, nvme_read(self->r, 0, slba, nlb));
	check(self->data, len / 4, 0x5555, 0, "before the zeroes");
	for (__u32 i = len / 4; i < 3 * len / 4; i++)
		if (self->data[i]) {
			EXPECT_EQ(0, self->data[i]) TH_LOG("byte %u", i);
			break;
		}
	check(self->data + 3 * len / 4, len / 4, 0x5555, 3 * len / 4, "after the zeroes");
	ASSERT_EQ((ssize_t)len, pread(self->bdev, buf, len, slba * self->info.lba_size));
	EXPECT_EQ(0, memcmp(buf, self->data, len));
	free(buf);
}

TEST_F_TIMEOUT(nvme, lba_out_of_range, 120)
{
	const __u64 end = self->info.nr_lbas;
	const __u32 big = 2 * self->info.max_transfer / self->info.lba_size;
	struct { __u64 slba; __u32 nlb; __u8 op; } c[] = {
		{ end - 1, 2, UNIFIED_IO_NVME_READ },		/* straddles the end */
		{ end + 100, 1, UNIFIED_IO_NVME_READ },
		{ end, 1, UNIFIED_IO_NVME_WRITE },
		{ end - 1, 8, UNIFIED_IO_NVME_WRITE_ZEROES },
		{ end - big / 2 - 1, big, UNIFIED_IO_NVME_READ },	/* split, 2nd piece fails */
	};

	for (size_t i = 0; i < UT_ARRAY_SIZE(c); i++) {
		bool data = c[i].op != UNIFIED_IO_NVME_WRITE_ZEROES;
		__u32 flags = 0;
		int res = nvme_io(_metadata, self->r, c[i].op, data ? 8192 : 0,
				  c[i].slba, c[i].nlb, &flags);

		EXPECT_EQ(-EIO, res) TH_LOG("case %zu", i);
		EXPECT_EQ((unsigned int)UNIO_NVME_SCT_GENERIC, unio_nvme_sct(flags));
		EXPECT_EQ((unsigned int)UNIO_NVME_SC_LBA_RANGE, unio_nvme_sc(flags));
		EXPECT_STATUS_STR("LBA Out of Range", flags);
		TH_LOG("case %zu: status %#x (%s)", i, flags, unio_nvme_status_str(flags));
	}
	expect_no_cqe(self->r);
	/* The path still works after the errors. */
	EXPECT_EQ((int)self->info.lba_size, nvme_read(self->r, 0, 0, 1));
}

/*
 * unio_submit_and_wait(): a write and a read back, one at a time; a drive
 * error comes back in the completion, not as the return value; and it
 * refuses to run beside a command of the batch interface.
 */
TEST_F_TIMEOUT(nvme, submit_and_wait, 120)
{
	const __u32 lbs = self->info.lba_size;
	const __u64 slba = area(&self->info, 5);
	struct unified_io_desc d = {}, other = {};
	struct unified_io_cqe cqe;

	fill(self->data, 2 * lbs, 0x5a17);
	unio_prep_nvme_write(&d, 0, slba, 2, 0xa1);
	memset(&cqe, 0xff, sizeof(cqe));
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0xa1ULL, cqe.user_data);
	EXPECT_EQ(UNIFIED_IO_OP_NVME, cqe.opcode);
	EXPECT_EQ((int)(2 * lbs), cqe.res);

	memset(self->data + BUF_SIZE, 0, 2 * lbs);
	unio_prep_nvme_read(&d, BUF_SIZE, slba, 2, 0xa2);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 5000000000ULL));
	EXPECT_EQ((int)(2 * lbs), cqe.res);
	check(self->data + BUF_SIZE, 2 * lbs, 0x5a17, 0, "read back");

	/* The drive refuses: the call ran, the completion says why. */
	unio_prep_nvme_read(&d, 0, self->info.nr_lbas, 1, 0xa3);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(-EIO, cqe.res);
	EXPECT_EQ((unsigned int)UNIO_NVME_SC_LBA_RANGE, unio_nvme_sc(cqe.flags));

	/* Refused before submission: the batch path's own check. */
	unio_prep_nvme_read(&d, DATA_SIZE, slba, 1, 0xa4);
	EXPECT_EQ(-EINVAL, unio_submit_and_wait(self->r, &d, &cqe, 0));

	/* Something of the batch interface outstanding: EBUSY, nothing run. */
	unio_prep_nvme_read(&other, 0, slba, 1, 0xb1);
	ASSERT_EQ(1, unio_submit_descs(self->r, &other, 1));
	unio_prep_nvme_read(&d, 0, slba, 1, 0xa5);
	EXPECT_EQ(-EBUSY, unio_submit_and_wait(self->r, &d, &cqe, 0));
	reap_n(self->r, &cqe, 1);
	EXPECT_EQ(0xb1ULL, cqe.user_data);
	expect_no_cqe(self->r);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0xa5ULL, cqe.user_data);
	EXPECT_EQ((int)lbs, cqe.res);

	EXPECT_EQ(-EINVAL, unio_submit_and_wait(NULL, &d, &cqe, 0));
	EXPECT_EQ(-EINVAL, unio_submit_and_wait(self->r, NULL, &cqe, 0));
	EXPECT_EQ(-EINVAL, unio_submit_and_wait(self->r, &d, NULL, 0));
}

/* Invalid descriptors: -EINVAL and nothing of the batch submitted. */
TEST_F_TIMEOUT(nvme, invalid_refused_before_submit, 120)
{
	const __u32 lba = self->info.lba_size;
	const __u64 ds = DATA_SIZE;
	__u64 slba = area(&self->info, 6);
	struct unified_io_desc batch[3], bad;
	struct unio_queue *q = unio_region_queue(self->r);
	struct unified_io_info before, after;
	int i, n = 0;
	struct { const char *what; struct unified_io_desc d; } c[20];

	/* Known content on disk; the valid write in each batch would change it. */
	fill(self->data, lba, 0x6666);
	ASSERT_EQ((int)lba, nvme_write(self->r, 0, slba, 1));
	fill(self->data + BUF_SIZE, lba, 0x7777);

#define BAD(w, op, off, s, nb) do {					\
	memset(&c[n].d, 0, sizeof(c[n].d));				\
	__unio_prep_nvme(&c[n].d, op, off, s, nb, 0xbad0 + n);		\
	c[n].what = w;							\
	n++;								\
} while (0)
	BAD("offset at the end of the data area", UNIFIED_IO_NVME_READ, ds, slba, 1);
	BAD("range past the data area", UNIFIED_IO_NVME_READ, ds - lba, slba, 2);
	BAD("offset overflowing", UNIFIED_IO_NVME_READ, ~0ULL - 3, slba, 1);
	BAD("unaligned offset", UNIFIED_IO_NVME_WRITE, 2, slba, 1);
	BAD("nlb 0 read", UNIFIED_IO_NVME_READ, 0, slba, 0);
	BAD("nlb 0 write", UNIFIED_IO_NVME_WRITE, 0, slba, 0);
	BAD("nlb 0 write zeroes", UNIFIED_IO_NVME_WRITE_ZEROES, 0, slba, 0);
	BAD("unaligned length", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.len = lba + 2;
	BAD("length not whole blocks", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.len = lba - 4;
	BAD("length not matching nlb", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.len = 2 * lba;
	BAD("unknown nvme opcode", 0x05, 0, slba, 1);
	BAD("nsid not attached", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.nvme.nsid = self->info.nsid + 7;
	BAD("desc flags", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.flags = 1;
	BAD("owner", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.owner = 3;
	BAD("reserved", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.nvme.resv2[1] = 1;
	BAD("cdw12 low bits", UNIFIED_IO_NVME_READ, 0, slba, 1);
	c[n - 1].d.nvme.cdw12_flags = 1;
	BAD("flush with an offset", UNIFIED_IO_NVME_FLUSH, 4096, 0, 0);
	BAD("write zeroes with a length", UNIFIED_IO_NVME_WRITE_ZEROES, 0, slba, 1);
	c[n - 1].d.len = lba;
	BAD("slba + nlb overflowing", UNIFIED_IO_NVME_READ, 0, ~0ULL, 2);
#undef BAD

	ASSERT_EQ(0, unio_region_get_info(self->r, &before));
	for (i = 0; i < n; i++) {
		memset(batch, 0, sizeof(batch));
		unio_prep_nop(&batch[0], 0x9000 + i);
		unio_prep_nvme_write(&batch[1], BUF_SIZE, slba, 1, 0x9100 + i);
		batch[2] = c[i].d;
		bad = c[i].d;
		EXPECT_EQ(-EINVAL, unio_submit_descs(self->r, batch, 3))
			TH_LOG("%s", c[i].what);
		EXPECT_EQ(0U, unio_sq_ready(q));
		/* Alone, too. */
		EXPECT_EQ(-EINVAL, unio_submit_descs(self->r, &bad, 1))
			TH_LOG("%s alone", c[i].what);
	}
	expect_no_cqe(self->r);
	ASSERT_EQ(0, unio_region_get_info(self->r, &after));
	EXPECT_EQ(before.stats.sqes, after.stats.sqes);
	memset(self->data + 2 * BUF_SIZE, POISON, lba);
	EXPECT_EQ((int)lba, nvme_read(self->r, 2 * BUF_SIZE, slba, 1));
	check(self->data + 2 * BUF_SIZE, lba, 0x6666, 0, "disk after refused batches");
}

TEST_F(nvme, not_nvme_refused)
{
	static const char *const paths[] = {
		"/dev/null", UNIFIED_IO_DEVICE, "/dev/nvme0", "/dev", "/dev/zero",
	};
	UNIO_NVME_OPTS(o1, .flags = 0x80);
	UNIO_NVME_OPTS(o2, .queue_depth = 100000);
	struct unio_nvme *ns = (void *)0x1;
	char file[] = "/tmp/unio-nvme-XXXXXX";
	int fd;

	for (size_t i = 0; i < UT_ARRAY_SIZE(paths); i++) {
		EXPECT_EQ(-ENODEV, unio_nvme_open(self->r, paths[i], NULL, &ns))
			TH_LOG("%s", paths[i]);
	}
	fd = mkstemp(file);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4096, write(fd, memset(self->data, 0, 4096), 4096));
	EXPECT_EQ(-ENODEV, unio_nvme_open(self->r, file, NULL, &ns));
	close(fd);
	unlink(file);
	EXPECT_EQ(-ENOENT, unio_nvme_open(self->r, "/dev/ng9n9", NULL, &ns));
	EXPECT_EQ((void *)0x1, ns);
	EXPECT_EQ(-EINVAL, unio_nvme_open(self->r, self->chr_path, &o1, &ns));
	EXPECT_EQ(-EINVAL, unio_nvme_open(self->r, self->chr_path, &o2, &ns));
	EXPECT_EQ(-EINVAL, unio_nvme_open(NULL, self->chr_path, NULL, &ns));
}

/* Module and NVMe descriptors in one batch, all back through unio_reap. */
TEST_F_TIMEOUT(nvme, mixed_stream, 120)
{
	const __u32 lba = self->info.lba_size, len = 32 << 10, nlb = len / lba;
	__u64 slba = area(&self->info, 7), buf_off = ~0ULL;
	struct unified_io_desc d[8];
	struct unified_io_cqe cqes[8];
	unsigned int i, seen = 0;

	/* Content to read in the batch, written before it. */
	fill(self->data, len, 0x8888);
	ASSERT_EQ((int)len, nvme_write(self->r, 0, slba + nlb, nlb));

	memset(d, 0, sizeof(d));
	memset(self->data, POISON, 4 * BUF_SIZE);
	fill(self->data + BUF_SIZE, len, 0x9999);
	unio_prep_nop(&d[0], 1);
	unio_prep_alloc(&d[1], 7, 2);
	unio_prep_nvme_write(&d[2], BUF_SIZE, slba, nlb, 3);
	unio_prep_nvme_read(&d[3], 2 * BUF_SIZE, slba + nlb, nlb, 4);
	unio_prep_nop(&d[4], 5);
	unio_prep_nvme_flush(&d[5], 6);
	d[5].nvme.nsid = self->info.nsid;	/* explicit nsid works too */
	unio_prep_free(&d[6], 7, 0x7fffffff, 7);	/* refused by the module */
	d[7].opcode = 0x42;				/* unknown: EOPNOTSUPP */
	d[7].user_data = 8;
	ASSERT_EQ(8, unio_submit_descs(self->r, d, 8));
	reap_n(self->r, cqes, 8);
	for (i = 0; i < 8; i++) {
		struct unified_io_cqe *e = &cqes[i];

		ASSERT_LE(1ULL, e->user_data);
		ASSERT_GE(8ULL, e->user_data);
		seen |= 1U << e->user_data;
		EXPECT_EQ(d[e->user_data - 1].opcode, e->opcode);
		switch (e->user_data) {
		case 1: case 5:
			EXPECT_EQ(0, e->res);
			break;
		case 2:
			EXPECT_EQ((int)BUF_SIZE, e->res);
			buf_off = e->addr;
			break;
		case 3: case 4:
			EXPECT_EQ((int)len, e->res);
			EXPECT_EQ(d[e->user_data - 1].addr, e->addr);
			EXPECT_EQ(0U, e->flags);
			break;
		case 6:
			EXPECT_EQ(0, e->res);
			break;
		case 7:
			EXPECT_GT(0, e->res);
			break;
		case 8:
			EXPECT_EQ(-EOPNOTSUPP, e->res);
			break;
		}
	}
	EXPECT_EQ(0x1feU, seen);
	check(self->data + 2 * BUF_SIZE, len, 0x8888, 0, "read in mixed batch");

	/* Read into the allocated buffer, then free it, both unified. */
	ASSERT_NE(~0ULL, buf_off);
	memset(d, 0, sizeof(d));
	unio_prep_nvme_read(&d[0], buf_off, slba, nlb, 11);
	unio_prep_nop(&d[1], 12);
	ASSERT_EQ(2, unio_submit_descs(self->r, d, 2));
	reap_n(self->r, cqes, 2);
	check(self->data + buf_off, len, 0x9999, 0, "read into allocated buffer");
	memset(d, 0, sizeof(d));
	unio_prep_free(&d[0], 7, buf_off, 13);
	cqes[0] = do_one(self->r, &d[0]);
	EXPECT_EQ(0, cqes[0].res);
	EXPECT_EQ(buf_off, cqes[0].addr);
	expect_no_cqe(self->r);
	EXPECT_STREQ("nvme", unio_op_name(UNIFIED_IO_OP_NVME));
}

/* More NVMe descriptors than command slots: a partial count, then the rest. */
TEST_F_TIMEOUT(nvme, command_table_full, 120)
{
	UNIO_NVME_OPTS(opts, .queue_depth = 2);
	const __u32 lba = self->info.lba_size;
	struct unified_io_desc d[40];
	struct unified_io_cqe cqes[40];
	struct unio_region *r2;
	struct unio_nvme *ns2;
	int ret, done = 0;

	ASSERT_EQ(0, make_region(&r2, 16));	/* 16 command slots */
	ASSERT_EQ(0, unio_nvme_open(r2, self->chr_path, &opts, &ns2));
	memset(d, 0, sizeof(d));
	for (int i = 0; i < 40; i++)
		unio_prep_nvme_read(&d[i], (__u64)i * lba, i, 1, i);
	ret = unio_submit_descs(r2, d, 40);
	EXPECT_EQ(16, ret);
	EXPECT_EQ(-EBUSY, unio_submit_descs(r2, d + 16, 24));
	reap_n(r2, cqes, 16);
	ASSERT_EQ(16, unio_submit_descs(r2, d + 16, 24));
	reap_n(r2, cqes + 16, 16);
	ASSERT_EQ(8, unio_submit_descs(r2, d + 32, 8));
	reap_n(r2, cqes + 32, 8);
	for (int i = 0; i < 40; i++) {
		EXPECT_EQ((int)lba, cqes[i].res);
		done |= cqes[i].user_data < 40 ? 0 : 1;
	}
	EXPECT_EQ(0, done);
	expect_no_cqe(r2);
	unio_nvme_close(ns2);
	unio_region_destroy(r2);
}

/*
 * Scatter @n segments of the stream @seed (bytes [0, total)) over the data
 * area, @chunk bytes each but the last (@last), none adjacent to the one
 * before it: segment i at buffer (i * 37) % @nbufs, slot i / @nbufs, 4 bytes
 * past the slot, so every segment is an iovec and most buffers hold several.
 */
static void scatter(__u8 *data, struct unio_seg *segs, unsigned int n,
		    __u32 chunk, __u32 last, unsigned int nbufs, __u64 seed)
{
	__u64 pos = 0;

	memset(segs, 0, n * sizeof(*segs));
	for (unsigned int i = 0; i < n; i++) {
		__u32 len = i + 1 < n ? chunk : last;

		segs[i].off = (__u64)((i * 37) % nbufs) * BUF_SIZE +
			      (__u64)(i / nbufs) * (chunk + 8) + 4;
		segs[i].len = len;
		for (__u32 j = 0; j < len; j++)
			data[segs[i].off + j] = ut_pattern(seed, pos + j);
		pos += len;
	}
}

/* One unio_nvme_writev() and its completion; the result. */
static int __writev_one(struct __test_metadata *_metadata, struct unio_region *r,
			const struct unio_seg *segs, unsigned int n, __u64 slba)
{
	struct unified_io_cqe cqe = {};
	int ret;

	ret = unio_nvme_writev(r, 0, segs, n, slba, 0x5e65);
	EXPECT_EQ(0, ret) TH_LOG("unio_nvme_writev: %s", strerror(-ret));
	if (ret)
		return ret;
	__reap_n(_metadata, r, &cqe, 1);
	EXPECT_EQ(0x5e65U, cqe.user_data);
	EXPECT_EQ(UNIFIED_IO_OP_NVME, cqe.opcode);
	EXPECT_EQ(segs[0].off, cqe.addr);
	EXPECT_EQ(0U, cqe.flags);
	return cqe.res;
}

#define writev_one(r, segs, n, slba) __writev_one(_metadata, r, segs, n, slba)

/* The drive holds the stream @seed at [slba, +len) and POISON right after. */
static void __check_stream(struct __test_metadata *_metadata, int bdev,
			   const struct unio_nvme_info *info, __u64 slba,
			   __u32 len, __u64 seed)
{
	__u32 lba = info->lba_size;
	__u8 *buf = aligned(len + lba);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)(len + lba), pread(bdev, buf, len + lba, slba * lba));
	check(buf, len, seed, 0, "O_DIRECT read of the gathered stream");
	for (__u32 i = 0; i < lba; i++) {
		if (buf[len + i] != POISON) {
			EXPECT_EQ(POISON, buf[len + i]) TH_LOG("byte %u past the stream", i);
			break;
		}
	}
	free(buf);
}

#define check_stream(slba, len, seed) \
	__check_stream(_metadata, self->bdev, &self->info, slba, len, seed)

/* POISON over [slba, +len) through the block device, whole blocks. */
static void __poison(struct __test_metadata *_metadata, int bdev,
		     const struct unio_nvme_info *info, __u64 slba, __u32 len)
{
	__u8 *buf;

	len = (len + info->lba_size - 1) / info->lba_size * info->lba_size;
	buf = aligned(len);

	ASSERT_NE(NULL, buf);
	memset(buf, POISON, len);
	ASSERT_EQ((ssize_t)len, pwrite(bdev, buf, len, slba * info->lba_size));
	free(buf);
}

#define poison(slba, len) __poison(_metadata, self->bdev, &self->info, slba, len)

/* [slba, +len) still all POISON. */
static void __check_poison(struct __test_metadata *_metadata, int bdev,
			   const struct unio_nvme_info *info, __u64 slba, __u32 len)
{
	__u8 *buf = aligned(len);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)len, pread(bdev, buf, len, slba * info->lba_size));
	for (__u32 i = 0; i < len; i++) {
		if (buf[i] != POISON) {
			EXPECT_EQ(POISON, buf[i]) TH_LOG("byte %u written", i);
			break;
		}
	}
	free(buf);
}

#define check_stream_poison(slba, len) \
	__check_poison(_metadata, self->bdev, &self->info, slba, len)

/*
 * The kernel's bounce copy for passthrough (blk_rq_map_user_iov() falling
 * back to bio_copy_user_iov(), whose write side is bio_copy_from_iter()),
 * counted by a kprobe event: -1 where tracefs or kprobe events are missing.
 */
#define TRACEFS		"/sys/kernel/tracing"
#define BOUNCE_EVENT	"unio_nvme_bounce"

static int tracefs_write(const char *file, const char *text)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -errno;
	close(fd);
	return ret;
}

static void bounce_probe_off(void)
{
	tracefs_write("events/kprobes/" BOUNCE_EVENT "/enable", "0");
	tracefs_write("kprobe_events", "-:" BOUNCE_EVENT "\n");
}

static bool bounce_probe_on(void)
{
	if (access(TRACEFS "/kprobe_events", W_OK))
		mount("nodev", TRACEFS, "tracefs", 0, NULL);
	bounce_probe_off();
	return !tracefs_write("kprobe_events",
			      "p:" BOUNCE_EVENT " bio_copy_from_iter\n") &&
	       !tracefs_write("events/kprobes/" BOUNCE_EVENT "/enable", "1");
}

static long bounce_hits(void)
{
	char line[256], name[128];
	long hits = -1, h;
	FILE *f = fopen(TRACEFS "/kprobe_profile", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", name, &h) == 2 &&
		    !strcmp(name, BOUNCE_EVENT))
			hits = h;
	fclose(f);
	return hits;
}

/*
 * A passthrough WRITE from a buffer 2 bytes off the DMA alignment: the
 * kernel bounces it through a copy. The probe's positive control.
 */
static void __bounced_write(struct __test_metadata *_metadata, const char *chr,
			    const struct unio_nvme_info *info, __u64 slba)
{
	struct nvme_passthru_cmd64 cmd = {};
	__u8 *buf = aligned(2 * info->lba_size);
	int fd = open(chr, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, buf);
	memset(buf, POISON, 2 * info->lba_size);
	cmd.opcode = UNIFIED_IO_NVME_WRITE;
	cmd.nsid = info->nsid;
	cmd.addr = (uintptr_t)buf + 2;
	cmd.data_len = info->lba_size;
	cmd.cdw10 = (__u32)slba;
	cmd.cdw11 = (__u32)(slba >> 32);
	EXPECT_EQ(0, ioctl(fd, NVME_IOCTL_IO64_CMD, &cmd)) TH_LOG("%s", strerror(errno));
	free(buf);
	close(fd);
}

/*
 * unio_nvme_writev(): MSS-sized chunks (1448 bytes, as TCP delivers at MTU
 * 1500) scattered over the buffers land on consecutive blocks as the stream
 * they were, every block written once, the tail block padded by a shorter
 * last segment; and with the same segments from the data area's plain user
 * memory (UNIO_NVME_F_NO_FIXED).
 */
TEST_F_TIMEOUT(nvme, writev_gather, 120)
{
	const __u32 lba = self->info.lba_size, chunk = 1448;
	const unsigned int n = 100;
	__u32 total = ((n - 1) * chunk + lba) / lba * lba;
	__u64 slba = area(&self->info, 10);
	UNIO_NVME_OPTS(opts, .flags = UNIO_NVME_F_NO_FIXED);
	struct unio_seg segs[100];
	struct unio_region *r2;
	struct unio_nvme *ns2;
	long hits;
	bool probe;

	EXPECT_EQ(4U, self->info.dma_align);
	EXPECT_LT(0U, self->info.max_segs);
	/* QEMU's controller takes SGLs, and nvme-pci then has no boundary. */
	ASSERT_EQ(UNIO_NVME_GATHER_SGL, self->info.gather_flags);

	poison(slba, total + lba);
	memset(self->data, 0, DATA_SIZE);
	scatter(self->data, segs, n, chunk, total - (n - 1) * chunk, 64, 0x9a7e);
	probe = bounce_probe_on();
	if (!probe)
		TH_LOG("no kprobe events: the kernel's bounce copies are not counted");
	hits = probe ? bounce_hits() : -1;
	EXPECT_EQ((int)total, writev_one(self->r, segs, n, slba));
	expect_no_cqe(self->r);
	check_stream(slba, total, 0x9a7e);
	/* Not one byte through the kernel's bounce buffer; its control does. */
	if (probe) {
		EXPECT_EQ(hits, bounce_hits());
		__bounced_write(_metadata, self->chr_path, &self->info, slba + total / lba);
		EXPECT_LT(hits, bounce_hits());
		poison(slba + total / lba, lba);
		hits = bounce_hits();
	}

	/* No fixed buffer: the kernel pins the data area's pages instead. */
	ASSERT_EQ(0, make_region(&r2, 16));
	ASSERT_EQ(0, unio_nvme_open(r2, self->chr_path, &opts, &ns2));
	poison(slba, total + lba);
	scatter(unio_region_data(r2), segs, n, chunk, total - (n - 1) * chunk, 64,
		0x9a7f);
	EXPECT_EQ((int)total, writev_one(r2, segs, n, slba));
	check_stream(slba, total, 0x9a7f);
	if (probe) {
		EXPECT_EQ(hits, bounce_hits());
		bounce_probe_off();
	}
	unio_nvme_close(ns2);
	unio_region_destroy(r2);
}

/*
 * A gather larger than several commands: split at the namespace's transfer
 * size and segment count, segments straddling the cuts, the stream intact.
 * Then one whose segments are whole blocks, which merge into few iovecs.
 */
TEST_F_TIMEOUT(nvme, writev_split, 300)
{
	const __u32 lba = self->info.lba_size, chunk = 1448;
	const unsigned int n = 2400;	/* 3.3 MiB: several max_transfer */
	__u32 total = ((n - 1) * chunk + lba) / lba * lba;
	__u64 slba = area(&self->info, 11);
	struct unio_seg *segs = calloc(n, sizeof(*segs));
	bool probe = bounce_probe_on();
	long hits = probe ? bounce_hits() : -1;

	ASSERT_NE(NULL, segs);
	ASSERT_LT(2 * self->info.max_transfer, total);
	poison(slba, total + lba);
	memset(self->data, 0, DATA_SIZE);
	/* 128 buffers of 64 KiB, 19 or 20 segments of 1456 bytes' room each. */
	scatter(self->data, segs, n, chunk, total - (n - 1) * chunk, 128, 0x5b1);
	EXPECT_EQ((int)total, writev_one(self->r, segs, n, slba));
	expect_no_cqe(self->r);
	check_stream(slba, total, 0x5b1);

	/* Adjacent segments: one iovec per run, cut by max_transfer only. */
	for (unsigned int i = 0; i < 512; i++) {
		segs[i].off = (__u64)i * 4096;
		segs[i].len = 4096;
		segs[i].resv = 0;
	}
	fill(self->data, 512 * 4096, 0x5b2);
	poison(slba, 512 * 4096 + lba);
	EXPECT_EQ(512 * 4096, writev_one(self->r, segs, 512, slba));
	check_stream(slba, 512 * 4096, 0x5b2);
	/* Cut at max_segs and max_transfer: still no bounce copy. */
	if (probe) {
		EXPECT_EQ(hits, bounce_hits());
		bounce_probe_off();
	} else {
		TH_LOG("no kprobe events: the kernel's bounce copies are not counted");
	}
	free(segs);
}

/*
 * The drive fails a command of the gather (blocks past the namespace's
 * end): -EIO with its status, as for a descriptor, after the pieces before
 * it were written.
 */
TEST_F_TIMEOUT(nvme, writev_drive_error, 120)
{
	const __u32 lba = self->info.lba_size;
	const __u32 len = 2 * self->info.max_transfer;
	struct unified_io_cqe cqe = {};
	struct unio_seg seg = { .off = 0, .len = len };
	__u64 slba = self->info.nr_lbas - self->info.max_transfer / lba;
	__u8 *buf;
	int ret;

	fill(self->data, len, 0xe110);
	poison(slba, self->info.max_transfer);
	ret = unio_nvme_writev(self->r, 0, &seg, 1, slba, 77);
	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
	reap_n(self->r, &cqe, 1);
	EXPECT_EQ(77U, cqe.user_data);
	EXPECT_EQ(-EIO, cqe.res);
	EXPECT_STATUS_STR("LBA Out of Range: ", cqe.flags);
	expect_no_cqe(self->r);
	/* The first piece, within the namespace, was written. */
	buf = aligned(self->info.max_transfer);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)self->info.max_transfer,
		  pread(self->bdev, buf, self->info.max_transfer, slba * lba));
	check(buf, self->info.max_transfer, 0xe110, 0, "the piece before the failure");
	free(buf);
}

/*
 * Every bad argument refused with its errno before anything is queued: no
 * completion follows, the blocks keep what they had.
 */
TEST_F_TIMEOUT(nvme, writev_invalid, 120)
{
	const __u32 lba = self->info.lba_size;
	__u64 slba = area(&self->info, 12);
	struct unio_seg segs[4], *many;
	unsigned int nmany = (unsigned int)((1ULL << 31) / (DATA_SIZE - 4096)) + 1;

	poison(slba, 4 * lba);
	memset(segs, 0, sizeof(segs));
	segs[0].off = 4096;
	segs[0].len = lba;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(NULL, 0, segs, 1, slba, 1));
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, NULL, 1, slba, 1));
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 0, slba, 1));
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs,
					    UNIO_NVME_WRITEV_MAX_SEGS + 1, slba, 1));
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, self->info.nsid + 100, segs, 1,
					    slba, 1));
	/* Past the end of LBA space. */
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, UINT64_MAX, 1));

	segs[0].resv = 1;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, slba, 1));
	segs[0].resv = 0;
	segs[0].len = 0;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, slba, 1));
	/* Outside the data area, or running past its end. */
	segs[0].len = lba;
	segs[0].off = DATA_SIZE;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, slba, 1));
	segs[0].off = DATA_SIZE - lba + 4;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, slba, 1));
	segs[0].off = UINT64_MAX - 4095;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, slba, 1));
	/* Offsets and lengths off the DMA alignment. */
	segs[0].off = 4096 + 2;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, slba, 1));
	segs[0].off = 4096;
	segs[0].len = 1446;
	segs[1].off = 16384;
	segs[1].len = lba - 1446;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 2, slba, 1));
	/* Not a whole number of blocks. */
	segs[0].len = lba - 4;
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, segs, 1, slba, 1));
	/* More than INT32_MAX bytes (segments may repeat). */
	many = calloc(nmany, sizeof(*many));
	ASSERT_NE(NULL, many);
	for (unsigned int i = 0; i < nmany; i++) {
		many[i].off = 4096;
		many[i].len = DATA_SIZE - 4096;
	}
	EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, many, nmany, slba, 1));
	/* A block made of more segments than a command takes. */
	free(many);
	nmany = lba / 4;
	if (nmany > self->info.max_segs) {
		many = calloc(nmany, sizeof(*many));
		ASSERT_NE(NULL, many);
		for (unsigned int i = 0; i < nmany; i++) {
			many[i].off = (__u64)i * 8;
			many[i].len = 4;
		}
		EXPECT_EQ(-EINVAL, unio_nvme_writev(self->r, 0, many, nmany, slba, 1));
		free(many);
	} else {
		TH_LOG("a %u-byte block of 4-byte segments fits one command "
		       "(max_segs %u): not tried", lba, self->info.max_segs);
	}
	expect_no_cqe(self->r);
	check_stream_poison(slba, 4 * lba);
}

/*
 * Gathers take command slots as descriptors do: -EBUSY with every slot
 * holding an unreaped command, and the slots (and their plans) come back
 * as completions are reaped.
 */
TEST_F_TIMEOUT(nvme, writev_slots, 120)
{
	const __u32 lba = self->info.lba_size;
	struct unified_io_cqe cqes[16];
	struct unio_seg segs[2] = {};
	__u64 slba = area(&self->info, 13);
	struct unio_region *r2;
	struct unio_nvme *ns2;
	int ret;

	ASSERT_EQ(0, make_region(&r2, 16));	/* 16 command slots */
	ASSERT_EQ(0, unio_nvme_open(r2, self->chr_path, NULL, &ns2));
	segs[0].off = 4;
	segs[0].len = lba / 2;
	segs[1].off = 8192 + 4;
	segs[1].len = lba / 2;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 16; i++) {
			ret = unio_nvme_writev(r2, 0, segs, 2, slba + i, i);
			ASSERT_EQ(0, ret) TH_LOG("slot %d: %s", i, strerror(-ret));
		}
		EXPECT_EQ(-EBUSY, unio_nvme_writev(r2, 0, segs, 2, slba, 99));
		reap_n(r2, cqes, 16);
		for (int i = 0; i < 16; i++) {
			EXPECT_EQ((int)lba, cqes[i].res);
			EXPECT_GT(16U, cqes[i].user_data);
		}
	}
	expect_no_cqe(r2);
	unio_nvme_close(ns2);
	unio_region_destroy(r2);
}

/* The stream's bounce range: the data area's last MiB. */
#define BOUNCE_OFF	(DATA_SIZE - (1ULL << 20))

/*
 * Append @n chunks (their user_data: the index) to @st, taking what is
 * given back as it goes, and end it; every chunk comes back once, in order.
 */
static void __stream_all(struct __test_metadata *_metadata, struct unio_stream *st,
			 const struct unio_seg *segs, unsigned int n)
{
	uint64_t done[64];
	unsigned int back = 0;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		ret = unio_stream_append(st, segs[i].off, segs[i].len, i);
		if (ret == -ENOBUFS) {
			/* The bounce ring is full: let the writes finish. */
			ASSERT_EQ(0, unio_stream_sync(st, 0, REAP_NS));
			ret = unio_stream_append(st, segs[i].off, segs[i].len, i);
		}
		ASSERT_EQ(0, ret) TH_LOG("append %u: %s", i, strerror(-ret));
		ret = unio_stream_done(st, done, 64);
		ASSERT_LE(0, ret);
		for (int k = 0; k < ret; k++)
			ASSERT_EQ(back++, done[k]);
	}
	ASSERT_EQ(0, unio_stream_sync(st, UNIO_STREAM_SYNC_END, REAP_NS));
	while ((ret = unio_stream_done(st, done, 64)) > 0)
		for (int k = 0; k < ret; k++)
			ASSERT_EQ(back++, done[k]);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(n, back);
	EXPECT_EQ(-EPIPE, unio_stream_append(st, segs[0].off, segs[0].len, 0));
}

#define stream_all(st, segs, n) __stream_all(_metadata, st, segs, n)

/* The drive holds the stream @seed, @len bytes from @slba, zeros to a block. */
static void __check_padded(struct __test_metadata *_metadata, int bdev,
			   const struct unio_nvme_info *info, __u64 slba,
			   __u32 len, __u64 seed)
{
	__u32 lba = info->lba_size, padded = (len + lba - 1) / lba * lba;
	__u8 *buf = aligned(padded + lba);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)(padded + lba), pread(bdev, buf, padded + lba, slba * lba));
	check(buf, len, seed, 0, "the stored stream");
	for (__u32 i = len; i < padded + lba; i++) {
		if (buf[i] != (i < padded ? 0 : POISON)) {
			EXPECT_EQ(i < padded ? 0 : POISON, buf[i])
				TH_LOG("byte %u of the padded stream (%u bytes)", i, len);
			break;
		}
	}
	free(buf);
}

#define check_padded(slba, len, seed) \
	__check_padded(_metadata, self->bdev, &self->info, slba, len, seed)

/*
 * Store the @n chunks of @segs (the stream @seed, @total bytes) as one
 * stream at @slba with @so and check it all: every chunk given back, the
 * stream whole and padded on the drive, written once, @copied bytes copied.
 */
static void __stream_check(struct __test_metadata *_metadata, struct unio_region *r,
			   int bdev, const struct unio_nvme_info *info,
			   const struct unio_stream_opts *so, const struct unio_seg *segs,
			   unsigned int n, __u64 slba, __u32 total, __u64 seed, __u64 copied)
{
	__u32 lba = info->lba_size;
	struct unio_stream_info si;
	struct unio_stream *st;

	__poison(_metadata, bdev, info, slba, total + 2 * lba);
	ASSERT_EQ(0, unio_stream_open(r, slba, total / lba + 2, so, &st));
	__stream_all(_metadata, st, segs, n);
	ASSERT_EQ(0, unio_stream_get_info(st, &si));
	EXPECT_EQ(total, si.appended);
	EXPECT_EQ(total, si.durable);
	EXPECT_EQ(copied, si.copied_bytes);
	EXPECT_EQ((total + lba - 1) / lba * lba, si.drive_bytes);
	EXPECT_EQ(si.drive_bytes - total, si.pad_bytes);
	EXPECT_EQ(0, si.err);
	unio_stream_close(st);
	__check_padded(_metadata, bdev, info, slba, total, seed);
}

#define stream_check(so, segs, n, slba, total, seed, copied)			\
	__stream_check(_metadata, self->r, self->bdev, &self->info, so, segs, n, \
		       slba, total, seed, copied)

/*
 * A stream of MSS-sized chunks scattered over the buffers: on the drive as
 * it was sent, written once (drive bytes = the stream padded to a block),
 * no byte copied by the library or the kernel, in writes of write_bytes,
 * every chunk given back once its bytes are on the drive.
 */
TEST_F_TIMEOUT(nvme, stream_contiguous, 120)
{
	const __u32 lba = self->info.lba_size, chunk = 1448;
	const unsigned int n = 1000;
	const __u32 total = n * chunk - 100;
	UNIO_STREAM_OPTS(so, .write_bytes = 64 << 10, .bounce_off = BOUNCE_OFF,
			 .bounce_len = 1 << 20);
	struct unio_seg *segs = calloc(n, sizeof(*segs));
	__u64 slba = area(&self->info, 14);
	struct unio_stream_info si;
	struct unio_stream *st;
	bool probe = bounce_probe_on();
	long hits = probe ? bounce_hits() : -1;

	ASSERT_NE(NULL, segs);
	poison(slba, total + 2 * lba);
	memset(self->data, 0, DATA_SIZE);
	scatter(self->data, segs, n, chunk, chunk - 100, 100, 0x57e);
	ASSERT_EQ(0, unio_stream_open(self->r, slba, (total + lba) / lba + 1, &so, &st));
	stream_all(st, segs, n);
	ASSERT_EQ(0, unio_stream_get_info(st, &si));
	EXPECT_EQ(total, si.appended);
	EXPECT_EQ(total, si.durable);
	EXPECT_EQ((total + lba - 1) / lba * lba, si.drive_bytes);
	EXPECT_EQ(si.drive_bytes - total, si.pad_bytes);
	EXPECT_EQ(0U, si.copied_bytes);
	/* Writes of 64 KiB, then the whole blocks left, then the last one. */
	EXPECT_EQ(total / (64 << 10) + !!(total % (64 << 10) / lba) + !!(total % lba),
		  si.writes);
	EXPECT_LE(si.writes, si.commands);
	EXPECT_EQ(0, si.err);
	unio_stream_close(st);
	expect_no_cqe(self->r);
	check_padded(slba, total, 0x57e);
	if (probe) {
		EXPECT_EQ(hits, bounce_hits());
		bounce_probe_off();
	}
	free(segs);
}

/*
 * Chunks off the DMA alignment are copied, and only as far as needed: one
 * chunk 2 bytes off (that chunk alone); an MSS that is not a multiple of 4
 * (every chunk, counted), through a bounce ring smaller than the stream, so
 * that it wraps and appending waits for the writes.
 */
TEST_F_TIMEOUT(nvme, stream_misaligned, 120)
{
	const unsigned int n = 300;
	UNIO_STREAM_OPTS(so, .write_bytes = 16 << 10, .bounce_off = BOUNCE_OFF,
			 .bounce_len = 2 * 4096 + 3 * 4096);
	struct unio_seg *segs = calloc(n, sizeof(*segs));
	__u64 slba = area(&self->info, 15);

	ASSERT_NE(NULL, segs);
	/* One chunk 2 bytes into its buffer. */
	memset(self->data, 0, DATA_SIZE);
	scatter(self->data, segs, 40, 1448, 1448, 40, 0x3a1);
	segs[17].off += 2;
	for (__u32 j = 0; j < 1448; j++)
		self->data[segs[17].off + j] = ut_pattern(0x3a1, 17 * 1448 + j);
	stream_check(&so, segs, 40, slba, 40 * 1448, 0x3a1, 1448);

	/* An MSS of 1447 bytes: every chunk copied, the ring wrapping. */
	memset(self->data, 0, BOUNCE_OFF);
	scatter(self->data, segs, n, 1447, 1447, 100, 0x3a2);
	stream_check(&so, segs, n, slba, n * 1447, 0x3a2, n * 1447);
	free(segs);
}

/*
 * A flow shorter than a block (one chunk of 100 bytes), one of 2 bytes (off
 * the alignment: copied, padded), and one of nothing: written padded to one
 * block, and not at all.
 */
TEST_F_TIMEOUT(nvme, stream_tiny, 120)
{
	const __u32 lba = self->info.lba_size;
	UNIO_STREAM_OPTS(so, .bounce_off = BOUNCE_OFF, .bounce_len = 1 << 20);
	struct unio_seg seg = { .off = 4096, .len = 100 };
	__u64 slba = area(&self->info, 14);
	struct unio_stream_info si;
	struct unio_stream *st;

	fill(self->data + 4096, 100, 0x71);
	poison(slba, 2 * lba);
	ASSERT_EQ(0, unio_stream_open(self->r, slba, 1, &so, &st));
	stream_all(st, &seg, 1);
	ASSERT_EQ(0, unio_stream_get_info(st, &si));
	EXPECT_EQ(lba, si.drive_bytes);
	EXPECT_EQ(1U, si.writes);
	EXPECT_EQ(0U, si.copied_bytes);
	unio_stream_close(st);
	check_padded(slba, 100, 0x71);

	seg.len = 2;
	poison(slba, 2 * lba);
	ASSERT_EQ(0, unio_stream_open(self->r, slba, 1, &so, &st));
	stream_all(st, &seg, 1);
	ASSERT_EQ(0, unio_stream_get_info(st, &si));
	EXPECT_EQ(2U, si.copied_bytes);
	EXPECT_EQ(lba - 2, si.pad_bytes);
	unio_stream_close(st);
	check_padded(slba, 2, 0x71);

	poison(slba, 2 * lba);
	ASSERT_EQ(0, unio_stream_open(self->r, slba, 1, &so, &st));
	ASSERT_EQ(0, unio_stream_sync(st, UNIO_STREAM_SYNC_END, REAP_NS));
	ASSERT_EQ(0, unio_stream_get_info(st, &si));
	EXPECT_EQ(0U, si.drive_bytes);
	EXPECT_EQ(0U, si.writes);
	unio_stream_close(st);
	check_stream_poison(slba, 2 * lba);
}

/*
 * Every chunk copied (UNIO_STREAM_F_COPY, what a drive without SGLs gets):
 * the exact stream, every byte counted. Then the smallest ring (two blocks)
 * and chunks of half a block and 3 bytes off the alignment: copies wrap
 * inside a chunk, and appending waits for the writes.
 */
TEST_F_TIMEOUT(nvme, stream_copy_all, 120)
{
	const __u32 lba = self->info.lba_size;
	const unsigned int n = 200;
	UNIO_STREAM_OPTS(so, .write_bytes = 32 << 10, .bounce_off = BOUNCE_OFF,
			 .bounce_len = 64 << 10, .flags = UNIO_STREAM_F_COPY);
	struct unio_seg *segs = calloc(n, sizeof(*segs));
	__u64 slba = area(&self->info, 15);
	__u32 half = lba / 2 + 3;

	ASSERT_NE(NULL, segs);
	memset(self->data, 0, BOUNCE_OFF);
	scatter(self->data, segs, n, 1448, 1448, 100, 0xc0b);
	stream_check(&so, segs, n, slba, n * 1448, 0xc0b, n * 1448);

	so.flags = 0;
	so.bounce_len = 3 * lba;	/* a block of zeros, a ring of two */
	so.write_bytes = lba;
	memset(self->data, 0, BOUNCE_OFF);
	scatter(self->data, segs, n, half, half, 100, 0xc0c);
	stream_check(&so, segs, n, slba, n * half, 0xc0c, n * half);
	free(segs);
}

/*
 * The command table full of completions the caller has not reaped: sync
 * says -EBUSY, the end already begun refuses more bytes (-EPIPE), and once
 * the completions are reaped the stream ends whole. Closing a stream with
 * writes still in a namespace's backlog (queue depth 1) waits for them.
 */
TEST_F_TIMEOUT(nvme, stream_busy, 120)
{
	const __u32 lba = self->info.lba_size;
	UNIO_NVME_OPTS(nopts, .queue_depth = 1);
	UNIO_STREAM_OPTS(so, .write_bytes = lba, .bounce_off = 1 << 20,
			 .bounce_len = 1 << 20);
	struct unio_seg seg = { .off = 0, .len = lba };
	struct unified_io_cqe cqes[16];
	__u64 slba = area(&self->info, 14);
	struct unio_stream_info si;
	struct unio_stream *st;
	struct unio_region *r2;
	struct unio_nvme *ns2;
	uint64_t done[8];
	__u8 *data;

	ASSERT_EQ(0, make_region(&r2, 16));	/* 16 command slots */
	ASSERT_EQ(0, unio_nvme_open(r2, self->chr_path, &nopts, &ns2));
	data = unio_region_data(r2);
	fill(data + 4096, 8 * lba, 0xb5);
	poison(slba, 8 * lba);
	ASSERT_EQ(0, unio_stream_open(r2, slba, 8, &so, &st));
	/* 4 whole blocks and 2 bytes, the last chunk off the alignment. */
	ASSERT_EQ(0, unio_stream_append(st, 4096, 4 * lba, 1));
	ASSERT_EQ(0, unio_stream_append(st, 4096 + 4 * lba, 2, 2));
	ASSERT_EQ(0, unio_stream_sync(st, 0, REAP_NS));
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(0, unio_nvme_writev(r2, 0, &seg, 1, slba + 8 + i, i));
	EXPECT_EQ(-EBUSY, unio_stream_sync(st, UNIO_STREAM_SYNC_END, REAP_NS));
	EXPECT_EQ(-EPIPE, unio_stream_append(st, 4096, 4, 3));
	reap_n(r2, cqes, 16);
	ASSERT_EQ(0, unio_stream_sync(st, UNIO_STREAM_SYNC_END, REAP_NS));
	EXPECT_EQ(2, unio_stream_done(st, done, 8));
	unio_stream_close(st);
	check_padded(slba, 4 * lba + 2, 0xb5);

	/* Writes of one block each, queue depth 1: close waits for all. */
	poison(slba, 9 * lba);
	ASSERT_EQ(0, unio_stream_open(r2, slba, 8, &so, &st));
	ASSERT_EQ(0, unio_stream_append(st, 4096, 8 * lba, 1));
	ASSERT_EQ(0, unio_stream_get_info(st, &si));
	EXPECT_EQ(8U, si.writes);
	unio_stream_close(st);
	expect_no_cqe(r2);
	unio_nvme_close(ns2);
	unio_region_destroy(r2);
	__check_padded(_metadata, self->bdev, &self->info, slba, 8 * lba, 0xb5);
}

/* Bad arguments: each refused with its errno, the stream unharmed. */
TEST_F_TIMEOUT(nvme, stream_invalid, 120)
{
	const __u32 lba = self->info.lba_size;
	UNIO_STREAM_OPTS(so, .bounce_off = BOUNCE_OFF, .bounce_len = 1 << 20);
	__u64 slba = area(&self->info, 14);
	uint64_t done[4];
	struct unio_stream_info si;
	struct unio_stream *st;

	EXPECT_EQ(-EINVAL, unio_stream_open(NULL, slba, 1, &so, &st));
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, slba, 0, &so, &st));
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, slba, 1, &so, NULL));
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, self->info.nr_lbas, 1, &so, &st));
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, 1, self->info.nr_lbas, &so, &st));
	so.nsid = self->info.nsid + 100;
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, slba, 1, &so, &st));
	so.nsid = 0;
	so.bounce_len = 2 * lba - 4;
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, slba, 1, &so, &st));
	so.bounce_len = 1 << 20;
	so.bounce_off = BOUNCE_OFF + 2;
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, slba, 1, &so, &st));
	so.bounce_off = DATA_SIZE - 4096;
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, slba, 1, &so, &st));
	so.bounce_off = BOUNCE_OFF;
	so.flags = 2;
	EXPECT_EQ(-EINVAL, unio_stream_open(self->r, slba, 1, &so, &st));
	so.flags = 0;

	ASSERT_EQ(0, unio_stream_open(self->r, slba, 2, &so, &st));
	EXPECT_EQ(-EINVAL, unio_stream_append(NULL, 0, 4, 0));
	EXPECT_EQ(-EINVAL, unio_stream_append(st, 0, 0, 0));
	EXPECT_EQ(-EINVAL, unio_stream_append(st, DATA_SIZE, 4, 0));
	EXPECT_EQ(-EINVAL, unio_stream_append(st, DATA_SIZE - 4, 8, 0));
	EXPECT_EQ(-ENOSPC, unio_stream_append(st, 0, 2 * lba + 4, 0));
	EXPECT_EQ(-EINVAL, unio_stream_done(st, NULL, 1));
	EXPECT_EQ(-EINVAL, unio_stream_sync(st, 2, 0));
	EXPECT_EQ(-EINVAL, unio_stream_get_info(st, NULL));
	/* Nothing of that reached the stream. */
	ASSERT_EQ(0, unio_stream_get_info(st, &si));
	EXPECT_EQ(0U, si.appended);
	EXPECT_EQ(0, si.err);
	EXPECT_EQ(0, unio_stream_append(st, 0, 2 * lba, 5));
	ASSERT_EQ(0, unio_stream_sync(st, UNIO_STREAM_SYNC_END, REAP_NS));
	EXPECT_EQ(1, unio_stream_done(st, done, 4));
	EXPECT_EQ(5U, done[0]);
	EXPECT_EQ(-EPIPE, unio_stream_append(st, 0, 4, 0));
	unio_stream_close(st);
	expect_no_cqe(self->r);
}

/*
 * Strings for a few status codes: libnvme's, the specification's name and a
 * description after it; More and Do Not Retry (0x6000) do not change them.
 */
TEST(nvme_status_strings)
{
	EXPECT_STATUS_STR("Successful Completion: ", 0);
	EXPECT_STATUS_STR("Invalid Field in Command: ", 0x4002);
	EXPECT_STATUS_STR("LBA Out of Range: ", 0x4080);
	EXPECT_STATUS_STR("LBA Out of Range: ", 0x6080);
	EXPECT_STATUS_STR("Unrecovered Read Error: ", 0x281);
	EXPECT_STATUS_STR("Attempted Write to Read Only Range: ", 0x182);
	EXPECT_STREQ("Vendor Specific Status", unio_nvme_status_str(0x7ff));
	EXPECT_STREQ("unrecognized", unio_nvme_status_str(0x7f));
	EXPECT_EQ(1U, unio_nvme_sct(0x4182));
	EXPECT_EQ(0x82U, unio_nvme_sc(0x4182));
}

TEST_HARNESS_MAIN
