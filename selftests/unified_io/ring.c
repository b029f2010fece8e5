// SPDX-License-Identifier: GPL-2.0
/*
 * The SQ and CQ: NOP round trips, user_data, wrap-around, full SQ, full CQ
 * back-pressure (EBUSY, nothing consumed, nothing lost), inline submits,
 * COMPLETE waits and wake-ups, poll(), concurrent submitters, statistics.
 */
#include <sys/epoll.h>

#include "ut.h"

FIXTURE(ring) {
	struct ut_region r;
};

FIXTURE_VARIANT(ring) {
	__u32 sq, cq;
};

/* The variant ring.sq<S>_cq<C>: an S-entry SQ and a C-entry CQ. */
#define RING_VARIANT(s, c)						\
	FIXTURE_VARIANT_ADD(ring, sq##s##_cq##c) {			\
		.sq = s,						\
		.cq = c,						\
	}

RING_VARIANT(8, 16);
RING_VARIANT(1, 1);
RING_VARIANT(16, 16);
RING_VARIANT(4, 64);

FIXTURE_SETUP(ring)
{
	if (!ut_region_create(&self->r, variant->sq, variant->cq, 4096,
			       16 * 4096, 0))
		return;
}

FIXTURE_TEARDOWN(ring)
{
	ut_region_destroy(&self->r);
}

/* Queue NOPs with user_data base, base+1, ...; returns how many fit. */
static unsigned int queue_nops(struct unio_queue *q, unsigned int n,
			       __u64 base)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct unified_io_desc *d = unio_get_sqe(q);

		if (!d)
			break;
		unio_prep_nop(d, base + i);
	}
	unio_sq_flush(q);
	return i;
}

/* Reap @n CQEs and check they are NOPs with user_data base, base+1, ... */
static void reap_nops(struct __test_metadata *_metadata, struct unio_queue *q,
		      unsigned int n, __u64 base)
{
	ASSERT_LE(n, unio_cq_ready(q));
	for (unsigned int i = 0; i < n; i++) {
		struct unified_io_cqe *c = unio_peek_cqe(q);

		ASSERT_NE(NULL, c);
		ASSERT_EQ(base + i, c->user_data);
		ASSERT_EQ(0, c->res);
		ASSERT_EQ(UNIFIED_IO_OP_NOP, c->opcode);
		unio_cqe_seen(q);
	}
}

TEST_F(ring, nop_roundtrip)
{
	struct unio_queue *q = &self->r.q;
	struct unified_io_desc *d;
	struct unified_io_cqe *c;
	struct unified_io_info info;

	d = unio_get_sqe(q);
	ASSERT_NE(NULL, d);
	unio_prep_nop(d, 0x0123456789abcdefULL);
	unio_sq_flush(q);
	ASSERT_EQ(1U, *q->sq.ktail);
	ASSERT_EQ(0U, *q->sq.khead);
	ASSERT_EQ(0U, unio_cq_ready(q));

	ASSERT_EQ(1, ut_submit(self->r.fd, 1));
	ASSERT_EQ(1U, unio_smp_load_acquire(q->sq.khead));
	ASSERT_EQ(1U, unio_smp_load_acquire(q->cq.ktail));
	c = unio_peek_cqe(q);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(0x0123456789abcdefULL, c->user_data);
	EXPECT_EQ(0, c->res);
	EXPECT_EQ(0U, c->flags);
	EXPECT_EQ(0ULL, c->addr);
	EXPECT_EQ(UNIFIED_IO_OP_NOP, c->opcode);
	for (int i = 0; i < 7; i++) {
		EXPECT_EQ(0, c->resv[i]);
	}
	unio_cqe_seen(q);
	EXPECT_EQ(1U, *q->cq.khead);

	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(1ULL, info.stats.submit_calls);
	EXPECT_EQ(1ULL, info.stats.sqes);
	EXPECT_EQ(1ULL, info.stats.cqes);
	EXPECT_EQ(0ULL, info.stats.errors);
	EXPECT_EQ(1ULL, info.stats.ops[UNIFIED_IO_OP_NOP]);
}

