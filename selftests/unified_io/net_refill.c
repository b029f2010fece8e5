// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile application on the refill ring of a bound region. The kernel
 * takes refill entries when the NIC queue's page pool needs buffers; it
 * must skip and count every entry that does not name a buffer the
 * application holds under that owner tag (refill_bad_addr,
 * refill_not_held), act on none of them, and keep taking legitimate
 * entries afterwards. Needs UNIFIED_IO_FEAT_NET_PROVIDER (SKIP otherwise).
 *
 *  bad_entries	one batch: out of range (data_size, ~0, high bit set),
 *		unaligned, non-zero resv (on held buffers), another owner
 *		and owner 0 (on a held buffer), a free buffer never lent, a
 *		held buffer given back and named again at once (the NIC's
 *		by then) and later in the batch. Exact counter deltas; the skipped held
 *		buffers stay held and intact, the valid ones go back; the
 *		kernel's and the application's count of held buffers agree
 *  garbage_tail	a tail 2^30 entries ahead of the head over a ring of
 *		garbage: at most the ring's worth per pass, all skipped,
 *		nothing acted on; after re-syncing the tail to the head,
 *		legitimate returns work
 *  scribbled_head	user space overwrites the head the kernel publishes:
 *		the kernel keeps its own and republishes it
 * Each ends by giving every held buffer back and receiving the stream to
 * its end, every byte checked.
 */
#include "net_test.h"

#define SQ	8
#define CQ	1024
#define BUF	4096
#define NBUFS	1024
#define LENT	768
#define PORT	7831
#define BYTES	nt_volume(16 * NT_MIB, 8 * NT_MIB)

FIXTURE(refill) {
	struct nl_pair p;
	struct nl_region r;
	struct nt_stream st;
};

FIXTURE_SETUP(refill)
{
	self->r.fd = -1;
	nt_stream_init(&self->st);
	NT_REQUIRE_PROVIDER();
	if (!nt_pair_create(&self->p, "unionic"))
		return;
	if (!nt_region_create(&self->r, SQ, CQ, BUF, NBUFS))
		return;
	ASSERT_EQ(0, nl_steer(&self->p, PORT, NT_ZC_QUEUE)) TH_LOG("%s", self->p.err);
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, LENT);
	/* A small send buffer: little arrives after the sender pauses. */
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 1, BYTES,
			    32768, NT_RCVBUF(LENT));
	self->st.rx.expect = NL_EXPECT_ZC;
	self->st.rx.hold = true;
}

FIXTURE_TEARDOWN(refill)
{
	nt_stream_stop(&self->st);
	nl_region_destroy(&self->r);
	nl_pair_destroy(&self->p);
}

/* Write one entry at our tail, as is (no space check, not published). */
static void put_raw(struct nl_region *r, __u64 addr, __u16 owner,
		    __u16 r0, __u16 r1, __u16 r2)
{
	struct unified_io_rfqe *e = &r->rfqes[r->rf_tail++ & r->rl.ring_mask];

	e->addr = addr;
	e->owner = owner;
	e->resv[0] = r0;
	e->resv[1] = r1;
	e->resv[2] = r2;
}

/* Receive (holding everything) until @n buffers are held. */
static void __hold_at_least(struct __test_metadata *_metadata,
			    struct nt_stream *st, unsigned int n)
{
	uint64_t end = nl_now_ms() + 60000;

	while (st->rx.nr_held < n && nl_now_ms() < end) {
		int ret = nl_rx_step(&st->rx, 100);

		ASSERT_LE(0, ret) TH_LOG("%s", st->rx.err);
	}
	ASSERT_LE(n, st->rx.nr_held);
}

#define hold_at_least(n)	__hold_at_least(_metadata, &self->st, n)

/* Pause the sender and receive until nothing arrives for 500 ms. */
static void __quiesce(struct __test_metadata *_metadata, struct nt_stream *st)
{
	uint64_t last = nl_now_ms(), bytes = st->rx.bytes;

	st->snd.sh->pause = 1;
	while (nl_now_ms() - last < 500) {
		int ret = nl_rx_step(&st->rx, 50);

		ASSERT_LE(0, ret) TH_LOG("%s", st->rx.err);
		if (st->rx.bytes != bytes) {
			bytes = st->rx.bytes;
			last = nl_now_ms();
		}
	}
}

#define quiesce()	__quiesce(_metadata, &self->st)

/*
 * Let data flow (the NIC then asks for buffers and takes the ring) until
 * @done says so; keep holding what arrives.
 */
static void __flow_until(struct __test_metadata *_metadata,
			 struct nt_stream *st, struct nl_region *r,
			 bool (*done)(struct nl_region *r, const void *arg),
			 const void *arg, const char *what)
{
	uint64_t end = nl_now_ms() + 30000;

	st->snd.sh->pause = 0;
	while (!done(r, arg) && nl_now_ms() < end) {
		int ret = nl_rx_step(&st->rx, 50);

		ASSERT_LE(0, ret) TH_LOG("%s", st->rx.err);
	}
	ASSERT_TRUE(done(r, arg)) TH_LOG("waiting for %s", what);
}

