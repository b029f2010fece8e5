// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes around RECV and the binding: whatever ends first (the
 * receiving process, a socket, the NIC), no buffer, page or page pool is
 * leaked, the region stays usable where it still exists, and both modules
 * unload afterwards. Variants: "copy" (no binding; any kernel with
 * UNIFIED_IO_FEAT_NET_RECV) and "zc" (the region provides the test NIC's
 * queue; needs UNIFIED_IO_FEAT_NET_PROVIDER).
 *
 *  kill_receiver	a receiver holding buffers is killed (SIGKILL) in the
 *			middle of a stream: every page pool that held its
 *			buffers goes away, the module's references drop back,
 *			unified_io and unio_nic unload (polled: page pools
 *			release asynchronously) and load again from
 *			$UNIFIED_IO_KMOD_DIR (or $UNIFIED_IO_REPO), and a new
 *			receiver binds the same queue and gets a stream intact
 *  close_midstream	the sockets are closed with data queued while the
 *			application holds buffers: the held data stays
 *			intact, goes back, every lent buffer is accounted
 *			for, and the region receives a new stream intact
 *  nic_removal		(zc) the NIC is deleted while bound and data flows:
 *			state GONE, held data intact, FREE gives everything
 *			back, the region still works (ALLOC/FREE, RECV with
 *			copies), and after closing it both modules unload
 *  rmmod_while_held	(zc) three times: the region is closed while a
 *			socket still holds its buffers in skbs; unified_io
 *			stays loaded (the core pins the provider's module
 *			for the page pool) until the socket goes, then
 *			rmmod, tried in a tight loop while the last page
 *			pool is released, succeeds, and the module loads
 *			again
 *  close_all_held	(zc) a region of 16384 buffers, all but a few lent
 *			and held by the application, is closed: the
 *			teardown drops 16k user references (with bottom
 *			halves on), nothing leaks, the modules unload
 */
#include <sys/prctl.h>

#include "net_test.h"

#define SQ	8
#define CQ	1024
#define BUF	4096
#define NBUFS	2048
#define LENT	1024
#define PORT	7841
#define KEEP	64

FIXTURE(life) {
	struct nl_pair p;
	struct nl_region r;
	struct nt_stream st;
};

FIXTURE_VARIANT(life) {
	bool zc;
};

FIXTURE_VARIANT_ADD(life, copy) {
	.zc = false,
};

FIXTURE_VARIANT_ADD(life, zc) {
	.zc = true,
};

FIXTURE_SETUP(life)
{
	self->r.fd = -1;
	nt_stream_init(&self->st);
	NT_REQUIRE_RECV();
	if (variant->zc)
		NT_REQUIRE_PROVIDER();
	if (!nt_pair_create(&self->p, "unionic"))
		return;
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, nl_steer(&self->p, PORT + i, NT_ZC_QUEUE))
			TH_LOG("%s", self->p.err);
	/* Page pools of an earlier test may still be going away. */
	for (int i = 0; i < 200 && nl_module_refcnt("unified_io") > 0; i++)
		usleep(50000);
	ASSERT_EQ(0, nl_module_refcnt("unified_io"))
		TH_LOG("unified_io is in use before the test");
}

FIXTURE_TEARDOWN(life)
{
	nt_stream_stop(&self->st);
	nl_region_destroy(&self->r);
	nl_pair_destroy(&self->p);
}

/* Region for @variant: bound to the test queue for zc. */
static void __make_region(struct __test_metadata *_metadata,
			  struct nl_region *r, struct nl_pair *p, bool zc)
{
	if (!nt_region_create(r, SQ, CQ, BUF, NBUFS))
		return;
	if (zc)
		nt_bind(r, p->rx_ifindex, NT_ZC_QUEUE, LENT);
}

#define make_region()	__make_region(_metadata, &self->r, &self->p, variant->zc)