TEST_F(ring, user_data_roundtrip)
{
	static const __u64 values[] = {
		0, 1, ~0ULL, 1ULL << 63, 0xdeadbeefcafebabeULL, 0xffffffffULL,
		0x100000000ULL, 42,
	};
	struct unio_queue *q = &self->r.q;

	for (size_t i = 0; i < UT_ARRAY_SIZE(values); i++) {
		struct unified_io_desc *d = unio_get_sqe(q);
		struct unified_io_cqe *c;

		ASSERT_NE(NULL, d);
		unio_prep_nop(d, values[i]);
		unio_sq_flush(q);
		ASSERT_EQ(1, ut_submit(self->r.fd, 1));
		c = unio_peek_cqe(q);
		ASSERT_NE(NULL, c);
		EXPECT_EQ(values[i], c->user_data);
		unio_cqe_seen(q);
	}
	/* Same through inline submits. */
	for (size_t i = 0; i < UT_ARRAY_SIZE(values); i++) {
		struct unified_io_desc d = {
			.opcode = UNIFIED_IO_OP_NOP,
			.user_data = values[i],
		};
		struct unified_io_cqe *c;

		ASSERT_EQ(1, ut_submit_inline(self->r.fd, &d));
		c = unio_peek_cqe(q);
		ASSERT_NE(NULL, c);
		EXPECT_EQ(values[i], c->user_data);
		unio_cqe_seen(q);
	}
}

/* Many more ops than entries, odd batch sizes: indices wrap many times. */
TEST_F(ring, wrap_around)
{
	static const unsigned int batches[] = { 1, 3, 5, 7, 2, 11, 13 };
	struct unio_queue *q = &self->r.q;
	__u32 entries = q->sq.ring_entries;
	__u64 next = 0, total = 20ULL * entries + 37;
	unsigned int calls = 0;
	struct unified_io_info info;

	while (next < total) {
		unsigned int want = batches[calls % UT_ARRAY_SIZE(batches)];
		unsigned int n;

		if (want > total - next)
			want = total - next;
		if (want > q->cq.ring_entries)
			want = q->cq.ring_entries;
		n = queue_nops(q, want, next);
		ASSERT_LT(0U, n);
		ASSERT_EQ((int)n, ut_submit(self->r.fd, n));
		ASSERT_EQ(q->sq.sqe_tail, unio_smp_load_acquire(q->sq.khead));
		reap_nops(_metadata, q, n, next);
		ASSERT_EQ(0U, unio_cq_ready(q));
		next += n;
		calls++;
	}
	EXPECT_EQ((__u32)total, *q->sq.khead);
	EXPECT_EQ((__u32)total, *q->cq.ktail);
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(total, info.stats.sqes);
	EXPECT_EQ(total, info.stats.cqes);
	EXPECT_EQ((__u64)calls, info.stats.submit_calls);
}

TEST_F(ring, sq_full)
{
	struct unio_queue *q = &self->r.q;
	__u32 entries = q->sq.ring_entries;

	EXPECT_EQ(entries, queue_nops(q, entries + 5, 0));
	EXPECT_EQ(0U, unio_sq_space_left(q));
	EXPECT_EQ(NULL, unio_get_sqe(q));
	ASSERT_EQ((int)entries, ut_submit(self->r.fd, entries + 5));
	EXPECT_EQ(entries, unio_sq_space_left(q));
	EXPECT_NE(NULL, unio_get_sqe(q));
}

/*
 * Fill the CQ without reaping: the next SUBMIT fails with EBUSY and
 * consumes nothing; reaping lets it proceed; nothing is lost.
 */