#define flow_until(done, arg, what)					\
	__flow_until(_metadata, &self->st, &self->r, done, arg, what)

static bool ring_taken(struct nl_region *r, const void *arg)
{
	return unio_smp_load_acquire(r->rf_khead) == r->rf_tail;
}

/* The application's and the kernel's view of what it holds agree. */
static void __expect_held_agree(struct __test_metadata *_metadata,
				struct nt_stream *st, struct nl_region *r)
{
	struct unified_io_info info;
	uint64_t offs[NBUFS];
	unsigned int n = nl_rx_held_list(&st->rx, offs, NBUFS);
	int ret;

	nt_info(r, &info);
	EXPECT_EQ(st->rx.nr_held, info.net.bufs_app);
	for (unsigned int i = 0; i < n; i++) {
		const struct unified_io_buf_entry *e = &r->bt[offs[i] / BUF];

		EXPECT_EQ(UNIFIED_IO_BUF_APP, e->state) TH_LOG("buffer %#llx",
							       (unsigned long long)offs[i]);
		EXPECT_EQ(NT_OWNER, e->owner);
	}
	ret = nl_rx_reverify_held(&st->rx);
	EXPECT_EQ(0, ret) TH_LOG("%s", st->rx.err);
}

#define expect_held_agree()	__expect_held_agree(_metadata, &self->st, &self->r)

/* Give everything back legitimately and receive the stream to its end. */
static void __finish(struct __test_metadata *_metadata, struct nt_stream *st,
		     struct nl_region *r)
{
	struct unified_io_info before, after;
	uint64_t refilled = st->rx.refilled;
	int ret;

	nt_info(r, &before);
	ret = nl_rx_return_held(&st->rx);
	ASSERT_EQ(0, ret) TH_LOG("%s", st->rx.err);
	st->rx.hold = false;
	st->snd.sh->pause = 0;
	nt_stream_run(st, 0, 30000);
	nt_sender_done(st, 30000);
	EXPECT_EQ((uint64_t)BYTES, st->rx.bytes);
	EXPECT_EQ((uint64_t)BYTES, st->rx.verified);
	nt_info(r, &after);
	EXPECT_EQ(before.net.refill_bad_addr, after.net.refill_bad_addr);
	EXPECT_EQ(before.net.refill_not_held, after.net.refill_not_held);
	EXPECT_EQ(st->rx.refilled - refilled,
		  after.net.refills - before.net.refills + nl_refill_pending(r));
	EXPECT_EQ(nl_refill_pending(r), after.net.bufs_app);
	EXPECT_EQ((__u32)LENT, after.net.bufs_app + after.net.bufs_nic);
}

#define finish()	__finish(_metadata, &self->st, &self->r)

/* The first buffer in state @state, or ~0. */
static __u64 find_buf(struct nl_region *r, __u8 state)
{
	for (__u32 i = 0; i < r->l.nr_bufs; i++)
		if (r->bt[i].state == state)
			return (__u64)i * BUF;
	return ~0ULL;
}

TEST_F_TIMEOUT(refill, bad_entries, 600)
{
	const __u64 ds = self->r.l.data_size;
	struct unified_io_info i0, i1;
	uint64_t h[5];
	__u64 free_buf;
	__u16 o = NT_OWNER;

	hold_at_least(16);
	quiesce();
	ASSERT_EQ(5U, nl_rx_held_list(&self->st.rx, h, 5));
	free_buf = find_buf(&self->r, UNIFIED_IO_BUF_FREE);
	ASSERT_NE(~0ULL, free_buf);
	nt_info(&self->r, &i0);
	EXPECT_EQ(0U, i0.net.refill_bad_addr + i0.net.refill_not_held);

	/* Skipped as bad addresses: 8, and one below. */
	put_raw(&self->r, ds, o, 0, 0, 0);
	put_raw(&self->r, ~0ULL, o, 0, 0, 0);
	put_raw(&self->r, ds + BUF, o, 0, 0, 0);
	put_raw(&self->r, (1ULL << 63) | h[0], o, 0, 0, 0);
	put_raw(&self->r, h[0] + 1, o, 0, 0, 0);
	put_raw(&self->r, h[0] + BUF / 2, o, 0, 0, 0);
	put_raw(&self->r, h[1], o, 1, 0, 0);
	put_raw(&self->r, h[1], o, 0, 0, 0x8000);
	/* Skipped as not held: 3, and 2 duplicates below. */
	put_raw(&self->r, h[2], o + 1, 0, 0, 0);
	put_raw(&self->r, h[2], 0, 0, 0, 0);
	put_raw(&self->r, free_buf, o, 0, 0, 0);
	/* Taken: h[3], then again at once (it is the NIC's now). */
	put_raw(&self->r, h[3], o, 0, 0, 0);
	put_raw(&self->r, h[3], o, 0, 0, 0);
	/* Taken: h[4], then again later in the batch. */
	put_raw(&self->r, h[4], o, 0, 0, 0);
	put_raw(&self->r, ds - 1, o, 0, 0, 0);
	put_raw(&self->r, h[4], o, 0, 0, 0);
	nl_rx_forget(&self->st.rx, h[3]);
	nl_rx_forget(&self->st.rx, h[4]);
	nl_refill_flush(&self->r);

	flow_until(ring_taken, NULL, "the kernel to take the batch");
	quiesce();
	nt_info(&self->r, &i1);
	EXPECT_EQ(i0.net.refill_bad_addr + 9, i1.net.refill_bad_addr);
	EXPECT_EQ(i0.net.refill_not_held + 5, i1.net.refill_not_held);
	EXPECT_EQ(i0.net.refills + 2, i1.net.refills);
	/* h[0..2] are still ours, as they were. */
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[h[i] / BUF].state) TH_LOG("h[%d]", i);
	}
	expect_held_agree();
	/* The buffers behind the skipped entries were never the NIC's. */
	EXPECT_EQ(i1.net.bufs_app + i1.net.bufs_nic, (__u32)LENT);
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, self->r.bt[free_buf / BUF].state);
	finish();
}

