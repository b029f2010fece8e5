/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the unified_io selftests.
 *
 * Everything here talks to the device with raw ioctls and its own mmap of the
 * region; struct unio_queue is filled from the layout SETUP returned, so the
 * inline ring helpers of unifiedio.h can be used without the library's
 * region code. Helpers that assert take the harness's _metadata.
 *
 * No helper asserts from a thread other than the test's: ASSERT aborts the
 * whole test process, so threads record results and the test checks them.
 */
#ifndef UT_H
#define UT_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/unified_io.h>

#include "unifiedio.h"
#include "kselftest_harness.h"

/*
 * The harness kills a test after 30 s by default, which a test that takes
 * 2 s on hardware exceeds in a TCG guest running the debug kernel (KASAN,
 * lockdep) beside a kernel build: bind.userns_root did in a cold
 * make check.  A hang is still caught, later; tests that need longer than
 * this say so with TEST_F_TIMEOUT.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 300

#define UT_PAGE_SIZE	((size_t)sysconf(_SC_PAGESIZE))
#define UT_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define UT_SZ_2M	(2UL << 20)

/* Open the device; SKIP the test when it is not there. */
#define UT_OPEN(fd) do {						\
	(fd) = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);		\
	if ((fd) < 0 && (errno == ENOENT || errno == ENODEV ||		\
			 errno == ENXIO))				\
		SKIP(return, "%s: %s", UNIFIED_IO_DEVICE,		\
		     strerror(errno));					\
	ASSERT_LE(0, (fd)) TH_LOG("open %s: %s", UNIFIED_IO_DEVICE,	\
				  strerror(errno));			\
} while (0)

/* SKIP unless the device is there; a test that opens it later starts so. */
#define UT_REQUIRE_DEVICE() do {					\
	int __fd;							\
									\
	UT_OPEN(__fd);							\
	close(__fd);							\
} while (0)

/* ioctl() returning the result or -errno. */
static inline int ut_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline void ut_setup_init(struct unified_io_setup *s, __u32 sq,
				  __u32 cq, __u32 buf_size, __u64 data_size,
				  __u32 flags)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->flags = flags;
	s->sq_entries = sq;
	s->cq_entries = cq;
	s->buf_size = buf_size;
	s->data_size = data_size;
}

static inline int ut_get_info(int fd, struct unified_io_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ut_ioctl(fd, UNIFIED_IO_GET_INFO, info);
}

/*
 * The value of @key in region fd @fd's /proc fdinfo, or -1.  fdinfo only
 * tries the region's lock and leaves the counters out while it is taken
 * (a SUBMIT, a run of an armed RECV): read again, for a second at most.
 */
static inline long long ut_fdinfo(int fd, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long long v = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	for (int tries = 0; v < 0 && tries < 1000; tries++) {
		FILE *f = fopen(path, "r");

		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, key, kl) && line[kl] == ':')
				v = strtoll(line + kl + 1, NULL, 10);
		fclose(f);
		if (v < 0)
			usleep(1000);
	}
	return v;
}

/* SQ mode SUBMIT of at most @to_submit entries. */
static inline int ut_submit(int fd, __u32 to_submit)
{
	struct unified_io_submit sub = {
		.size = sizeof(sub),
		.to_submit = to_submit,
	};

	return ut_ioctl(fd, UNIFIED_IO_SUBMIT, &sub);
}

static inline int ut_submit_inline(int fd, const struct unified_io_desc *d)
{
	struct unified_io_submit sub = {
		.size = sizeof(sub),
		.flags = UNIFIED_IO_SUBMIT_F_INLINE,
		.desc = *d,
	};

	return ut_ioctl(fd, UNIFIED_IO_SUBMIT, &sub);
}

/* COMPLETE; *ready (if given) gets the kernel's @ready, 0xdeadbeef if untouched. */
static inline int ut_complete(int fd, __u32 min_complete, __u64 timeout_ns,
			       __u32 *ready)
{
	struct unified_io_complete c = {
		.size = sizeof(c),
		.min_complete = min_complete,
		.ready = 0xdeadbeef,
		.timeout_ns = timeout_ns,
	};
	int ret = ut_ioctl(fd, UNIFIED_IO_COMPLETE, &c);

	if (ready)
		*ready = c.ready;
	return ret;
}

static inline __u64 ut_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline bool ut_is_pow2(__u64 v)
{
	return v && !(v & (v - 1));
}

/* A context with a region, mapped whole, and the rings as a unio_queue. */
struct ut_region {
	int fd;
	struct unified_io_setup setup;
	struct unified_io_region_layout l;
	__u8 *map;
	size_t map_len;
	struct unio_queue q;
	struct unified_io_stats *stats;		/* control-area copy */
	struct unified_io_config *config;	/* control-area copy */
	struct unified_io_buf_entry *bt;	/* buffer table mirror */
};

