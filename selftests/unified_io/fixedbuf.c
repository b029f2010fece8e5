// SPDX-License-Identifier: GPL-2.0
/*
 * The data area as an io_uring fixed buffer: register the mapped data area,
 * READ_FIXED from a file of known content into it at several offsets
 * (across buffer and huge-page boundaries), verify byte for byte through
 * the mapping with everything around untouched; WRITE_FIXED back out and
 * read the file; registration outliving close() of the region's fd; and the
 * library's unio_register_io_uring().
 */
#include <liburing.h>
#include <sys/uio.h>

#include "ut.h"

#define FILE_SIZE	(6ULL << 20)
#define POISON		0x5a
#define SEED		0x5eedULL

FIXTURE(fixed) {
	struct ut_region r;
	struct io_uring ring;
	bool ring_ok;
	int file;
	char path[64];
};

FIXTURE_VARIANT(fixed) {
	__u32 flags;
	__u32 buf;
	__u64 data;
};

FIXTURE_VARIANT_ADD(fixed, bufs_64k) {
	.buf = 64 << 10,
	.data = 4 << 20,
};

FIXTURE_VARIANT_ADD(fixed, bufs_4k) {
	.buf = 4096,
	.data = 2 << 20,
};

FIXTURE_VARIANT_ADD(fixed, huge_pages) {
	.flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
	.buf = 2 << 20,
	.data = 4 << 20,
};

FIXTURE_VARIANT_ADD(fixed, huge_pages_64k_bufs) {
	.flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
	.buf = 64 << 10,
	.data = 4 << 20,
};

/* A file whose byte at offset o is ut_pattern(SEED, o). */
static int make_file(char *path, size_t pathlen)
{
	static __u8 chunk[64 << 10];
	int fd;

	snprintf(path, pathlen, "/tmp/unio-fixed-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (__u64 off = 0; off < FILE_SIZE; off += sizeof(chunk)) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = ut_pattern(SEED, off + i);
		if (pwrite(fd, chunk, sizeof(chunk), off) != sizeof(chunk)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

FIXTURE_SETUP(fixed)
{
	int ret;

	self->file = -1;
	if (!ut_region_create(&self->r, 8, 16, variant->buf, variant->data,
			       variant->flags))
		return;
	ret = io_uring_queue_init(8, &self->ring, 0);
	if (ret == -EPERM || ret == -ENOSYS)
		SKIP(return, "io_uring unavailable: %s", strerror(-ret));
	ASSERT_EQ(0, ret);
	self->ring_ok = true;
	self->file = make_file(self->path, sizeof(self->path));
	ASSERT_LE(0, self->file) TH_LOG("test file: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fixed)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->file >= 0) {
		close(self->file);
		unlink(self->path);
	}
	ut_region_destroy(&self->r);
}

static int register_data(struct io_uring *ring, const struct ut_region *r)
{
	struct iovec iov = {
		.iov_base = r->map + r->l.data_off,
		.iov_len = r->l.data_size,
	};

	return io_uring_register_buffers(ring, &iov, 1);
}

/* One fixed read or write of @len bytes, looping on short transfers. */
static int rw_fixed(struct io_uring *ring, bool write, int fd, __u8 *buf,
		    size_t len, __u64 off)
{
	size_t done = 0;

	while (done < len) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		struct io_uring_cqe *cqe;
		int ret;

		if (!sqe)
			return -EBUSY;
		if (write)
			io_uring_prep_write_fixed(sqe, fd, buf + done, len - done,
						  off + done, 0);
		else
			io_uring_prep_read_fixed(sqe, fd, buf + done, len - done,
						 off + done, 0);
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0)
			return ret;
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0)
			return ret;
		ret = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		if (ret <= 0)
			return ret ? ret : -EIO;
		done += ret;
	}
	return done;
}

struct xfer {
	__u64 at;	/* data-area offset */
	__u64 file_off;
	__u64 len;
};

/* The cases, built from the geometry: start, buffer and page boundaries. */
static int xfers(const struct ut_region *r, struct xfer *x)
{
	__u64 bs = r->l.buf_size, ds = r->l.data_size;
	int n = 0;

	x[n++] = (struct xfer){ 0, 0, bs < 65536 ? bs : 65536 };
	x[n++] = (struct xfer){ bs - 100, 4096, 300 };		/* across a buffer */
	x[n++] = (struct xfer){ bs + 1, 777, 3 * bs + 5 };	/* several buffers */
	x[n++] = (struct xfer){ ds / 2 + 123, 999, 200000 };
	x[n++] = (struct xfer){ UT_SZ_2M - 5000, 12345, 10000 };	/* across 2 MiB */
	x[n++] = (struct xfer){ ds - 8192, 1 << 20, 8192 };	/* the end */
	x[n++] = (struct xfer){ 0, 4096, ds };			/* everything */
	for (int i = 0; i < n; i++)
		if (x[i].at + x[i].len > ds)
			x[i].len = ds - x[i].at;
	return n;
}

/* [at, at+len) holds the file's bytes from file_off; the rest is poison. */
static void check_area(struct __test_metadata *_metadata, const __u8 *data,
		       __u64 size, const struct xfer *x)
{
	for (__u64 i = 0; i < size; i++) {
		__u8 want = (i >= x->at && i < x->at + x->len) ?
			    ut_pattern(SEED, x->file_off + (i - x->at)) : POISON;

		if (data[i] != want) {
			TH_LOG("xfer [%llu, +%llu) from %llu: byte %llu is %#x, want %#x",
			       (unsigned long long)x->at, (unsigned long long)x->len,
			       (unsigned long long)x->file_off,
			       (unsigned long long)i, data[i], want);
			ASSERT_EQ(want, data[i]);
		}
	}
}