struct grew_arg {
	__u64 base;
	__u64 want;
};

static bool skipped_grew(struct nl_region *r, const void *arg)
{
	const struct grew_arg *a = arg;
	struct unified_io_info info;

	if (nl_region_info(r, &info))
		return false;
	return info.net.refill_bad_addr + info.net.refill_not_held >=
	       a->base + a->want;
}

TEST_F_TIMEOUT(refill, garbage_tail, 600)
{
	const __u64 ds = self->r.l.data_size;
	__u32 n = self->r.rl.ring_entries, head;
	struct unified_io_info i0, i1;
	struct grew_arg ga;
	uint64_t h[2];

	hold_at_least(16);
	quiesce();
	ASSERT_EQ(2U, nl_rx_held_list(&self->st.rx, h, 2));
	nt_info(&self->r, &i0);

	/* Every slot garbage; some of it names held buffers wrongly. */
	head = unio_smp_load_acquire(self->r.rf_khead);
	ASSERT_EQ(head, self->r.rf_tail);
	for (__u32 i = 0; i < n; i++) {
		switch (i % 4) {
		case 0: put_raw(&self->r, ds + i * BUF, NT_OWNER, 0, 0, 0); break;
		case 1: put_raw(&self->r, h[0] + 8, NT_OWNER, 0, 0, 0); break;
		case 2: put_raw(&self->r, h[1], NT_OWNER, 0, 1, 0); break;
		case 3: put_raw(&self->r, h[i & 1], NT_OWNER ^ 0x100, 0, 0, 0); break;
		}
	}
	unio_smp_store_release(self->r.rf_ktail, head + (1U << 30));

	/* Two passes over the whole ring at least, and nothing taken. */
	ga.base = i0.net.refill_bad_addr + i0.net.refill_not_held;
	ga.want = 2ULL * n;
	flow_until(skipped_grew, &ga, "two passes over the garbage");
	quiesce();
	nt_info(&self->r, &i1);
	EXPECT_EQ(i0.net.refills, i1.net.refills);
	EXPECT_LE(i0.net.refill_bad_addr + n, i1.net.refill_bad_addr);
	EXPECT_LE(i0.net.refill_not_held + n / 4, i1.net.refill_not_held);
	/* No pass reads more than the ring: the head moved by whole passes. */
	EXPECT_EQ(0U, (unio_smp_load_acquire(self->r.rf_khead) - head) % n)
		TH_LOG("head moved by %u over a ring of %u",
		       unio_smp_load_acquire(self->r.rf_khead) - head, n);
	expect_held_agree();

	/* Re-sync: our tail is the kernel's head; then returns work again. */
	head = unio_smp_load_acquire(self->r.rf_khead);
	self->r.rf_tail = head;
	unio_smp_store_release(self->r.rf_ktail, head);
	finish();
	nt_info(&self->r, &i1);
	EXPECT_LT(i0.net.refills, i1.net.refills);
}

TEST_F_TIMEOUT(refill, scribbled_head, 600)
{
	struct unified_io_info i0, i1;
	uint64_t h[1];
	__u32 head;

	hold_at_least(16);
	quiesce();
	ASSERT_EQ(1U, nl_rx_held_list(&self->st.rx, h, 1));
	nt_info(&self->r, &i0);
	head = unio_smp_load_acquire(self->r.rf_khead);
	unio_smp_store_release(self->r.rf_khead, head + 12345);

	put_raw(&self->r, h[0], NT_OWNER, 0, 0, 0);
	nl_rx_forget(&self->st.rx, h[0]);
	nl_refill_flush(&self->r);
	flow_until(ring_taken, NULL, "the kernel to republish its head");
	quiesce();
	nt_info(&self->r, &i1);
	EXPECT_EQ(i0.net.refills + 1, i1.net.refills);
	EXPECT_EQ(i0.net.refill_bad_addr, i1.net.refill_bad_addr);
	EXPECT_EQ(i0.net.refill_not_held, i1.net.refill_not_held);
	EXPECT_EQ(head + 1, unio_smp_load_acquire(self->r.rf_khead));
	expect_held_agree();
	finish();
}

TEST_HARNESS_MAIN
