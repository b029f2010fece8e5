// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user space: every field user space can write in the shared areas
 * is scribbled on, alone and while operations run (liburing test/zcrx.c
 * test_invalid_rqes / test_invalid_rq_pointers style). The kernel must not
 * crash or warn (tools/vm/run fails the run on a kernel report), must return
 * only documented results, must keep its own books consistent, and a fresh
 * region must work afterwards. Also fork(): a child shares the context.
 */
#include "ut.h"

#define SQ	8
#define CQ	16
#define BUF	4096
#define NBUFS	16

FIXTURE(hostile) {
	struct ut_region r;
};

FIXTURE_SETUP(hostile)
{
	if (!ut_region_create(&self->r, SQ, CQ, BUF, NBUFS * BUF, 0))
		return;
}

FIXTURE_TEARDOWN(hostile)
{
	ut_region_destroy(&self->r);
}

static void get_stats(struct __test_metadata *_metadata, struct ut_region *r,
		      struct unified_io_stats *st)
{
	struct unified_io_info info;

	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	*st = info.stats;
}

/* The kernel's books balance whatever user space did. */
static void check_books(struct __test_metadata *_metadata, struct ut_region *r)
{
	struct unified_io_stats st;
	__u64 ops = 0;

	get_stats(_metadata, r, &st);
	EXPECT_EQ(r->l.nr_bufs, st.bufs_free + st.bufs_app + st.bufs_kernel);
	/* Every consumed descriptor posted exactly one completion. */
	EXPECT_EQ(st.sqes, st.cqes);
	EXPECT_LE(st.errors, st.cqes);
	for (int i = 0; i < 8; i++)
		ops += st.ops[i];
	EXPECT_LE(ops, st.cqes);
	EXPECT_EQ(0U, st.resv);
}

/* A NOP round trip after the kernel's indices are restored by user space. */
static void resync_and_nop(struct __test_metadata *_metadata,
			   struct ut_region *r)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;
	__u32 sq_head = unio_smp_load_acquire(r->q.sq.khead);
	__u32 cq_tail = unio_smp_load_acquire(r->q.cq.ktail);

	*r->q.sq.ktail = sq_head;
	r->q.sq.sqe_tail = sq_head;
	*r->q.cq.khead = cq_tail;
	unio_prep_nop(&d, 0x600d);
	ASSERT_EQ(0, ut_do(r, &d, &cqe));
}

TEST_F(hostile, sq_tail_far_past_head)
{
	struct ut_region *r = &self->r;
	__u32 tails[] = { SQ + 1, SQ + 5, 0x80000000u, 0xffffffffu, 0x7fffffffu };
	struct unified_io_stats before, after;

	for (size_t i = 0; i < UT_ARRAY_SIZE(tails); i++) {
		__u32 head = unio_smp_load_acquire(r->q.sq.khead);
		__u32 cq_tail = *r->q.cq.ktail;
		int ret;

		get_stats(_metadata, r, &before);
		/* Zeroed SQEs are valid NOPs: only the tail is wrong. */
		memset(r->q.sq.sqes, 0, SQ * sizeof(*r->q.sq.sqes));
		unio_smp_store_release(r->q.sq.ktail, head + tails[i]);
		ret = ut_submit(r->fd, ~0U);
		ASSERT_TRUE(ret >= 0 && ret <= SQ) TH_LOG("tail head+%#x: %d",
							  tails[i], ret);
		get_stats(_metadata, r, &after);
		EXPECT_EQ(before.sq_bad_tail + 1, after.sq_bad_tail)
			TH_LOG("tail head+%#x", tails[i]);
		/* What was consumed is accounted for exactly. */
		EXPECT_EQ(head + ret, unio_smp_load_acquire(r->q.sq.khead));
		EXPECT_EQ(cq_tail + ret, unio_smp_load_acquire(r->q.cq.ktail));
		EXPECT_EQ(before.sqes + ret, after.sqes);
		EXPECT_EQ(before.cqes + ret, after.cqes);
		EXPECT_EQ(before.errors, after.errors);
		/* Not consumed: the tail stays where user space put it. */
		EXPECT_EQ(head + tails[i], *r->q.sq.ktail);
		resync_and_nop(_metadata, r);
	}
	check_books(_metadata, r);
}