TEST_F_TIMEOUT(fixed, read_fixed_into_region, 300)
{
	struct ut_region *r = &self->r;
	__u8 *data = r->map + r->l.data_off;
	struct xfer x[8];
	int n = xfers(r, x);

	ASSERT_EQ(0, register_data(&self->ring, r));
	for (int i = 0; i < n; i++) {
		memset(data, POISON, r->l.data_size);
		ASSERT_EQ((int)x[i].len, rw_fixed(&self->ring, false, self->file,
						  data + x[i].at, x[i].len,
						  x[i].file_off))
			TH_LOG("READ_FIXED [%llu, +%llu)", (unsigned long long)x[i].at,
			       (unsigned long long)x[i].len);
		check_area(_metadata, data, r->l.data_size, &x[i]);
	}
	/* Through a separate mapping of the data area, too. */
	{
		__u8 *alias = mmap(NULL, r->l.data_size, PROT_READ, MAP_SHARED,
				   r->fd, r->l.data_off);

		ASSERT_NE(MAP_FAILED, alias);
		check_area(_metadata, alias, r->l.data_size, &x[n - 1]);
		munmap(alias, r->l.data_size);
	}
	ASSERT_EQ(0, io_uring_unregister_buffers(&self->ring));
}

TEST_F_TIMEOUT(fixed, write_fixed_from_region, 300)
{
	struct ut_region *r = &self->r;
	__u8 *data = r->map + r->l.data_off;
	__u64 ds = r->l.data_size, bs = r->l.buf_size;
	struct xfer x[] = {
		{ 0, 0, ds },
		{ bs - 100, ds + 50, 300 },
		{ ds / 2 + 7, ds + 8192, ds / 2 - 7 },
	};
	char path[64];
	__u8 *back;
	int out;

	snprintf(path, sizeof(path), "/tmp/unio-wfixed-XXXXXX");
	out = mkstemp(path);
	ASSERT_LE(0, out);
	unlink(path);
	for (__u64 i = 0; i < ds; i++)
		data[i] = ut_pattern(SEED + 1, i);
	ASSERT_EQ(0, register_data(&self->ring, r));
	for (size_t i = 0; i < UT_ARRAY_SIZE(x); i++) {
		ASSERT_EQ((int)x[i].len, rw_fixed(&self->ring, true, out,
						  data + x[i].at, x[i].len,
						  x[i].file_off))
			TH_LOG("WRITE_FIXED [%llu, +%llu)", (unsigned long long)x[i].at,
			       (unsigned long long)x[i].len);
	}
	back = malloc(ds);
	ASSERT_NE(NULL, back);
	for (size_t i = 0; i < UT_ARRAY_SIZE(x); i++) {
		ASSERT_EQ((ssize_t)x[i].len, pread(out, back, x[i].len, x[i].file_off));
		for (__u64 j = 0; j < x[i].len; j++) {
			if (back[j] != ut_pattern(SEED + 1, x[i].at + j)) {
				TH_LOG("write %zu: file byte %llu", i,
				       (unsigned long long)(x[i].file_off + j));
				ASSERT_EQ(ut_pattern(SEED + 1, x[i].at + j), back[j]);
			}
		}
	}
	free(back);
	close(out);
	ASSERT_EQ(0, io_uring_unregister_buffers(&self->ring));
}

/* The pinned pages outlive the region's fd and mapping while registered. */
TEST_F_TIMEOUT(fixed, registration_outlives_close, 300)
{
	struct ut_region *r = &self->r;
	__u8 *data = r->map + r->l.data_off;
	struct xfer x = { 4096, 8192, 65536 };

	ASSERT_EQ(0, register_data(&self->ring, r));
	ASSERT_EQ(0, close(r->fd));
	r->fd = -1;
	memset(data, POISON, r->l.data_size);
	ASSERT_EQ((int)x.len, rw_fixed(&self->ring, false, self->file,
				       data + x.at, x.len, x.file_off));
	check_area(_metadata, data, r->l.data_size, &x);
	/* Unmap: only io_uring holds the pages now; a read still lands. */
	ASSERT_EQ(0, munmap(r->map, r->map_len));
	r->map = NULL;
	ASSERT_EQ((int)x.len, rw_fixed(&self->ring, false, self->file,
				       data + x.at, x.len, x.file_off + 1));
	ASSERT_EQ(0, io_uring_unregister_buffers(&self->ring));
}

/* The library's helper registers the same thing. */
TEST(library_register_io_uring)
{
	UNIO_OPTS(opts, .buf_size = 64 << 10, .data_size = 2 << 20);
	struct unio_region *ur = NULL;
	struct io_uring ring;
	char path[64];
	__u8 *data;
	int ret, file;

	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, unio_region_create(&opts, &ur));
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret == -EPERM || ret == -ENOSYS) {
		unio_region_destroy(ur);
		SKIP(return, "io_uring unavailable");
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, unio_register_io_uring(ur, &ring));
	file = make_file(path, sizeof(path));
	ASSERT_LE(0, file);
	data = unio_region_data(ur);
	ASSERT_NE(NULL, data);
	memset(data, POISON, 2 << 20);
	ASSERT_EQ(100000, rw_fixed(&ring, false, file, data + 70000, 100000, 5));
	for (int i = 0; i < 100000; i++) {
		if (data[70000 + i] != ut_pattern(SEED, 5 + i))
			ASSERT_EQ(ut_pattern(SEED, 5 + i), data[70000 + i]);
	}
	EXPECT_EQ(POISON, data[69999]);
	EXPECT_EQ(POISON, data[170000]);
	close(file);
	unlink(path);
	io_uring_queue_exit(&ring);
	unio_region_destroy(ur);
}

TEST_HARNESS_MAIN
