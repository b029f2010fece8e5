// SPDX-License-Identifier: GPL-2.0
/*
 * Zero-copy receive: the region is the memory provider of the test NIC's
 * queue NT_ZC_QUEUE (UNIFIED_IO_NET_BIND), the test's TCP port is steered
 * there, and RECV hands the buffers the NIC wrote straight to the
 * application. Needs UNIFIED_IO_FEAT_NET_PROVIDER (SKIP otherwise).
 *
 *  stream_4x16m	4 flows x 16 MiB at once (4 x 4 MiB on the debug
 *			kernel: nt_volume()), every byte checked, every
 *			chunk without UNIFIED_IO_CQE_F_COPIED; GET_INFO:
 *			copy_bytes 0, zc_bytes == recv_bytes == the total; the
 *			NIC's queue counters show the payload placed by
 *			header split on the bound queue and nowhere else;
 *			the lent buffers all accounted for
 *  unbind_while_flowing
 *			UNBIND in the middle of 2 flows: the stream goes on
 *			(chunks become COPIED) and ends intact; buffers given
 *			back before UNBIND are accounted for; BIND again
 *			takes what the refill ring still names itself and
 *			binds the queue once the rest is back
 *  two_owners		a buffer is held under one owner at a time: a RECV
 *			under a second owner that reaches the rest of a
 *			buffer the first holds stops there (EBUSY), and
 *			takes it once the first has freed it; then only the
 *			second can give it back, and while it holds it the
 *			region cannot be bound again (EBUSY)
 *  starvation	64 lent buffers, all held by the application: the NIC
 *			drops and counts (rx<Q>_alloc_fail, rx<Q>_drops),
 *			alloc_empty grows, TCP retransmits; the held data
 *			stays intact, and once the buffers go back through
 *			the refill ring the stream completes intact
 *  small_pool	64 lent buffers under a plain stream, the socket's
 *			receive buffer bounded to half the pool (NT_RCVBUF):
 *			the NIC runs dry now and then and the stream completes
 * The streams bound SO_RCVBUF the same way (see net_bpf.c ofo_exhaustion
 * for what happens without).
 */
#include "net_test.h"

#define SQ	8
#define CQ	1024
#define BUF	4096
#define NBUFS	2048
#define LENT	1024
#define PORT	7821

FIXTURE(zc) {
	struct nl_pair p;
	struct nl_region r;
	struct nt_stream st;
};

FIXTURE_SETUP(zc)
{
	self->r.fd = -1;
	nt_stream_init(&self->st);
	NT_REQUIRE_PROVIDER();
	if (!nt_pair_create(&self->p, "unionic"))
		return;
	if (!nt_region_create(&self->r, SQ, CQ, BUF, NBUFS))
		return;
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, nl_steer(&self->p, PORT + i, NT_ZC_QUEUE))
			TH_LOG("%s", self->p.err);
}

FIXTURE_TEARDOWN(zc)
{
	nt_stream_stop(&self->st);
	nl_region_destroy(&self->r);
	nl_pair_destroy(&self->p);
}

static void __qstats(struct __test_metadata *_metadata, struct nl_pair *p,
		     unsigned int q, struct nl_qstats *st)
{
	int ret = nl_queue_stats(p, q, st);

	ASSERT_EQ(0, ret) TH_LOG("%s", p->err);
}

#define qstats(q, st)	__qstats(_metadata, &self->p, q, st)

/* Lent buffers are with the NIC or the application, nowhere else. */
static void __expect_lent_accounted(struct __test_metadata *_metadata,
				    struct nl_region *r, __u32 lent)
{
	struct unified_io_info info;

	nt_info(r, &info);
	EXPECT_EQ(lent, info.net.nr_bufs);
	EXPECT_EQ(lent, info.net.bufs_app + info.net.bufs_nic);
	EXPECT_EQ(r->l.nr_bufs - lent, info.stats.bufs_free);
	EXPECT_EQ(info.net.bufs_app, info.stats.bufs_app);
	EXPECT_EQ(info.net.bufs_nic, info.stats.bufs_kernel);
}