TEST_F(ring, cq_full_backpressure)
{
	struct unio_queue *q = &self->r.q;
	__u32 sq = q->sq.ring_entries, cq = q->cq.ring_entries;
	struct unified_io_info info, after;
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP,
				       .user_data = ~0ULL };
	__u64 next_ud = 0, seen = 0;
	__u32 head;
	int ret;

	/* Fill the CQ. */
	while (unio_cq_ready(q) < cq) {
		unsigned int n = queue_nops(q, cq - unio_cq_ready(q), next_ud);

		ASSERT_EQ((int)n, ut_submit(self->r.fd, n));
		next_ud += n;
	}
	ASSERT_EQ(cq, unio_cq_ready(q));

	/* More in the SQ: refused as a whole. */
	ASSERT_LT(0U, queue_nops(q, sq, next_ud));
	head = *q->sq.khead;
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	ret = ut_submit(self->r.fd, sq);
	ASSERT_EQ(-EBUSY, ret);
	EXPECT_EQ(head, unio_smp_load_acquire(q->sq.khead));
	EXPECT_EQ(cq, unio_cq_ready(q));
	ASSERT_EQ(0, ut_get_info(self->r.fd, &after));
	EXPECT_EQ(info.stats.cq_full + 1, after.stats.cq_full);
	EXPECT_EQ(info.stats.sqes, after.stats.sqes);
	EXPECT_EQ(info.stats.cqes, after.stats.cqes);
	EXPECT_EQ(info.stats.submit_calls, after.stats.submit_calls);
	/* Inline is refused the same way and not acted on. */
	EXPECT_EQ(-EBUSY, ut_submit_inline(self->r.fd, &nop));
	EXPECT_EQ(cq, unio_cq_ready(q));

	/* Reap one: exactly one more is consumed (room for one only). */
	reap_nops(_metadata, q, 1, seen);
	seen++;
	if (sq > 1) {
		ASSERT_EQ(1, ut_submit(self->r.fd, sq));
		EXPECT_EQ(head + 1, *q->sq.khead);
		EXPECT_EQ(cq, unio_cq_ready(q));
		ASSERT_EQ(-EBUSY, ut_submit(self->r.fd, sq));
	}

	/* Drain everything in order: every user_data exactly once. */
	while (seen < next_ud + sq) {
		unsigned int ready = unio_cq_ready(q);

		if (!ready) {
			ret = ut_submit(self->r.fd, sq);
			ASSERT_LT(0, ret);
			continue;
		}
		reap_nops(_metadata, q, ready, seen);
		seen += ready;
		if (unio_sq_ready(q)) {
			ret = ut_submit(self->r.fd, sq);
			ASSERT_LT(0, ret);
		}
	}
	EXPECT_EQ(next_ud + sq, seen);
	EXPECT_EQ(0U, unio_sq_ready(q));
	EXPECT_EQ(0U, unio_cq_ready(q));
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(seen, info.stats.sqes);
	EXPECT_EQ(seen, info.stats.cqes);
}

TEST_F(ring, inline_submit)
{
	struct unio_queue *q = &self->r.q;
	struct unified_io_desc d = { .opcode = UNIFIED_IO_OP_NOP, .user_data = 9 };
	struct unified_io_cqe *c;
	struct unified_io_info info;

	/* Pending SQ entries are left alone by an inline submit. */
	ASSERT_EQ(1U, queue_nops(q, 1, 100));
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &d));
	EXPECT_EQ(0U, *q->sq.khead);
	ASSERT_EQ(1U, unio_cq_ready(q));
	c = unio_peek_cqe(q);
	EXPECT_EQ(9ULL, c->user_data);
	EXPECT_EQ(0, c->res);
	unio_cqe_seen(q);
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(1ULL, info.stats.sqes);
	EXPECT_EQ(1ULL, info.stats.cqes);
	EXPECT_EQ(1ULL, info.stats.submit_calls);
	ASSERT_EQ(1, ut_submit(self->r.fd, 1));
	reap_nops(_metadata, q, 1, 100);
}

/* --- waiting ------------------------------------------------------------- */

struct waiter {
	int fd;
	__u32 min;
	__u64 timeout_ns;
	int ret;
	__u32 ready;
	__u64 elapsed_ns;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	__u64 t0 = ut_now_ns();

	w->ret = ut_complete(w->fd, w->min, w->timeout_ns, &w->ready);
	w->elapsed_ns = ut_now_ns() - t0;
	return NULL;
}

/*
 * Give a waiter time to fall asleep: until stats.waits counts it (if the
 * kernel counts on entry) or a second passed. Either way the test holds;
 * this only makes it likelier that the wake-up path is what is tested.
 */
static void wait_for_sleeper(int fd, __u64 waits_before)
{
	struct unified_io_info info;

	for (int i = 0; i < 100; i++) {
		usleep(10000);
		if (ut_get_info(fd, &info) == 0 && info.stats.waits > waits_before)
			return;
	}
}

TEST_F_TIMEOUT(ring, complete_woken_by_submit, 120)
{
	struct waiter w = { .fd = self->r.fd, .min = 1,
			    .timeout_ns = 60ULL * 1000000000ULL };
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP, .user_data = 5 };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, wait_thread, &w));
	wait_for_sleeper(self->r.fd, 0);
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, w.ret);
	EXPECT_EQ(1U, w.ready);
	EXPECT_GT(30ULL * 1000000000ULL, w.elapsed_ns);
}