TEST_F(hostile, cq_head_outside_ring)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	struct unified_io_stats before, after;
	__u32 tail, ready;
	struct {
		__u32 delta;	/* head = tail + delta */
		bool bad;	/* outside the ring (else: a full CQ) */
	} cases[] = {
		{ 1, true },			/* ahead of the tail */
		{ 5, true },
		{ 0x80000000u, true },
		{ -(__u32)CQ - 1, true },	/* further back than the ring */
		{ -(__u32)CQ - 1000, true },
		{ -(__u32)CQ, false },		/* exactly full: legal */
	};

	ASSERT_EQ(1, ut_submit_inline(r->fd, &nop));
	ASSERT_EQ(1, ut_submit_inline(r->fd, &nop));
	tail = unio_smp_load_acquire(r->q.cq.ktail);
	ASSERT_EQ(2U, tail);

	for (size_t i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		struct unified_io_desc *d;
		__u32 sq_head = *r->q.sq.khead;
		int ret;

		*r->q.cq.khead = tail + cases[i].delta;
		get_stats(_metadata, r, &before);

		d = unio_get_sqe(&r->q);
		ASSERT_NE(NULL, d);
		unio_prep_nop(d, i);
		unio_sq_flush(&r->q);
		EXPECT_EQ(-EBUSY, ut_submit(r->fd, 1)) TH_LOG("head tail%+d",
							       (int)cases[i].delta);
		EXPECT_EQ(sq_head, *r->q.sq.khead);
		EXPECT_EQ(-EBUSY, ut_submit_inline(r->fd, &nop));
		EXPECT_EQ(tail, unio_smp_load_acquire(r->q.cq.ktail));

		/* COMPLETE must not invent completions or errnos. */
		ret = ut_complete(r->fd, 1, 1000000, &ready);
		EXPECT_TRUE((ret >= 0 && ret <= CQ) || ret == -ETIME)
			TH_LOG("COMPLETE with head tail%+d: %d", (int)cases[i].delta, ret);

		get_stats(_metadata, r, &after);
		if (cases[i].bad) {
			EXPECT_LE(before.cq_bad_head + 2, after.cq_bad_head)
				TH_LOG("head tail%+d", (int)cases[i].delta);
		} else {
			EXPECT_EQ(before.cq_bad_head, after.cq_bad_head);
			EXPECT_EQ(before.cq_full + 2, after.cq_full);
		}
		EXPECT_EQ(before.sqes, after.sqes);

		/* Put the head right: the queued NOP goes through. */
		*r->q.cq.khead = tail;
		ASSERT_EQ(1, ut_submit(r->fd, 1));
		tail++;
		*r->q.cq.khead = tail;
	}
	check_books(_metadata, r);
}

/* The SQ head and CQ tail are the kernel's: user writes are ignored. */
TEST_F(hostile, kernel_indices_overwritten)
{
	struct ut_region *r = &self->r;
	struct unio_queue *q = &r->q;
	__u32 vals[] = { 1000, 0xffffffffu, 3, 0x80000000u };
	__u32 sq_head = 0, cq_tail = 0;

	for (size_t i = 0; i < UT_ARRAY_SIZE(vals); i++) {
		struct unified_io_desc *d = &q->sq.sqes[sq_head & q->sq.ring_mask];
		struct unified_io_cqe *c;

		/* Queue one NOP at the true head, then forge both indices. */
		memset(d, 0, sizeof(*d));
		d->user_data = 0xabc0 + i;
		unio_smp_store_release(q->sq.ktail, sq_head + 1);
		*q->sq.khead = vals[i];
		*q->cq.ktail = vals[i] + 7;
		ASSERT_EQ(1, ut_submit(r->fd, 8)) TH_LOG("forged %#x", vals[i]);
		/* The kernel republished its own indices. */
		EXPECT_EQ(sq_head + 1, unio_smp_load_acquire(q->sq.khead));
		EXPECT_EQ(cq_tail + 1, unio_smp_load_acquire(q->cq.ktail));
		c = &q->cq.cqes[cq_tail & q->cq.ring_mask];
		EXPECT_EQ(0xabc0ULL + i, c->user_data);
		sq_head++;
		cq_tail++;
		unio_smp_store_release(q->cq.khead, cq_tail);
	}
	q->sq.sqe_tail = sq_head;
	check_books(_metadata, r);
}