#define expect_lent_accounted(r, lent)	__expect_lent_accounted(_metadata, r, lent)

TEST_F_TIMEOUT(zc, stream_4x16m, 900)
{
	struct nl_qstats before[8], after[8];
	struct nl_rx *rx = &self->st.rx;
	struct unified_io_info info;
	uint64_t total = nt_volume(4 * 16 * NT_MIB, 16 * NT_MIB);
	unsigned int nq = self->p.nr_rxq < 8 ? self->p.nr_rxq : 8;
	uint64_t t0;

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, LENT);
	for (unsigned int q = 0; q < nq; q++)
		qstats(q, &before[q]);

	t0 = nl_now_ms();
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 4, total / 4,
			    0, NT_RCVBUF(LENT / 4));
	rx->expect = NL_EXPECT_ZC;
	nt_stream_run(&self->st, 0, 30000);
	nt_sender_done(&self->st, 30000);
	TH_LOG("%llu MiB in %llu ms, %llu chunks, %llu RECVs (%llu EAGAIN)",
	       (unsigned long long)(total / NT_MIB),
	       (unsigned long long)(nl_now_ms() - t0),
	       (unsigned long long)rx->zc_chunks, (unsigned long long)rx->recvs,
	       (unsigned long long)rx->eagain);

	EXPECT_EQ(total, rx->bytes);
	EXPECT_EQ(total, rx->verified);
	EXPECT_EQ(total, rx->zc_bytes);
	EXPECT_EQ(0U, rx->copy_bytes);

	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
	EXPECT_EQ(total, info.net.recv_bytes);
	EXPECT_EQ(total, info.net.zc_bytes);
	EXPECT_EQ(0U, info.net.copy_bytes);
	EXPECT_EQ(0U, info.net.copy_chunks);
	EXPECT_EQ(rx->zc_chunks, info.net.zc_chunks);
	EXPECT_LT(0U, info.net.nic_allocs);
	EXPECT_EQ(0U, info.net.refill_bad_addr);
	EXPECT_EQ(0U, info.net.refill_not_held);
	/* Every entry written was taken, or is still in the ring. */
	EXPECT_EQ(rx->refilled, info.net.refills + nl_refill_pending(&self->r));
	EXPECT_EQ(nl_refill_pending(&self->r), info.net.bufs_app);
	expect_lent_accounted(&self->r, LENT);

	/* The NIC put the payload in pool buffers of the bound queue only. */
	for (unsigned int q = 0; q < nq; q++) {
		qstats(q, &after[q]);
		if (q == NT_ZC_QUEUE) {
			EXPECT_LE(total, after[q].hds_bytes - before[q].hds_bytes);
			EXPECT_LT(before[q].packets, after[q].packets);
		} else {
			EXPECT_EQ(before[q].hds_bytes, after[q].hds_bytes)
				TH_LOG("payload on queue %u", q);
		}
	}
	TH_LOG("queue %u: %llu packets, %llu payload bytes, %llu drops, %llu alloc failures",
	       NT_ZC_QUEUE,
	       (unsigned long long)(after[NT_ZC_QUEUE].packets - before[NT_ZC_QUEUE].packets),
	       (unsigned long long)(after[NT_ZC_QUEUE].hds_bytes - before[NT_ZC_QUEUE].hds_bytes),
	       (unsigned long long)(after[NT_ZC_QUEUE].drops - before[NT_ZC_QUEUE].drops),
	       (unsigned long long)(after[NT_ZC_QUEUE].alloc_fail - before[NT_ZC_QUEUE].alloc_fail));
}

/*
 * Buffers named by refill entries the kernel has not taken (between its
 * head and our tail); with a binding gone nothing takes them, so they go
 * back with FREE.
 */
static unsigned int pending_refills(struct nl_region *r, uint64_t *offs,
				    unsigned int max)
{
	uint32_t head = unio_smp_load_acquire(r->rf_khead);
	unsigned int n = 0;

	for (uint32_t i = head; i != r->rf_tail && n < max; i++)
		offs[n++] = r->rfqes[i & r->rl.ring_mask].addr;
	return n;
}