/* min_complete > 1: one completion is not enough to wake the waiter. */
TEST_F_TIMEOUT(ring, complete_waits_for_min, 120)
{
	struct waiter w = { .fd = self->r.fd, .min = 2,
			    .timeout_ns = 60ULL * 1000000000ULL };
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	struct unified_io_info info;
	pthread_t t;

	if (self->r.q.cq.ring_entries < 2)
		SKIP(return, "CQ of one entry");
	ASSERT_EQ(0, pthread_create(&t, NULL, wait_thread, &w));
	wait_for_sleeper(self->r.fd, 0);
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	usleep(200000);
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	/* Still asleep: the thread has not returned. */
	EXPECT_EQ(0ULL, __atomic_load_n(&w.elapsed_ns, __ATOMIC_ACQUIRE));
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(2, w.ret);
	EXPECT_EQ(2U, w.ready);
}

TEST_F(ring, complete_timeout_etime)
{
	__u32 ready = 0xdead;
	__u64 t0 = ut_now_ns();
	struct unified_io_info info;

	EXPECT_EQ(-ETIME, ut_complete(self->r.fd, 1, 50 * 1000000ULL, &ready));
	EXPECT_LE(t0 + 50 * 1000000ULL, ut_now_ns());
	EXPECT_EQ(0U, ready);
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(1ULL, info.stats.waits);
}

/* Already enough ready: no sleep (waits unchanged). */
TEST_F(ring, complete_no_sleep_when_ready)
{
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	struct unified_io_info info;
	__u32 ready;

	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	EXPECT_EQ(1, ut_complete(self->r.fd, 1, 0, &ready));
	EXPECT_EQ(1U, ready);
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(0ULL, info.stats.waits);
}

/* --- poll ------------------------------------------------------------------ */

TEST_F(ring, poll_readiness)
{
	struct pollfd pfd = { .fd = self->r.fd, .events = POLLIN };
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };

	ASSERT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, pfd.revents);
	ASSERT_EQ(1U, queue_nops(&self->r.q, 1, 0));
	/* Queued but not submitted: still not ready. */
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(1, ut_submit(self->r.fd, 1));
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLIN);
	EXPECT_FALSE(pfd.revents & (POLLERR | POLLNVAL));
	/* Reaped: not ready again. */
	unio_cqe_seen(&self->r.q);
	pfd.revents = 0;
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	pfd.revents = 0;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLIN);
}

struct poller {
	int fd;
	int ret;
	short revents;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	p->ret = poll(&pfd, 1, 60000);
	p->revents = pfd.revents;
	return NULL;
}

TEST_F_TIMEOUT(ring, poll_woken_by_submit, 120)
{
	struct poller p = { .fd = self->r.fd, .ret = -2 };
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	usleep(300000);
	EXPECT_EQ(-2, p.ret);
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, p.ret);
	EXPECT_TRUE(p.revents & POLLIN);
}

#define POLL_ALL	(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLPRI)

/* poll() with timeout 0 asking for everything; returns revents or -errno. */
static int poll_now(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLL_ALL };
	int ret = poll(&pfd, 1, 0);

	if (ret < 0)
		return -errno;
	return ret ? pfd.revents : 0;
}

/*
 * The only event is POLLIN (with POLLRDNORM), exactly when completions are
 * ready: never POLLOUT, whether the CQ is empty, partly filled or full (CQ
 * space appears when user space moves the head, which nothing signals).
 */