/* Stats, config and the buffer table are never read back by the kernel. */
TEST_F(hostile, mirrors_scribbled)
{
	struct ut_region *r = &self->r;
	struct unified_io_info info;
	__u64 off;

	memset(r->stats, 0xff, sizeof(*r->stats));
	memset(r->config, 0xff, sizeof(*r->config));
	memset(r->bt, 0xff, r->l.nr_bufs * sizeof(*r->bt));

	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ(0ULL, info.stats.sqes);
	EXPECT_EQ(0ULL, info.stats.errors);
	EXPECT_EQ(r->l.nr_bufs, info.stats.bufs_free);
	EXPECT_EQ((__u32)SQ, info.config.sq_entries);
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, info.config.abi_version);
	EXPECT_EQ((__u64)NBUFS * BUF, info.config.data_size);

	/* Buffers still work and the touched entry is rewritten. */
	ASSERT_EQ(BUF, ut_alloc(r, 3, &off));
	EXPECT_EQ(UNIFIED_IO_BUF_APP, r->bt[off / BUF].state);
	EXPECT_EQ(3, r->bt[off / BUF].owner);
	EXPECT_EQ(1, r->bt[off / BUF].refs);
	ASSERT_EQ(0, ut_free(r, 3, off));
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, r->bt[off / BUF].state);

	/* And the stats copy was rewritten by those SUBMITs. */
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	ut_check_stats(&info.stats, r->stats);
	EXPECT_EQ(2ULL, info.stats.sqes);
	EXPECT_EQ(r->l.nr_bufs, info.stats.bufs_free);
}

/* --- racing threads ----------------------------------------------------- */

struct racer {
	struct ut_region *r;
	volatile bool stop;
	__u64 seed;
	__u64 writes;
	bool whole_areas;	/* scribble ctrl+desc, else only SQEs */
};

static void *scribble_thread(void *arg)
{
	struct racer *s = arg;
	struct ut_region *r = s->r;
	__u64 seed = s->seed;

	while (!s->stop) {
		if (s->whole_areas) {
			/* Random words anywhere in ctrl and desc. */
			for (int i = 0; i < 64; i++) {
				__u64 v = ut_rand(&seed);
				__u64 span = r->l.ctrl_size + r->l.desc_size;
				__u64 at = (v % span) & ~3ULL;
				__u8 *p = at < r->l.ctrl_size ?
					  r->map + at :
					  r->map + r->l.desc_off + (at - r->l.ctrl_size);

				switch (v >> 40 & 7) {
				case 0:	/* any of the four indices, any value */
					p = r->map + (&r->l.sq.head)[(v >> 44) & 1];
					if ((v >> 45) & 1)
						p = r->map + (&r->l.cq.head)[(v >> 44) & 1];
					break;
				case 1:	/* a plausible SQ tail: consumes garbage */
					*(volatile __u32 *)(r->map + r->l.sq.tail) =
						*r->q.sq.khead + (v >> 8) % (SQ + 2);
					continue;
				case 2:	/* a plausible CQ head: lets SUBMIT run */
					*(volatile __u32 *)(r->map + r->l.cq.head) =
						*r->q.cq.ktail - (v >> 8) % (CQ + 1);
					continue;
				}
				*(volatile __u32 *)p = (__u32)(v >> 8) ^
						       ((v >> 50) & 1 ? *(__u32 *)p : 0);
			}
		} else {
			/* Flip the fields of published SQEs. */
			for (__u32 i = 0; i < r->q.sq.ring_entries; i++) {
				volatile struct unified_io_desc *d = &r->q.sq.sqes[i];
				__u64 v = ut_rand(&seed);

				d->opcode = (v & 3) == 3 ? (__u8)(v >> 8) : v & 3;
				d->owner = (v >> 16) % 3;
				d->addr = (v >> 20) & 1 ? ((v >> 24) % (NBUFS + 2)) * BUF :
					  (v >> 24) & 1 ? 0 : (v >> 28);
				d->len = (v >> 32) & 1 ? 0 : (__u32)(v >> 33) % (2 * BUF);
				d->flags = (v >> 45) % 16 == 0;
				d->pad[(v >> 50) % 5] = (v >> 55) % 16 == 0;
			}
		}
		s->writes++;
	}
	return NULL;
}