/*
 * BIND, retrying while it fails with EBUSY because buffers of the last
 * binding are still on their way back (skbs other CPUs deferred, a page
 * pool's release work): at most 20 s.
 */
static int bind_when_home(struct nl_region *r, int ifindex, uint32_t rxq,
			  uint32_t nr_bufs, char *msg)
{
	uint64_t end = nl_now_ms() + 20000;
	int ret;

	while ((ret = nl_bind(r, ifindex, rxq, nr_bufs, msg)) == -EBUSY &&
	       nl_now_ms() < end) {
		nl_kick_cpus();
		usleep(100000);
	}
	return ret;
}

TEST_F_TIMEOUT(zc, unbind_while_flowing, 900)
{
	struct nl_rx *rx = &self->st.rx;
	struct nl_region again = { .fd = -1 };
	struct unified_io_info info;
	uint64_t total = nt_volume(2 * 16 * NT_MIB, 8 * NT_MIB), zc_before;
	static uint64_t offs[NBUFS];
	unsigned int n;
	char msg[64];
	int ret;

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, LENT);
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT + 1, 2,
			    total / 2, 0, NT_RCVBUF(LENT / 2));
	nt_stream_run(&self->st, 4 * NT_MIB, 30000);
	zc_before = rx->zc_bytes;
	EXPECT_EQ(0U, rx->copy_bytes);

	ret = nl_unbind(&self->r, msg);
	ASSERT_EQ(0, ret) TH_LOG("UNBIND: %s (%.64s)", strerror(-ret), msg);
	EXPECT_EQ(0, msg[0]);
	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_UNBOUND, info.net.state);

	nt_stream_run(&self->st, 0, 30000);
	nt_sender_done(&self->st, 30000);
	EXPECT_EQ(total, rx->bytes);
	EXPECT_EQ(total, rx->verified);
	EXPECT_LE(4 * NT_MIB, zc_before);
	EXPECT_LT(0U, rx->copy_bytes) TH_LOG("no chunk was copied after UNBIND");
	EXPECT_GT(total, rx->zc_bytes);
	TH_LOG("%llu bytes zero-copy (%llu before UNBIND), %llu copied",
	       (unsigned long long)rx->zc_bytes, (unsigned long long)zc_before,
	       (unsigned long long)rx->copy_bytes);

	nt_info(&self->r, &info);
	EXPECT_EQ(total, info.net.recv_bytes);
	EXPECT_EQ(rx->zc_bytes, info.net.zc_bytes);
	EXPECT_EQ(rx->copy_bytes, info.net.copy_bytes);
	EXPECT_EQ(total, info.net.zc_bytes + info.net.copy_bytes);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_UNBOUND, info.net.state);

	/* What the ring still names is the application's until taken. */
	n = pending_refills(&self->r, offs, NBUFS);
	EXPECT_EQ(n, info.net.bufs_app)
		TH_LOG("%u entries left in the refill ring, %u buffers held",
		       n, info.net.bufs_app);
	TH_LOG("%u buffers given back through the ring after UNBIND", n);
	expect_lent_accounted(&self->r, LENT);

	/*
	 * Refilled is home: BIND takes the ring's entries itself (no SUBMIT,
	 * no FREE), then binds once the page pools have handed back what the
	 * stack returned.
	 */
	ret = bind_when_home(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 32, msg);
	ASSERT_EQ(0, ret) TH_LOG("BIND after UNBIND: %s (%.64s)", strerror(-ret), msg);
	EXPECT_EQ(0U, pending_refills(&self->r, offs, NBUFS));
	nt_info(&self->r, &info);
	EXPECT_EQ(0U, info.net.bufs_app);
	EXPECT_EQ(0U, info.net.refill_not_held);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
	EXPECT_EQ(32U, info.net.nr_bufs);
	EXPECT_EQ(NBUFS - 32U, info.stats.bufs_free);
	expect_lent_accounted(&self->r, 32);

	/* And another region cannot take the queue from it. */
	if (!nt_region_create(&again, SQ, CQ, BUF, 64))
		return;
	ret = nl_bind(&again, self->p.rx_ifindex, NT_ZC_QUEUE, 32, msg);
	EXPECT_EQ(-EEXIST, ret) TH_LOG("%.64s", msg);
	nl_region_destroy(&again);
}