TEST_F(ring, poll_never_pollout)
{
	struct unio_queue *q = &self->r.q;
	__u32 cq = q->cq.ring_entries;
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	struct pollfd pfd = { .fd = self->r.fd, .events = POLLOUT | POLLWRNORM };
	__u64 next = 0;

	/* Empty CQ. */
	EXPECT_EQ(0, poll_now(self->r.fd));
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	/* One ready (partly filled, unless the CQ has one entry). */
	ASSERT_EQ(1U, queue_nops(q, 1, next));
	ASSERT_EQ(1, ut_submit(self->r.fd, 1));
	next++;
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_now(self->r.fd));
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("revents %#x", pfd.revents);

	/* Fill the CQ. */
	while (unio_cq_ready(q) < cq) {
		unsigned int n = queue_nops(q, cq - unio_cq_ready(q), next);

		ASSERT_EQ((int)n, ut_submit(self->r.fd, n));
		next += n;
		EXPECT_EQ(POLLIN | POLLRDNORM, poll_now(self->r.fd))
			TH_LOG("%u of %u ready", unio_cq_ready(q), cq);
	}
	ASSERT_EQ(cq, unio_cq_ready(q));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_now(self->r.fd));
	/* Full, and a refused SUBMIT changes nothing. */
	EXPECT_EQ(-EBUSY, ut_submit_inline(self->r.fd, &nop));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_now(self->r.fd));
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("revents %#x", pfd.revents);

	/* Reap all but one: still POLLIN only; then the last: nothing. */
	reap_nops(_metadata, q, cq - 1, 0);
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_now(self->r.fd));
	reap_nops(_metadata, q, 1, cq - 1);
	EXPECT_EQ(0U, unio_cq_ready(q));
	EXPECT_EQ(0, poll_now(self->r.fd));
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	/* A SUBMIT that consumes nothing posts nothing: still not ready. */
	EXPECT_EQ(0, ut_submit(self->r.fd, 4));
	EXPECT_EQ(0, poll_now(self->r.fd));
}

/* A context without a region is never ready, and reports no error. */
TEST(poll_before_setup)
{
	struct pollfd pfd = { .events = POLL_ALL };
	int fd;

	UT_OPEN(fd);
	pfd.fd = fd;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, pfd.revents);
	EXPECT_EQ(0, poll(&pfd, 1, 50));
	EXPECT_EQ(0, pfd.revents);
	close(fd);
}

/* Asking for POLLOUT only, a poll() with timeout sleeps it out (returns 0). */
TEST_F(ring, poll_pollout_times_out)
{
	struct pollfd pfd = { .fd = self->r.fd, .events = POLLOUT | POLLWRNORM };
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	__u64 t0 = ut_now_ns();

	EXPECT_EQ(0, poll(&pfd, 1, 100));
	EXPECT_EQ(0, pfd.revents);
	EXPECT_LE(t0 + 100 * 1000000ULL, ut_now_ns());
	/* The same with completions ready. */
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	t0 = ut_now_ns();
	EXPECT_EQ(0, poll(&pfd, 1, 100));
	EXPECT_EQ(0, pfd.revents);
	EXPECT_LE(t0 + 100 * 1000000ULL, ut_now_ns());
}

struct submitter {
	int fd;
	bool sq;		/* through the SQ rather than inline */
	struct unio_queue *q;
	unsigned int delay_us;
	int ret;
};

static void *submit_later_thread(void *arg)
{
	struct submitter *s = arg;
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP,
				       .user_data = 0x5eb };

	usleep(s->delay_us);
	if (s->sq) {
		if (queue_nops(s->q, 1, 0x5eb) != 1) {
			s->ret = -1000;
			return NULL;
		}
		s->ret = ut_submit(s->fd, 1);
	} else {
		s->ret = ut_submit_inline(s->fd, &nop);
	}
	return NULL;
}

/*
 * The test thread blocks in poll() (asking for POLLIN and POLLOUT, with a
 * long timeout) on an empty CQ; another thread's SUBMIT wakes it, with
 * POLLIN only. Once through an inline SUBMIT, once through the SQ.
 */
TEST_F_TIMEOUT(ring, poll_woken_by_other_thread, 120)
{
	for (int sq = 0; sq < 2; sq++) {
		struct submitter s = { .fd = self->r.fd, .sq = sq, .q = &self->r.q,
				       .delay_us = 300000, .ret = -2000 };
		struct pollfd pfd = { .fd = self->r.fd, .events = POLL_ALL };
		pthread_t t;
		__u64 t0, elapsed;
		int ret;

		ASSERT_EQ(0U, unio_cq_ready(&self->r.q));
		ASSERT_EQ(0, pthread_create(&t, NULL, submit_later_thread, &s));
		t0 = ut_now_ns();
		ret = poll(&pfd, 1, 60000);
		elapsed = ut_now_ns() - t0;
		ASSERT_EQ(0, pthread_join(t, NULL));
		EXPECT_EQ(1, s.ret) TH_LOG("%s SUBMIT", sq ? "SQ" : "inline");
		ASSERT_EQ(1, ret) TH_LOG("poll: %s", ret < 0 ? strerror(errno) : "timeout");
		EXPECT_EQ(POLLIN | POLLRDNORM, pfd.revents);
		/* Woken by the SUBMIT, not returned at once (POLLOUT) or at the timeout. */
		EXPECT_LE(200 * 1000000ULL, elapsed) TH_LOG("returned after %llu ns",
							   (unsigned long long)elapsed);
		EXPECT_GT(30ULL * 1000000000ULL, elapsed);
		reap_nops(_metadata, &self->r.q, 1, 0x5eb);
	}
}