/* Fill r->q and the pointers from r->l and r->map. */
static inline void ut_region_wire(struct ut_region *r)
{
	__u8 *desc = r->map + r->l.desc_off;

	memset(&r->q, 0, sizeof(r->q));
	r->q.fd = r->fd;
	r->q.sq.khead = (__u32 *)(r->map + r->l.sq.head);
	r->q.sq.ktail = (__u32 *)(r->map + r->l.sq.tail);
	r->q.sq.sqes = (struct unified_io_desc *)(desc + r->l.sq.array);
	r->q.sq.ring_mask = r->l.sq.ring_mask;
	r->q.sq.ring_entries = r->l.sq.ring_entries;
	r->q.sq.sqe_tail = *r->q.sq.ktail;
	r->q.cq.khead = (__u32 *)(r->map + r->l.cq.head);
	r->q.cq.ktail = (__u32 *)(r->map + r->l.cq.tail);
	r->q.cq.cqes = (struct unified_io_cqe *)(desc + r->l.cq.array);
	r->q.cq.ring_mask = r->l.cq.ring_mask;
	r->q.cq.ring_entries = r->l.cq.ring_entries;
	r->q.buf_size = r->l.buf_size;
	r->q.data = r->map + r->l.data_off;
	r->q.data_size = r->l.data_size;
	r->stats = (struct unified_io_stats *)(r->map + r->l.stats);
	r->config = (struct unified_io_config *)(r->map + r->l.config);
	r->bt = (struct unified_io_buf_entry *)(desc + r->l.buf_table);
}

/*
 * Open, SETUP and map a region. Returns false after SKIP (device absent);
 * asserts on any other failure.
 */
static inline bool __ut_region_create(struct __test_metadata *_metadata,
				       struct ut_region *r, __u32 sq, __u32 cq,
				       __u32 buf_size, __u64 data_size,
				       __u32 flags)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	if (r->fd < 0 && (errno == ENOENT || errno == ENODEV || errno == ENXIO)) {
		SKIP(return false, "%s: %s", UNIFIED_IO_DEVICE, strerror(errno));
	}
	ASSERT_LE(0, r->fd);
	ut_setup_init(&r->setup, sq, cq, buf_size, data_size, flags);
	ret = ut_ioctl(r->fd, UNIFIED_IO_SETUP, &r->setup);
	ASSERT_EQ(0, ret) TH_LOG("SETUP sq %u cq %u buf %u data %llu flags %#x: %s",
				 sq, cq, buf_size, (unsigned long long)data_size,
				 flags, strerror(-ret));
	r->l = r->setup.layout;
	r->map_len = r->l.region_size;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      r->fd, 0);
	ASSERT_NE(MAP_FAILED, r->map) TH_LOG("mmap region: %s", strerror(errno));
	ut_region_wire(r);
	return true;
}

#define ut_region_create(r, sq, cq, bs, ds, fl)			\
	__ut_region_create(_metadata, r, sq, cq, bs, ds, fl)

static inline void ut_region_destroy(struct ut_region *r)
{
	if (r->map && r->map != MAP_FAILED)
		munmap(r->map, r->map_len);
	r->map = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static inline int ut_region_info(struct ut_region *r,
				  struct unified_io_info *info)
{
	return ut_get_info(r->fd, info);
}

/*
 * Reap the one completion a submit of @d just posted into *cqe, asserting it
 * is @d's; returns cqe->res.
 */
static inline int __ut_reap_one(struct __test_metadata *_metadata,
				 struct ut_region *r,
				 const struct unified_io_desc *d,
				 struct unified_io_cqe *cqe)
{
	struct unified_io_cqe *c;

	ASSERT_EQ(1U, unio_cq_ready(&r->q));
	c = unio_peek_cqe(&r->q);
	ASSERT_NE(NULL, c);
	*cqe = *c;
	unio_cqe_seen(&r->q);
	ASSERT_EQ(d->user_data, cqe->user_data);
	ASSERT_EQ(d->opcode, cqe->opcode);
	return cqe->res;
}

/*
 * Submit one descriptor through the SQ and reap its completion into *cqe.
 * Asserts the round trip itself works; returns cqe->res.
 */
static inline int __ut_do(struct __test_metadata *_metadata,
			   struct ut_region *r, const struct unified_io_desc *d,
			   struct unified_io_cqe *cqe)
{
	struct unified_io_desc *sqe;
	__u32 head;

	ASSERT_EQ(0U, unio_cq_ready(&r->q));
	head = unio_smp_load_acquire(r->q.sq.khead);
	sqe = unio_get_sqe(&r->q);
	ASSERT_NE(NULL, sqe);
	*sqe = *d;
	unio_sq_flush(&r->q);
	ASSERT_EQ(1, ut_submit(r->fd, 1));
	ASSERT_EQ(head + 1, unio_smp_load_acquire(r->q.sq.khead));
	return __ut_reap_one(_metadata, r, d, cqe);
}

#define ut_do(r, d, cqe)	__ut_do(_metadata, r, d, cqe)

/* The same through an inline SUBMIT. */
static inline int __ut_do_inline(struct __test_metadata *_metadata,
				  struct ut_region *r,
				  const struct unified_io_desc *d,
				  struct unified_io_cqe *cqe)
{
	ASSERT_EQ(0U, unio_cq_ready(&r->q));
	ASSERT_EQ(1, ut_submit_inline(r->fd, d));
	return __ut_reap_one(_metadata, r, d, cqe);
}

#define ut_do_inline(r, d, cqe)	__ut_do_inline(_metadata, r, d, cqe)

/* ALLOC one buffer for @owner; returns res, *off the buffer's offset. */
static inline int __ut_alloc(struct __test_metadata *_metadata,
			      struct ut_region *r, __u16 owner, __u64 *off)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;
	int res;

	unio_prep_alloc(&d, owner, 0xa110c000ULL | owner);
	res = ut_do(r, &d, &cqe);
	if (off)
		*off = cqe.addr;
	return res;
}