static bool res_allowed(__u8 op, int res)
{
	switch (op) {
	case UNIFIED_IO_OP_NOP:
		return res == 0 || res == -EINVAL;
	case UNIFIED_IO_OP_ALLOC:
		return res == BUF || res == -EINVAL || res == -ENOBUFS;
	case UNIFIED_IO_OP_FREE:
		return res == 0 || res == -EINVAL || res == -ERANGE ||
		       res == -EALREADY || res == -EPERM;
	case UNIFIED_IO_OP_BPF:
		/* No program is attached here. */
		return res == -EINVAL || res == -ERANGE || res == -EPERM ||
		       res == -ENOENT;
	case UNIFIED_IO_OP_RECV:
		/* No TCP socket is open here, and no program attached. */
		return res == -EINVAL || res == -EBADF || res == -ENOTSOCK ||
		       res == -EPROTONOSUPPORT || res == -ENOENT ||
		       res == -ENOSPC;
	case UNIFIED_IO_OP_SEND:
		/*
		 * No TCP socket is open here and no program attached: every
		 * SEND is refused before it reaches a socket.
		 */
		return res == -EINVAL || res == -ERANGE || res == -EPERM ||
		       res == -ENOENT || res == -EBADF || res == -ENOTSOCK ||
		       res == -EPROTONOSUPPORT;
	case UNIFIED_IO_OP_CANCEL:
		/* Nothing is armed: 0 for UNIFIED_IO_CANCEL_F_ALL. */
		return res == 0 || res == -EINVAL || res == -EBADF ||
		       res == -ENOTSOCK || res == -ENOENT;
	default:
		return res == -EOPNOTSUPP;
	}
}

/* The kernel's buffer table agrees with its counters. */
static void check_table(struct __test_metadata *_metadata, struct ut_region *r)
{
	struct unified_io_stats st;
	__u32 app = 0, free_ = 0;

	get_stats(_metadata, r, &st);
	for (__u32 i = 0; i < r->l.nr_bufs; i++) {
		if (r->bt[i].state == UNIFIED_IO_BUF_APP) {
			app++;
			EXPECT_NE(0, r->bt[i].owner) TH_LOG("buffer %u APP with owner 0", i);
			EXPECT_EQ(1, r->bt[i].refs) TH_LOG("buffer %u", i);
		} else if (r->bt[i].state == UNIFIED_IO_BUF_FREE) {
			free_++;
			EXPECT_EQ(0, r->bt[i].owner) TH_LOG("buffer %u", i);
		}
	}
	EXPECT_EQ(st.bufs_app, app);
	EXPECT_EQ(st.bufs_free, free_);
}

/* SQEs rewritten by another thread while the kernel consumes them. */
TEST_F_TIMEOUT(hostile, sqes_modified_after_publish, 120)
{
	struct ut_region *r = &self->r;
	struct racer s = { .r = r, .seed = 0x5eed1234abcdULL };
	__u64 end = ut_now_ns() + 2000000000ULL, seed = 42;
	__u64 cqes = 0, bad = 0;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, scribble_thread, &s));
	while (ut_now_ns() < end) {
		__u32 head = unio_smp_load_acquire(r->q.sq.khead);
		__u32 n = 1 + ut_rand(&seed) % SQ;
		struct unified_io_cqe *c;
		int ret;

		unio_smp_store_release(r->q.sq.ktail, head + n);
		ret = ut_submit(r->fd, 1 + ut_rand(&seed) % SQ);
		if (ret < 0) {
			EXPECT_EQ(-EBUSY, ret);
		} else {
			EXPECT_LE(ret, (int)n);
		}
		while ((c = unio_peek_cqe(&r->q))) {
			struct unified_io_cqe v = *c;

			if (!res_allowed(v.opcode, v.res) && bad++ < 5)
				TH_LOG("opcode %u res %d not a documented result",
				       v.opcode, v.res);
			cqes++;
			unio_cqe_seen(&r->q);
		}
	}
	s.stop = true;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0ULL, bad);
	TH_LOG("%llu completions, %llu scribble rounds", (unsigned long long)cqes,
	       (unsigned long long)s.writes);
	EXPECT_LT(0ULL, cqes);
	check_books(_metadata, r);
	check_table(_metadata, r);
	resync_and_nop(_metadata, r);
}

/* Random writes over the whole control and descriptor areas while another
 * thread submits, waits and queries: only documented results, no crash.
 */