/* The same through epoll: EPOLLIN wakes the waiter, EPOLLOUT never fires. */
TEST_F_TIMEOUT(ring, epoll_woken_by_other_thread, 120)
{
	struct submitter s = { .fd = self->r.fd, .delay_us = 300000, .ret = -2000 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	struct epoll_event out[2];
	pthread_t t;
	__u64 t0, elapsed;
	int ep, ret;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->r.fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));

	ASSERT_EQ(0, pthread_create(&t, NULL, submit_later_thread, &s));
	t0 = ut_now_ns();
	ret = epoll_wait(ep, out, 2, 60000);
	elapsed = ut_now_ns() - t0;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, s.ret);
	ASSERT_EQ(1, ret);
	EXPECT_EQ((__u32)EPOLLIN, out[0].events);
	EXPECT_LE(200 * 1000000ULL, elapsed);
	EXPECT_GT(30ULL * 1000000000ULL, elapsed);

	/* EPOLLOUT alone: nothing, completions ready or not. */
	ev.events = EPOLLOUT;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_MOD, self->r.fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 50));
	reap_nops(_metadata, &self->r.q, 1, 0x5eb);
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 50));
	close(ep);
}

/* --- concurrency ------------------------------------------------------------- */

#define NTHREADS	4
#define PER_THREAD	150

struct conc {
	struct ut_region *r;
	pthread_mutex_t sq_lock;	/* SQ production, as an app must */
};

struct conc_thread {
	struct conc *c;
	int id;
	int err;	/* first unexpected result */
};

/* Push whatever is pending in the SQ; the caller holds sq_lock. */
static int push_sq(struct ut_region *r)
{
	int ret = 0;

	if (unio_sq_ready(&r->q))
		ret = ut_submit(r->fd, r->q.sq.ring_entries);
	return ret == -EBUSY ? 0 : ret;
}