/* Pools of this namespace destroyed with pages still in flight. */
static int lingering_pools(struct __test_metadata *_metadata,
			   struct nl_pp *pools, int *n)
{
	int lingering = 0;

	*n = nl_page_pools(pools, 64);
	if (*n < 0)
		return -1;
	for (int i = 0; i < *n && i < 64; i++)
		lingering += pools[i].detach_time != 0;
	return lingering;
}

/*
 * No page pool of this namespace is left detached with pages in flight.
 * For a second without help, then running the receive softirq on every
 * CPU (nl_kick_cpus): skbs freed off their NAPI CPU wait on that CPU's
 * defer list, and after the NIC is gone nothing else runs it there.
 */
static void __expect_pools_released(struct __test_metadata *_metadata,
				    int timeout_ms)
{
	struct nl_pp pools[64];
	uint64_t end = nl_now_ms() + 1000;
	int n, lingering;

	while ((lingering = lingering_pools(_metadata, pools, &n)) > 0 &&
	       nl_now_ms() < end)
		usleep(50000);
	ASSERT_LE(0, lingering) TH_LOG("page-pool-get: %s", strerror(-n));
	if (!lingering)
		return;
	for (int i = 0; i < n && i < 64; i++) {
		if (pools[i].detach_time)
			TH_LOG("page pool %u: destroyed 1 s ago, %llu pages in flight; running the softirq on every CPU",
			       pools[i].id, (unsigned long long)pools[i].inflight);
	}
	end = nl_now_ms() + timeout_ms;
	do {
		nl_kick_cpus();
		lingering = lingering_pools(_metadata, pools, &n);
		if (!lingering)
			return;
		usleep(50000);
	} while (nl_now_ms() < end);
	for (int i = 0; i < n && i < 64; i++) {
		if (pools[i].detach_time)
			TH_LOG("page pool %u (ifindex %u): destroyed, %llu pages (%llu bytes) in flight",
			       pools[i].id, pools[i].ifindex,
			       (unsigned long long)pools[i].inflight,
			       (unsigned long long)pools[i].inflight_mem);
	}
	EXPECT_EQ(0, lingering) TH_LOG("after %d ms", timeout_ms);
}

#define expect_pools_released(ms)	__expect_pools_released(_metadata, ms)

/*
 * Nothing holds the module: no region (open file) and no page pool of our
 * provider (each pins the module) is left.
 */
static void __expect_no_refs(struct __test_metadata *_metadata, int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	int now;

	while ((now = nl_module_refcnt("unified_io")) != 0 && nl_now_ms() < end) {
		nl_kick_cpus();
		usleep(50000);
	}
	EXPECT_EQ(0, now) TH_LOG("unified_io references after %d ms", timeout_ms);
}

#define expect_no_refs(ms)	__expect_no_refs(_metadata, ms)

/* Unload both modules (polling), then load them again. */
static void __modules_cycle(struct __test_metadata *_metadata)
{
	char err[512] = "";
	int ret;

	if (!nl_kmod_dir())
		SKIP(return, "neither UNIFIED_IO_KMOD_DIR nor UNIFIED_IO_REPO is set");
	ret = nl_modules_unload(10000, true, err, sizeof(err));
	EXPECT_EQ(0, ret) TH_LOG("unload: %s", err);
	ret = nl_modules_load(true, err, sizeof(err));
	ASSERT_EQ(0, ret) TH_LOG("load from %s: %s", nl_kmod_dir(), err);
}

#define modules_cycle()	__modules_cycle(_metadata)

/* Receive a fresh stream on @port into a new region, intact. */
static void __fresh_stream(struct __test_metadata *_metadata,
			   FIXTURE_DATA(life) *self, bool zc, uint16_t port)
{
	struct nl_rx *rx = &self->st.rx;

	nt_stream_stop(&self->st);
	nt_stream_start_buf(&self->st, &self->p, &self->r, port, 1, 4 * NT_MIB,
			    0, NT_RCVBUF(LENT));
	rx->expect = zc ? NL_EXPECT_ZC : NL_EXPECT_COPIED;
	nt_stream_run(&self->st, 0, 30000);
	nt_sender_done(&self->st, 30000);
	EXPECT_EQ(4 * NT_MIB, rx->verified);
}