TEST_F_TIMEOUT(hostile, scribble_everything, 120)
{
	struct ut_region *r = &self->r;
	struct racer s = { .r = r, .seed = 0xfeedULL, .whole_areas = true };
	__u64 end = ut_now_ns() + 3000000000ULL, seed = 7;
	__u64 calls = 0, bad = 0;
	struct unified_io_info info;
	struct ut_region fresh;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, scribble_thread, &s));
	while (ut_now_ns() < end) {
		__u64 v = ut_rand(&seed);
		struct unified_io_desc d = {};
		__u32 ready;
		int ret;

		switch (v % 4) {
		case 0:
			ret = ut_submit(r->fd, v >> 8);
			if (ret < 0 && ret != -EBUSY && bad++ < 5)
				TH_LOG("SUBMIT: %d", ret);
			break;
		case 1:
			d.opcode = (v >> 8) % 3;
			d.owner = d.opcode ? 1 + (v >> 16) % 2 : 0;
			d.addr = d.opcode == UNIFIED_IO_OP_FREE ?
				 ((v >> 24) % NBUFS) * BUF : 0;
			ret = ut_submit_inline(r->fd, &d);
			if (ret != 1 && ret != -EBUSY && bad++ < 5)
				TH_LOG("inline SUBMIT: %d", ret);
			break;
		case 2:
			ret = ut_complete(r->fd, (v >> 8) % (CQ + 1), 100000, &ready);
			if (!((ret >= 0 && ret <= CQ) || ret == -ETIME) && bad++ < 5)
				TH_LOG("COMPLETE: %d", ret);
			break;
		default:
			ret = ut_get_info(r->fd, &info);
			if (ret && bad++ < 5)
				TH_LOG("GET_INFO: %d", ret);
			else if (info.stats.bufs_free + info.stats.bufs_app +
				 info.stats.bufs_kernel != NBUFS && bad++ < 5)
				TH_LOG("buffer counts %u+%u+%u", info.stats.bufs_free,
				       info.stats.bufs_app, info.stats.bufs_kernel);
			break;
		}
		calls++;
	}
	s.stop = true;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0ULL, bad);
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	TH_LOG("%llu ioctls, %llu scribble rounds; sqes %llu bad_tail %llu bad_head %llu cq_full %llu",
	       (unsigned long long)calls, (unsigned long long)s.writes,
	       (unsigned long long)info.stats.sqes,
	       (unsigned long long)info.stats.sq_bad_tail,
	       (unsigned long long)info.stats.cq_bad_head,
	       (unsigned long long)info.stats.cq_full);
	check_books(_metadata, r);

	/* A fresh region works. */
	ut_region_destroy(r);
	if (!ut_region_create(&fresh, SQ, CQ, BUF, NBUFS * BUF, 0))
		return;
	resync_and_nop(_metadata, &fresh);
	check_books(_metadata, &fresh);
	ut_region_destroy(&fresh);
}

/* --- fork ------------------------------------------------------------------- */

FIXTURE(forked) {
	struct ut_region r;
};

FIXTURE_VARIANT(forked) {
	bool child_closes;
};

FIXTURE_VARIANT_ADD(forked, child_keeps_fd) {
	.child_closes = false,
};

FIXTURE_VARIANT_ADD(forked, child_closes_fd) {
	.child_closes = true,
};

FIXTURE_SETUP(forked)
{
	if (!ut_region_create(&self->r, SQ, CQ, BUF, NBUFS * BUF, 0))
		return;
}

FIXTURE_TEARDOWN(forked)
{
	ut_region_destroy(&self->r);
}

static int child_work(struct ut_region *r, bool close_after)
{
	struct unified_io_desc alloc = {};
	struct unified_io_desc *d;

	for (int i = 0; i < 3; i++) {
		d = unio_get_sqe(&r->q);
		if (!d)
			return 10;
		unio_prep_nop(d, 0xc0 + i);
	}
	unio_sq_flush(&r->q);
	if (ut_submit(r->fd, 3) != 3)
		return 11;
	unio_prep_alloc(&alloc, 77, 0xc3);
	if (ut_submit_inline(r->fd, &alloc) != 1)
		return 12;
	if (close_after) {
		munmap(r->map, r->map_len);
		close(r->fd);
	}
	return 0;
}

TEST_F(forked, child_submits)
{
	struct ut_region *r = &self->r;
	struct unified_io_cqe *c;
	struct unified_io_info info;
	__u64 off = 0;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(child_work(r, variant->child_closes));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* The parent sees the child's completions. */
	ASSERT_EQ(4U, unio_cq_ready(&r->q));
	for (int i = 0; i < 4; i++) {
		c = unio_peek_cqe(&r->q);
		EXPECT_EQ(0xc0ULL + i, c->user_data);
		if (i == 3) {
			EXPECT_EQ(BUF, c->res);
			off = c->addr;
		}
		unio_cqe_seen(&r->q);
	}
	r->q.sq.sqe_tail = *r->q.sq.ktail;

	/* The child's exit did not tear anything down. */
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ(1U, info.stats.bufs_app);
	EXPECT_EQ(77, r->bt[off / BUF].owner);
	EXPECT_EQ(-EPERM, ut_free(r, 78, off));
	EXPECT_EQ(0, ut_free(r, 77, off));
	resync_and_nop(_metadata, r);
}

TEST_HARNESS_MAIN