TEST_F_TIMEOUT(zc, two_owners, 300)
{
	const uint16_t a = NT_OWNER, b = NT_OWNER + 1;
	struct nl_chunk ch[64];
	char msg[64];
	struct unified_io_info info;
	unsigned int nr;
	uint64_t buf, got;
	int sock, res;

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, LENT);
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 1, 256 * 1024,
			    0, NT_RCVBUF(LENT));
	sock = self->st.socks[0];
	ASSERT_LE(8192, nt_wait_inq(sock, 8192, 20000));

	/* Owner a takes the first 100 bytes: the start of buffer X. */
	res = nt_recv(&self->r, sock, a, 100, 0, ch, 64, &nr);
	ASSERT_EQ(100, res);
	ASSERT_EQ(1U, nr);
	ASSERT_EQ(0U, ch[0].flags & UNIFIED_IO_CQE_F_COPIED)
		TH_LOG("the first chunk was copied: not a lent buffer");
	buf = ch[0].addr & ~(uint64_t)(BUF - 1);
	EXPECT_EQ(100U, nt_check_chunks(&self->r, ch, nr, a, 0, 0, 0));

	/* Owner b reaches the rest of X, which a holds: nothing taken. */
	res = nt_recv(&self->r, sock, b, 0, 0, ch, 64, &nr);
	EXPECT_EQ(-EBUSY, res);
	EXPECT_EQ(0U, nr);
	EXPECT_EQ(a, self->r.bt[buf / BUF].owner);

	/* Once a has freed X, b takes the rest of it, and then holds it. */
	ASSERT_EQ(0, nl_free_bufs(&self->r, a, &buf, 1));
	res = nt_recv(&self->r, sock, b, BUF, 0, ch, 64, &nr);
	ASSERT_LT(0, res);
	ASSERT_LE(1U, nr);
	EXPECT_EQ(buf + 100, ch[0].addr);
	got = nt_check_chunks(&self->r, ch, nr, b, 0, 100, 0);
	EXPECT_EQ((uint64_t)res, got);
	EXPECT_EQ(b, self->r.bt[buf / BUF].owner);
	EXPECT_EQ(-EPERM, nl_free_bufs(&self->r, a, &buf, 1));

	/* A buffer of the binding is held: it cannot be bound again yet. */
	ASSERT_EQ(0, nl_unbind(&self->r, msg)) TH_LOG("%.64s", msg);
	res = nl_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 32, msg);
	EXPECT_EQ(-EBUSY, res) TH_LOG("BIND while owner b holds a buffer: %d (%.64s)",
				      res, msg);
	nt_free_chunks(&self->r, b, ch, nr);
	nt_info(&self->r, &info);
	EXPECT_EQ(0U, info.net.bufs_app);
	EXPECT_EQ(0U, info.net.refill_not_held);
}