#define fresh_stream(port)	__fresh_stream(_metadata, self, variant->zc, port)

struct kid {
	volatile int ready;		/* region set up (and bound) */
	volatile uint64_t bytes;
	volatile uint32_t held;
	volatile int ret;
	char err[NL_ERR_LEN];
};

/*
 * The receiver child: its own region (bound before any data flows), the
 * flow accepted on @lsock, KEEP buffers and more held for good; never exits.
 */
static void receiver(struct kid *k, struct nl_pair *p, int lsock, bool zc)
{
	struct nl_region r;
	struct nl_rx rx;
	char msg[64];
	int ret, sock;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ret = nl_region_create(&r, SQ, CQ, BUF, NBUFS);
	if (!ret && zc)
		ret = nl_bind(&r, p->rx_ifindex, NT_ZC_QUEUE, LENT, msg);
	k->ready = 1;
	if (!ret)
		ret = nl_accept_flows(lsock, 1, &sock, 30000);
	if (!ret)
		ret = nl_rx_init(&rx, &r, NT_OWNER, 1, &sock, 0);
	if (ret) {
		k->ret = ret;
		_exit(1);
	}
	rx.expect = zc ? NL_EXPECT_ZC : NL_EXPECT_COPIED;
	rx.hold = true;
	for (;;) {
		ret = nl_rx_step(&rx, 100);
		if (ret < 0) {
			k->ret = ret;
			memcpy(k->err, rx.err, sizeof(k->err));
			_exit(1);
		}
		/* Keep the first KEEP buffers (or a few more), return the rest. */
		if (rx.hold && rx.nr_held >= KEEP) {
			uint64_t offs[NBUFS];
			unsigned int n = nl_rx_held_list(&rx, offs, NBUFS);

			k->held = n;
			for (unsigned int i = 0; i < n; i++)
				nl_rx_forget(&rx, offs[i]);
			rx.hold = false;
		}
		k->bytes = rx.bytes;
	}
}

TEST_F_TIMEOUT(life, kill_receiver, 900)
{
	struct nl_sender_opts o = {
		.nsfd = self->p.ns_tx,
		.dst = self->p.rx_addr,
		.dport = PORT,
		.nr_flows = 1,
		.bytes = 256 * NT_MIB,
	};
	uint64_t end;
	struct kid *k;
	int status;
	pid_t pid;

	k = mmap(NULL, sizeof(*k), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, k);
	self->st.lsock = nl_listen_rcvbuf(self->p.rx_addr, PORT, NT_RCVBUF(LENT));
	ASSERT_LE(0, self->st.lsock);

	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		receiver(k, &self->p, self->st.lsock, variant->zc);
	end = nl_now_ms() + 30000;
	while (!k->ready && nl_now_ms() < end)
		usleep(10000);
	ASSERT_EQ(1, k->ready);
	ASSERT_EQ(0, k->ret) TH_LOG("receiver set-up: %s", strerror(-k->ret));
	ASSERT_EQ(0, nl_sender_start(&self->st.snd, &o));

	end = nl_now_ms() + 120000;
	while (k->bytes < 2 * NT_MIB && !k->ret && nl_now_ms() < end)
		usleep(20000);
	ASSERT_EQ(0, k->ret) TH_LOG("receiver: %s: %s", strerror(-k->ret), k->err);
	ASSERT_LE(2 * NT_MIB, k->bytes);
	EXPECT_LE((__u32)KEEP, k->held);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	TH_LOG("receiver killed after %llu bytes, holding %u buffers",
	       (unsigned long long)k->bytes, k->held);

	/* The connection died with the receiver. */
	nt_stream_stop(&self->st);
	expect_pools_released(10000);
	expect_no_refs(10000);

	/* The queue is free again, for a new receiver. */
	make_region();
	fresh_stream(PORT + 1);
	nt_stream_stop(&self->st);
	nl_region_destroy(&self->r);

	expect_pools_released(10000);
	modules_cycle();
	munmap(k, sizeof(*k));
}