#define ut_alloc(r, owner, off)	__ut_alloc(_metadata, r, owner, off)

static inline int __ut_free(struct __test_metadata *_metadata,
			     struct ut_region *r, __u16 owner, __u64 off)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;

	unio_prep_free(&d, owner, off, 0xf4eeULL << 32 | off);
	return ut_do(r, &d, &cqe);
}

#define ut_free(r, owner, off)		__ut_free(_metadata, r, owner, off)

/* Drop CAP_IPC_LOCK from every set of the calling thread (for a child). */
static inline int ut_drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	data[cap / 32].permitted &= ~(1U << (cap % 32));
	data[cap / 32].inheritable &= ~(1U << (cap % 32));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static inline bool ut_has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

/* Run @fn in a forked child; returns its exit status (or 128 + signal). */
static inline int ut_in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Cheap deterministic PRNG for patterns and scribbling. */
static inline __u64 ut_rand(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Byte @i of the test pattern seeded by @seed. */
static inline __u8 ut_pattern(__u64 seed, __u64 i)
{
	__u64 x = (i + seed) * 0x9e3779b97f4a7c15ULL;

	return (__u8)(x >> 56) ^ (__u8)i;
}

/* Field by field, so a mismatch names the field. */
static inline void __ut_check_config(struct __test_metadata *_metadata,
				      const struct unified_io_config *want,
				      const struct unified_io_config *got)
{
	EXPECT_EQ(want->abi_version, got->abi_version);
	EXPECT_EQ(want->features, got->features);
	EXPECT_EQ(want->setup_flags, got->setup_flags);
	EXPECT_EQ(want->numa_node, got->numa_node);
	EXPECT_EQ(want->sq_entries, got->sq_entries);
	EXPECT_EQ(want->cq_entries, got->cq_entries);
	EXPECT_EQ(want->buf_size, got->buf_size);
	EXPECT_EQ(want->nr_bufs, got->nr_bufs);
	EXPECT_EQ(want->data_size, got->data_size);
	EXPECT_EQ(want->huge_pages, got->huge_pages);
	EXPECT_EQ(want->small_pages, got->small_pages);
	EXPECT_EQ(want->resv[0], got->resv[0]);
	EXPECT_EQ(want->resv[1], got->resv[1]);
}

#define ut_check_config(want, got)	__ut_check_config(_metadata, want, got)

static inline void __ut_check_stats(struct __test_metadata *_metadata,
				     const struct unified_io_stats *want,
				     const struct unified_io_stats *got)
{
	EXPECT_EQ(want->submit_calls, got->submit_calls);
	EXPECT_EQ(want->sqes, got->sqes);
	EXPECT_EQ(want->cqes, got->cqes);
	EXPECT_EQ(want->errors, got->errors);
	EXPECT_EQ(want->sq_bad_tail, got->sq_bad_tail);
	EXPECT_EQ(want->cq_full, got->cq_full);
	EXPECT_EQ(want->cq_bad_head, got->cq_bad_head);
	EXPECT_EQ(want->waits, got->waits);
	for (int i = 0; i < 8; i++) {
		EXPECT_EQ(want->ops[i], got->ops[i]) TH_LOG("ops[%d]", i);
	}
	EXPECT_EQ(want->bufs_free, got->bufs_free);
	EXPECT_EQ(want->bufs_app, got->bufs_app);
	EXPECT_EQ(want->bufs_kernel, got->bufs_kernel);
	EXPECT_EQ(want->resv, got->resv);
}

#define ut_check_stats(want, got)	__ut_check_stats(_metadata, want, got)

#endif /* UT_H */