/* Odd ids submit inline, even ids through the SQ under the app's lock. */
static void *submit_thread(void *arg)
{
	struct conc_thread *t = arg;
	struct ut_region *r = t->c->r;

	for (int i = 0; i < PER_THREAD && !t->err; i++) {
		__u64 ud = (__u64)t->id << 32 | i;
		int ret;

		if (t->id & 1) {
			struct unified_io_desc d = {
				.opcode = UNIFIED_IO_OP_NOP,
				.user_data = ud,
			};

			while ((ret = ut_submit_inline(r->fd, &d)) == -EBUSY)
				sched_yield();
			if (ret != 1)
				t->err = ret ? ret : -1000;
		} else {
			struct unified_io_desc *d;

			pthread_mutex_lock(&t->c->sq_lock);
			while (!(d = unio_get_sqe(&r->q))) {
				ret = push_sq(r);
				pthread_mutex_unlock(&t->c->sq_lock);
				if (ret < 0) {
					t->err = ret;
					return NULL;
				}
				sched_yield();
				pthread_mutex_lock(&t->c->sq_lock);
			}
			unio_prep_nop(d, ud);
			unio_sq_flush(&r->q);
			/* EBUSY leaves it queued for a later push. */
			ret = push_sq(r);
			pthread_mutex_unlock(&t->c->sq_lock);
			if (ret < 0)
				t->err = ret;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(ring, concurrent_submitters, 300)
{
	struct conc c = { .r = &self->r };
	struct conc_thread th[NTHREADS];
	pthread_t tid[NTHREADS];
	__u8 seen[NTHREADS][PER_THREAD] = {};
	__u64 total = NTHREADS * PER_THREAD, reaped = 0;
	struct unio_queue *q = &self->r.q;
	struct unified_io_info info;
	__u64 deadline = ut_now_ns() + 200ULL * 1000000000ULL;

	pthread_mutex_init(&c.sq_lock, NULL);
	for (int i = 0; i < NTHREADS; i++) {
		th[i] = (struct conc_thread){ .c = &c, .id = i };
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, submit_thread, &th[i]));
	}
	/* This thread is the only CQ consumer. */
	while (reaped < total && ut_now_ns() < deadline) {
		struct unified_io_cqe *cqe;
		__u32 ready;
		int ret = ut_complete(self->r.fd, 1, 100 * 1000000ULL, &ready);

		ASSERT_TRUE(ret >= 0 || ret == -ETIME) TH_LOG("COMPLETE %d", ret);
		/* Entries left queued after an EBUSY. */
		pthread_mutex_lock(&c.sq_lock);
		ret = push_sq(&self->r);
		pthread_mutex_unlock(&c.sq_lock);
		ASSERT_LE(0, ret);
		while ((cqe = unio_peek_cqe(q))) {
			__u64 id = cqe->user_data >> 32, i = cqe->user_data & 0xffffffff;

			ASSERT_LT(id, (__u64)NTHREADS);
			ASSERT_LT(i, (__u64)PER_THREAD);
			ASSERT_EQ(0, seen[id][i]) TH_LOG("user_data %#llx twice",
							 (unsigned long long)cqe->user_data);
			ASSERT_EQ(0, cqe->res);
			seen[id][i] = 1;
			reaped++;
			unio_cqe_seen(q);
		}
	}
	for (int i = 0; i < NTHREADS; i++) {
		ASSERT_EQ(0, pthread_join(tid[i], NULL));
		EXPECT_EQ(0, th[i].err) TH_LOG("thread %d", i);
	}
	ASSERT_EQ(total, reaped);
	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	EXPECT_EQ(total, info.stats.sqes);
	EXPECT_EQ(total, info.stats.cqes);
	EXPECT_EQ(total, info.stats.ops[UNIFIED_IO_OP_NOP]);
	EXPECT_EQ(0ULL, info.stats.errors);
	pthread_mutex_destroy(&c.sq_lock);
}

/* --- statistics ------------------------------------------------------------- */

TEST_F(ring, stats_match)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	struct unified_io_info info;
	__u64 off1, off2;
	const int nops = 5;

	for (int i = 0; i < nops; i++) {
		memset(&d, 0, sizeof(d));
		unio_prep_nop(&d, i);
		ASSERT_EQ(0, ut_do(r, &d, &cqe));
	}
	ASSERT_EQ(4096, ut_alloc(r, 7, &off1));
	ASSERT_EQ(4096, ut_alloc(r, 8, &off2));
	ASSERT_EQ(0, ut_free(r, 7, off1));
	/* One refused descriptor (unknown opcode), one inline NOP. */
	memset(&d, 0, sizeof(d));
	d.opcode = 0xff;
	d.user_data = 99;
	ASSERT_EQ(-EOPNOTSUPP, ut_do(r, &d, &cqe));
	memset(&d, 0, sizeof(d));
	ASSERT_EQ(0, ut_do_inline(r, &d, &cqe));

	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ((__u64)nops + 5, info.stats.submit_calls);
	EXPECT_EQ((__u64)nops + 5, info.stats.sqes);
	EXPECT_EQ((__u64)nops + 5, info.stats.cqes);
	EXPECT_EQ(1ULL, info.stats.errors);
	EXPECT_EQ((__u64)nops + 1, info.stats.ops[UNIFIED_IO_OP_NOP]);
	EXPECT_EQ(2ULL, info.stats.ops[UNIFIED_IO_OP_ALLOC]);
	EXPECT_EQ(1ULL, info.stats.ops[UNIFIED_IO_OP_FREE]);
	EXPECT_EQ(0ULL, info.stats.sq_bad_tail);
	EXPECT_EQ(0ULL, info.stats.cq_full);
	EXPECT_EQ(0ULL, info.stats.cq_bad_head);
	EXPECT_EQ(0ULL, info.stats.waits);
	EXPECT_EQ(r->l.nr_bufs - 1, info.stats.bufs_free);
	EXPECT_EQ(1U, info.stats.bufs_app);
	EXPECT_EQ(0U, info.stats.bufs_kernel);
	EXPECT_EQ(0U, info.stats.resv);

	/* The control-area copy is written after each SUBMIT. */
	ut_check_stats(&info.stats, r->stats);
}

TEST_HARNESS_MAIN