TEST_F_TIMEOUT(life, close_midstream, 900)
{
	struct nl_rx *rx = &self->st.rx;
	struct nl_held_chunk kept_chunk[KEEP];
	uint64_t kept[KEEP];
	struct unified_io_info info;
	unsigned int n;
	int ret;

	make_region();
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 2, 64 * NT_MIB,
			    0, NT_RCVBUF(LENT / 2));
	rx->expect = variant->zc ? NL_EXPECT_ZC : NL_EXPECT_COPIED;
	rx->hold = true;
	while (rx->nr_held < KEEP) {
		ret = nl_rx_step(rx, 100);
		ASSERT_LE(0, ret) TH_LOG("%s", rx->err);
	}
	n = nl_rx_held_list(rx, kept, KEEP);
	ASSERT_EQ((unsigned int)KEEP, n);
	for (unsigned int i = 0; i < n; i++) {
		kept_chunk[i] = rx->held_chunk[kept[i] / BUF];
		nl_rx_forget(rx, kept[i]);
	}
	rx->hold = false;
	nt_stream_run(&self->st, 2 * NT_MIB, 30000);

	/* Close with data queued: the peers get an RST. */
	for (int i = 0; i < 2; i++) {
		close(self->st.socks[i]);
		self->st.socks[i] = -1;
		rx->flow[i].sock = -1;
	}
	ret = nl_sender_wait(&self->st.snd, 30000);
	EXPECT_NE(0, ret) TH_LOG("the sender finished 64 MiB on closed sockets");

	/* What the application kept is still its own, as it arrived. */
	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)KEEP + nl_refill_pending(&self->r), info.stats.bufs_app);
	for (unsigned int i = 0; i < n; i++) {
		const struct nl_held_chunk *h = &kept_chunk[i];
		long bad = nl_pattern_check(h->flow, h->off,
					    (uint8_t *)self->r.q.data + kept[i] + h->in,
					    h->len, 0);

		EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[kept[i] / BUF].state);
		EXPECT_EQ(-1, bad) TH_LOG("kept buffer %#llx changed at +%ld",
					  (unsigned long long)kept[i], bad);
	}
	for (unsigned int i = 0; i < n; i++) {
		rx->held[kept[i] / BUF] = 1;
		rx->held_zc[kept[i] / BUF] = variant->zc;
	}
	rx->nr_held = n;
	ret = nl_rx_return_held(rx);
	ASSERT_EQ(0, ret) TH_LOG("%s", rx->err);

	/* A new stream into the same region, then everything accounted for. */
	fresh_stream(PORT + 2);
	nt_info(&self->r, &info);
	if (variant->zc) {
		EXPECT_EQ(nl_refill_pending(&self->r), info.net.bufs_app);
		EXPECT_EQ((__u32)LENT, info.net.bufs_app + info.net.bufs_nic);
		EXPECT_EQ((__u32)(NBUFS - LENT), info.stats.bufs_free);
	} else {
		EXPECT_EQ(0U, info.stats.bufs_app);
		EXPECT_EQ((__u32)NBUFS, info.stats.bufs_free);
	}
	nt_stream_stop(&self->st);
	nl_region_destroy(&self->r);
	expect_pools_released(10000);
	expect_no_refs(10000);
}

static bool state_is(struct nl_region *r, __u32 state)
{
	struct unified_io_info info;

	return !nl_region_info(r, &info) && info.net.state == state;
}