TEST_F_TIMEOUT(zc, starvation, 900)
{
	const __u32 lent = 64;
	struct nl_rx *rx = &self->st.rx;
	struct unified_io_info i0, i1;
	struct nl_qstats q0, q1;
	uint64_t total = 4 * NT_MIB, re0, re1, end;
	int ret;

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, lent);
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 1, total, 0,
			    NT_RCVBUF(lent));
	rx->expect = NL_EXPECT_ZC;
	rx->hold = true;

	/* Receive and keep everything until the application holds it all. */
	end = nl_now_ms() + 60000;
	do {
		ret = nl_rx_step(rx, 100);
		ASSERT_LE(0, ret) TH_LOG("%s", rx->err);
		nt_info(&self->r, &i0);
	} while (i0.net.bufs_app < lent && nl_now_ms() < end);
	ASSERT_EQ(lent, i0.net.bufs_app) TH_LOG("held %u of %u lent buffers",
						 i0.net.bufs_app, lent);
	EXPECT_EQ(0U, i0.net.bufs_nic);
	EXPECT_EQ(lent, rx->nr_held);
	EXPECT_GT(total, rx->bytes);

	qstats(NT_ZC_QUEUE, &q0);
	ASSERT_EQ(0, nl_snmp(self->p.ns_tx, "Tcp", "RetransSegs", &re0));
	nt_info(&self->r, &i0);
	/* Nothing arrives while the NIC has no buffer; TCP backs off. */
	end = nl_now_ms() + 2500;
	while (nl_now_ms() < end) {
		uint64_t bytes = rx->bytes;

		ret = nl_rx_step(rx, 100);
		ASSERT_LE(0, ret) TH_LOG("%s", rx->err);
		EXPECT_EQ(bytes, rx->bytes) TH_LOG("data arrived with every buffer held");
	}
	qstats(NT_ZC_QUEUE, &q1);
	ASSERT_EQ(0, nl_snmp(self->p.ns_tx, "Tcp", "RetransSegs", &re1));
	nt_info(&self->r, &i1);
	EXPECT_LT(q0.alloc_fail, q1.alloc_fail);
	EXPECT_LT(q0.drops, q1.drops);
	EXPECT_LT(i0.net.alloc_empty, i1.net.alloc_empty);
	EXPECT_LT(re0, re1);
	EXPECT_EQ(i0.net.nic_allocs, i1.net.nic_allocs);
	TH_LOG("starved 2.5 s: +%llu alloc failures, +%llu drops, +%llu alloc_empty, +%llu retransmits",
	       (unsigned long long)(q1.alloc_fail - q0.alloc_fail),
	       (unsigned long long)(q1.drops - q0.drops),
	       (unsigned long long)(i1.net.alloc_empty - i0.net.alloc_empty),
	       (unsigned long long)(re1 - re0));

	/* The held data is as it arrived. */
	ret = nl_rx_reverify_held(rx);
	EXPECT_EQ(0, ret) TH_LOG("%s", rx->err);

	/* Give everything back through the refill ring: the stream resumes. */
	ret = nl_rx_return_held(rx);
	ASSERT_EQ(0, ret) TH_LOG("%s", rx->err);
	EXPECT_EQ((uint64_t)lent, rx->refilled);
	rx->hold = false;
	nt_stream_run(&self->st, 0, 30000);
	nt_sender_done(&self->st, 30000);
	EXPECT_EQ(total, rx->bytes);
	EXPECT_EQ(total, rx->verified);
	EXPECT_EQ(total, rx->zc_bytes);
	nt_info(&self->r, &i1);
	EXPECT_EQ(0U, i1.net.copy_bytes);
	EXPECT_LE((uint64_t)lent, i1.net.refills);
	EXPECT_EQ(0U, i1.net.refill_bad_addr + i1.net.refill_not_held);
	expect_lent_accounted(&self->r, lent);
}

/*
 * A pool of 64 buffers under a plain stream (the application gives every
 * buffer back at once), the socket's receive buffer bounded to half the
 * pool (NT_RCVBUF): the NIC runs dry now and then, drops, and the stream
 * completes anyway (TCP prunes its out-of-order queue before the pool is
 * all in it).
 */
TEST_F_TIMEOUT(zc, small_pool, 900)
{
	const __u32 lent = 64;
	struct nl_rx *rx = &self->st.rx;
	uint64_t total = 16 * NT_MIB;

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, lent);
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 1, total, 0,
			    NT_RCVBUF(lent));
	rx->expect = NL_EXPECT_ZC;
	nt_stream_run(&self->st, 0, 30000);
	nt_sender_done(&self->st, 30000);
	EXPECT_EQ(total, rx->verified);
	expect_lent_accounted(&self->r, lent);
}

TEST_HARNESS_MAIN