TEST_F_TIMEOUT(life, nic_removal, 900)
{
	struct nl_rx *rx = &self->st.rx;
	struct unified_io_info info;
	static uint64_t offs[NBUFS];
	struct unified_io_desc d = {};
	struct unified_io_cqe *c;
	struct nl_chunk ch[8];
	int ret, cli, srv, res;
	uint64_t end, a;
	unsigned int n;

	if (!variant->zc)
		SKIP(return, "no binding to lose");
	make_region();
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT + 3, 1,
			    256 * NT_MIB, 0, NT_RCVBUF(LENT));
	rx->expect = NL_EXPECT_ZC;
	rx->hold = true;
	while (rx->nr_held < KEEP) {
		ret = nl_rx_step(rx, 100);
		ASSERT_LE(0, ret) TH_LOG("%s", rx->err);
	}

	/* Pull the NIC (and its peer) out from under the binding. */
	ret = nl_sh(-1, NULL, 0, "ip link del dev %s", self->p.rx_if);
	ASSERT_EQ(0, ret);
	self->p.linked = false;
	end = nl_now_ms() + 10000;
	while (!state_is(&self->r, UNIFIED_IO_NET_GONE) && nl_now_ms() < end)
		usleep(20000);
	nt_info(&self->r, &info);
	ASSERT_EQ((__u32)UNIFIED_IO_NET_GONE, info.net.state);

	/* What is queued can still be read; then the stream is dead. */
	for (int i = 0; i < 20; i++) {
		ret = nl_rx_step(rx, 50);
		ASSERT_LE(0, ret) TH_LOG("after removal: %s", rx->err);
	}
	nl_sender_kill(&self->st.snd);
	close(self->st.socks[0]);
	self->st.socks[0] = -1;
	rx->flow[0].sock = -1;

	/* Held data intact; everything goes back with FREE now. */
	self->r.bound = false;
	EXPECT_EQ(0, nl_rx_reverify_held(rx)) TH_LOG("%s", rx->err);
	nt_info(&self->r, &info);
	n = nl_rx_held_list(rx, offs, NBUFS);
	for (uint32_t i = unio_smp_load_acquire(self->r.rf_khead);
	     i != self->r.rf_tail && n < NBUFS; i++) {
		offs[n++] = self->r.rfqes[i & self->r.rl.ring_mask].addr;
	}
	EXPECT_EQ(n, info.net.bufs_app);
	ret = nl_free_bufs(&self->r, NT_OWNER, offs, n);
	EXPECT_EQ(0, ret) TH_LOG("FREE of what the binding lent: %s", strerror(-ret));
	nt_info(&self->r, &info);
	EXPECT_EQ(0U, info.net.bufs_app);
	EXPECT_EQ((__u32)LENT, info.net.bufs_nic);

	/* The region still works: ALLOC/FREE, and RECV (copies) over lo. */
	unio_prep_alloc(&d, 0x44, 1);
	ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
	c = unio_peek_cqe(&self->r.q);
	ASSERT_EQ(BUF, c->res);
	a = c->addr;
	unio_cqe_seen(&self->r.q);
	ASSERT_EQ(0, nl_free_bufs(&self->r, 0x44, &a, 1));
	nt_lo_pair(PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 3000));
	ASSERT_EQ(3000, nt_wait_inq(srv, 3000, 5000));
	res = nt_recv(&self->r, srv, NT_OWNER, 0, 0, ch, 8, &n);
	EXPECT_EQ(3000, res);
	EXPECT_EQ(3000U, nt_check_chunks(&self->r, ch, n, NT_OWNER, 0, 0, 1));
	nt_free_chunks(&self->r, NT_OWNER, ch, n);
	close(cli);
	close(srv);

	nl_region_destroy(&self->r);
	expect_pools_released(10000);
	expect_no_refs(10000);
	modules_cycle();
}

TEST_F_TIMEOUT(life, rmmod_while_held, 900)
{
	struct nl_rx *rx = &self->st.rx;
	char err[512];
	int ret, tries;
	uint64_t end;

	if (!variant->zc)
		SKIP(return, "no page pool to outlive the region");
	if (!nl_kmod_dir())
		SKIP(return, "neither UNIFIED_IO_KMOD_DIR nor UNIFIED_IO_REPO is set");
	for (int round = 0; round < 3; round++) {
		make_region();
		nt_stream_start_buf(&self->st, &self->p, &self->r, PORT + round, 1,
				    64 * NT_MIB, 0, NT_RCVBUF(LENT));
		rx->expect = NL_EXPECT_ZC;
		nt_stream_run(&self->st, NT_MIB, 30000);
		/* Data keeps arriving into the socket; nobody reads it. */
		ASSERT_LT(0, nt_wait_inq(self->st.socks[0], 64 * 1024, 10000));
		nl_region_destroy(&self->r);

		/* The socket's skbs hold the region's net_iovs: still pinned. */
		ASSERT_LT(0, nl_module_refcnt("unified_io"));
		EXPECT_NE(0, syscall(SYS_delete_module, "unified_io", O_NONBLOCK))
			TH_LOG("round %d: unloaded while a socket holds its memory",
			       round);

		/* The socket goes; rmmod races the pools' release. */
		nt_stream_stop(&self->st);
		end = nl_now_ms() + 20000;
		for (tries = 0; nl_now_ms() < end; tries++) {
			if (!syscall(SYS_delete_module, "unified_io", O_NONBLOCK))
				break;
			if (!(tries % 64))
				nl_kick_cpus();
		}
		ASSERT_EQ(-ENOENT, nl_module_refcnt("unified_io"))
			TH_LOG("round %d: unified_io still loaded after %d tries",
			       round, tries);
		TH_LOG("round %d: unloaded after %d tries", round, tries);
		ret = nl_modules_load(false, err, sizeof(err));
		ASSERT_EQ(0, ret) TH_LOG("load: %s", err);
	}
}

#define BIG_BUFS	16384
#define BIG_LENT	16000

TEST_F_TIMEOUT(life, close_all_held, 900)
{
	struct nl_rx *rx = &self->st.rx;
	struct unified_io_info info;
	uint64_t t0, idle_since;
	__u32 held;

	if (!variant->zc)
		SKIP(return, "no lent buffers to hold");
	if (!nt_region_create(&self->r, SQ, CQ, BUF, BIG_BUFS))
		return;
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, BIG_LENT);
	/* One stream, every chunk kept: the NIC runs dry at the end. */
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT + 3, 1,
			    256 * NT_MIB, 0, NT_RCVBUF(BIG_LENT));
	rx->expect = NL_EXPECT_ZC;
	rx->hold = true;
	idle_since = nl_now_ms();
	while (nl_now_ms() - idle_since < 3000) {
		uint64_t before = rx->bytes;
		int ret = nl_rx_step(rx, 200);

		ASSERT_LE(0, ret) TH_LOG("%s", rx->err);
		if (rx->bytes != before)
			idle_since = nl_now_ms();
	}
	nt_info(&self->r, &info);
	held = info.net.bufs_app;
	TH_LOG("%u of %u lent buffers held, %llu bytes", held, BIG_LENT,
	       (unsigned long long)rx->bytes);
	EXPECT_LE((__u32)BIG_LENT * 9 / 10, held);

	nl_sender_kill(&self->st.snd);
	t0 = nl_now_ms();
	nl_region_destroy(&self->r);
	TH_LOG("region with %u held buffers closed in %llu ms", held,
	       (unsigned long long)(nl_now_ms() - t0));
	nt_stream_stop(&self->st);
	expect_pools_released(20000);
	expect_no_refs(20000);
}

TEST_HARNESS_MAIN
