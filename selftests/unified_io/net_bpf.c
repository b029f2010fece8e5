// SPDX-License-Identifier: GPL-2.0
/*
 * The region's BPF chain over received chunks (UNIFIED_IO_RECV_F_BPF), on
 * copied chunks (a region with no binding; any kernel) and on zero-copy
 * chunks (the region bound to the test NIC's queue; needs
 * UNIFIED_IO_FEAT_NET_PROVIDER). The programs are progs/ut_net.bpf.c.
 *
 *  drop_all	every chunk that starts a buffer is dropped: completions
 *		with res 0 and UNIFIED_IO_CQE_F_BPF_DROP, counted in
 *		bpf_drops and by the program; the buffers are recycled at
 *		once (none held, all back on the free list or with the NIC);
 *		after DETACH the same stream goes on and ends intact
 *  xor_in_place
 *		a program XORs every byte of each chunk: the application
 *		reads exactly the bytes the program wrote, in the same
 *		buffer, for every chunk; runs and bytes match the chunks
 *  op_bpf_on_received
 *		UNIFIED_IO_OP_BPF over a buffer RECV handed over (lent to
 *		the network side when zc): runs for the owner holding it,
 *		EPERM for another owner and once the holder has given it back;
 *		the ownership check and the run hold the buffer against the
 *		NIC's refill (the provider's lock and a page pool reference)
 *  ofo_exhaustion
 *		(zc; not about BPF) a pool of 64 under a socket sized by the
 *		rule of the uapi header (SO_RCVBUF a quarter of the lent
 *		memory): one burst of NIC drops, and the stream must still
 *		complete. With the default, autotuned receive buffer every
 *		lent buffer can end up in the out-of-order queue and the
 *		connection stalls for good, which is why the rule exists.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "net_test.h"
#include "ut_net.skel.h"

#define SQ	8
#define CQ	1024
#define BUF	4096
#define NBUFS	1024
#define LENT	512
#define PORT	7811
#define XOR	0x5a

FIXTURE(nbpf) {
	struct nl_pair p;
	struct nl_region r;
	struct nt_stream st;
	struct ut_net_bpf *skel;
};

FIXTURE_VARIANT(nbpf) {
	bool zc;
};

FIXTURE_VARIANT_ADD(nbpf, copy) {
	.zc = false,
};

FIXTURE_VARIANT_ADD(nbpf, zc) {
	.zc = true,
};

FIXTURE_SETUP(nbpf)
{
	int ret;

	self->r.fd = -1;
	nt_stream_init(&self->st);
	NT_REQUIRE_RECV();
	if (variant->zc)
		NT_REQUIRE_PROVIDER();
	/* The skeleton's CO-RE relocations need the kernel's BTF. */
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		SKIP(return, "kernel without BTF (the debug kernel has no debug info)");
	if (!nt_pair_create(&self->p, "unionic"))
		return;
	if (!nt_region_create(&self->r, SQ, CQ, BUF, NBUFS))
		return;
	if (variant->zc) {
		ret = nl_steer(&self->p, PORT, NT_ZC_QUEUE);
		ASSERT_EQ(0, ret) TH_LOG("%s", self->p.err);
		nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, LENT);
	}
	self->skel = ut_net_bpf__open_and_load();
	ASSERT_NE(NULL, self->skel) TH_LOG("loading progs/ut_net.bpf.c: %s",
					   strerror(errno));
}

FIXTURE_TEARDOWN(nbpf)
{
	nt_stream_stop(&self->st);
	nl_region_destroy(&self->r);
	if (self->skel)
		ut_net_bpf__destroy(self->skel);
	nl_pair_destroy(&self->p);
}

static int chain_ioctl(int fd, unsigned long cmd, int prog_fd)
{
	struct unified_io_bpf b = {
		.size = sizeof(b),
		.prog_fd = prog_fd,
	};

	return ioctl(fd, cmd, &b) ? -errno : 0;
}

/* Nothing held, every buffer back where it came from. */
static void expect_recycled(struct __test_metadata *_metadata,
			    struct nl_region *r, bool zc, const char *when)
{
	struct unified_io_info info;
	__u32 app = 0;

	nt_info(r, &info);
	EXPECT_EQ(0U, info.stats.bufs_app) TH_LOG("%s", when);
	if (zc) {
		EXPECT_EQ(0U, info.net.bufs_app) TH_LOG("%s", when);
		EXPECT_EQ((__u32)LENT, info.net.bufs_nic) TH_LOG("%s", when);
		EXPECT_EQ((__u32)(NBUFS - LENT), info.stats.bufs_free) TH_LOG("%s", when);
	} else {
		EXPECT_EQ((__u32)NBUFS, info.stats.bufs_free) TH_LOG("%s", when);
	}
	for (__u32 i = 0; i < r->l.nr_bufs; i++)
		app += r->bt[i].state == UNIFIED_IO_BUF_APP;
	EXPECT_EQ(0U, app) TH_LOG("%s: buffer table entries in state APP", when);
}

/* One OP_BPF descriptor, inline; its completion's result. */
static int op_bpf(struct nl_region *r, uint16_t owner, uint64_t addr,
		  uint32_t len, uint32_t *flags)
{
	struct unified_io_desc d = {
		.opcode = UNIFIED_IO_OP_BPF,
		.owner = owner,
		.addr = addr,
		.len = len,
		.user_data = 0xb0f,
	};
	struct unified_io_cqe *c;
	int res;

	if (nl_submit_inline(r, &d) != 1)
		return -1000;
	c = unio_peek_cqe(&r->q);
	if (!c || c->user_data != 0xb0f)
		return -1001;
	res = c->res;
	*flags = c->flags;
	unio_cqe_seen(&r->q);
	return res;
}

TEST_F_TIMEOUT(nbpf, op_bpf_on_received, 300)
{
	struct nl_chunk ch[64];
	uint32_t flags;
	uint64_t buf;
	unsigned int nr;
	int sock, res;

	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 1, NT_MIB, 0,
			    NT_RCVBUF(LENT));
	sock = self->st.socks[0];
	ASSERT_LE(4096, nt_wait_inq(sock, 4096, 20000));
	res = nt_recv(&self->r, sock, NT_OWNER, 1000, 0, ch, 64, &nr);
	ASSERT_EQ(1000, res);
	ASSERT_EQ(1U, nr);
	EXPECT_EQ(variant->zc ? 0U : UNIFIED_IO_CQE_F_COPIED,
		  ch[0].flags & UNIFIED_IO_CQE_F_COPIED);
	buf = ch[0].addr - ch[0].addr % BUF;
	ASSERT_EQ(0, chain_ioctl(self->r.fd, UNIFIED_IO_ATTACH_BPF,
				 bpf_program__fd(self->skel->progs.ut_net_xor)));

	/* The holder runs the chain over its buffer, in place. */
	EXPECT_EQ(1000, op_bpf(&self->r, NT_OWNER, buf, 1000, &flags));
	EXPECT_EQ(0U, flags & UNIFIED_IO_CQE_F_BPF_DROP);
	EXPECT_EQ(-1, nl_pattern_check(0, 0, (uint8_t *)self->r.q.data + buf,
				       1000, XOR));
	/* Nobody else, and not after it is given back. */
	EXPECT_EQ(-EPERM, op_bpf(&self->r, NT_OWNER + 1, buf, 1000, &flags));
	nt_free_chunks(&self->r, NT_OWNER, ch, nr);
	EXPECT_EQ(-EPERM, op_bpf(&self->r, NT_OWNER, buf, 1000, &flags));
	EXPECT_EQ(1U, self->skel->bss->xor_runs);
}

TEST_F_TIMEOUT(nbpf, drop_all, 600)
{
	struct nl_rx *rx = &self->st.rx;
	struct unified_io_info info;
	uint64_t total = 8 * NT_MIB, dropped_phase;
	int fd = bpf_program__fd(self->skel->progs.ut_net_drop);

	ASSERT_EQ(0, chain_ioctl(self->r.fd, UNIFIED_IO_ATTACH_BPF, fd));
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 1, total, 0,
			    NT_RCVBUF(LENT));
	rx->recv_flags = UNIFIED_IO_RECV_F_BPF;
	rx->expect = variant->zc ? NL_EXPECT_ZC : NL_EXPECT_COPIED;

	/* Everything received while the program is attached is dropped. */
	nt_stream_run(&self->st, 2 * NT_MIB, 20000);
	dropped_phase = rx->bytes;
	EXPECT_LT(0U, rx->drop_chunks);
	EXPECT_EQ(rx->unaligned_chunks, rx->zc_chunks + rx->copy_chunks)
		TH_LOG("%llu chunks delivered past a program that drops all",
		       (unsigned long long)(rx->zc_chunks + rx->copy_chunks));
	EXPECT_EQ(0U, rx->nr_held);
	nt_info(&self->r, &info);
	EXPECT_EQ(rx->drop_chunks, info.net.bpf_drops);
	EXPECT_EQ(1U, info.nr_bpf_progs);
	EXPECT_EQ(rx->drop_chunks, info.bpf_progs[0].drop);
	EXPECT_EQ(rx->drop_chunks, info.bpf_progs[0].runs);
	EXPECT_EQ(rx->drop_chunks, self->skel->bss->drop_runs);
	EXPECT_EQ(dropped_phase, info.net.recv_bytes);
	expect_recycled(_metadata, &self->r, variant->zc, "after the drops");

	/* Without the program, the rest of the stream arrives intact. */
	ASSERT_EQ(0, chain_ioctl(self->r.fd, UNIFIED_IO_DETACH_BPF, fd));
	rx->recv_flags = 0;
	nt_stream_run(&self->st, 0, 20000);
	nt_sender_done(&self->st, 30000);
	EXPECT_EQ(total, rx->bytes);
	EXPECT_EQ(total - dropped_phase, rx->verified)
		TH_LOG("verified %llu of the %llu bytes after DETACH",
		       (unsigned long long)rx->verified,
		       (unsigned long long)(total - dropped_phase));
	nt_info(&self->r, &info);
	EXPECT_EQ(rx->drop_chunks, info.net.bpf_drops);
	EXPECT_EQ(total, info.net.recv_bytes);
	if (variant->zc) {
		/* Returned through the refill ring, not all consumed yet. */
		EXPECT_EQ(nl_refill_pending(&self->r), info.net.bufs_app);
	} else {
		expect_recycled(_metadata, &self->r, false, "at the end");
	}
	TH_LOG("%llu chunks dropped in %llu bytes, then %llu bytes verified",
	       (unsigned long long)rx->drop_chunks,
	       (unsigned long long)dropped_phase,
	       (unsigned long long)rx->verified);
}

TEST_F_TIMEOUT(nbpf, xor_in_place, 600)
{
	struct nl_rx *rx = &self->st.rx;
	struct unified_io_info info;
	uint64_t total = 2 * 4 * NT_MIB;
	int fd = bpf_program__fd(self->skel->progs.ut_net_xor);

	ASSERT_EQ(0, chain_ioctl(self->r.fd, UNIFIED_IO_ATTACH_BPF, fd));
	nt_stream_start_buf(&self->st, &self->p, &self->r, PORT, 2, total / 2, 0,
			    NT_RCVBUF(LENT / 2));
	rx->recv_flags = UNIFIED_IO_RECV_F_BPF;
	rx->bpf_xor = XOR;
	rx->expect = variant->zc ? NL_EXPECT_ZC : NL_EXPECT_COPIED;
	nt_stream_run(&self->st, 0, 20000);
	nt_sender_done(&self->st, 30000);

	EXPECT_EQ(total, rx->bytes);
	EXPECT_EQ(total, rx->verified);
	EXPECT_EQ(0U, rx->drop_chunks);
	EXPECT_LT(0U, rx->bpf_chunks);
	EXPECT_EQ(total, rx->bpf_bytes)
		TH_LOG("%llu bytes in %llu chunks not starting a buffer skipped the program",
		       (unsigned long long)(total - rx->bpf_bytes),
		       (unsigned long long)rx->unaligned_chunks);
	EXPECT_EQ(rx->bpf_chunks, self->skel->bss->xor_runs);
	EXPECT_EQ(rx->bpf_bytes, self->skel->bss->xor_bytes);
	nt_info(&self->r, &info);
	EXPECT_EQ(1U, info.nr_bpf_progs);
	EXPECT_EQ(rx->bpf_chunks, info.bpf_progs[0].runs);
	EXPECT_EQ(rx->bpf_chunks, info.bpf_progs[0].pass);
	EXPECT_EQ(rx->bpf_bytes, info.bpf_progs[0].bytes);
	EXPECT_EQ(0U, info.net.bpf_drops);
	if (variant->zc) {
		EXPECT_EQ(total, info.net.zc_bytes);
		EXPECT_EQ(0U, info.net.copy_bytes);
	} else {
		EXPECT_EQ(total, info.net.copy_bytes);
	}
}

/*
 * Not about BPF: the drop-all program is the way to let TCP's window grow
 * as far as the socket allows (no buffer is ever held). Then the NIC loses
 * a few frames (its fail-rx-alloc flag, as when the pool is empty for a
 * moment) and the rest of the window lands in the socket's out-of-order
 * queue. With the receive buffer the header prescribes, TCP prunes that
 * queue before it holds the whole pool, the retransmission that fills the
 * hole finds a buffer, and the stream completes.
 */
TEST_F_TIMEOUT(nbpf, ofo_exhaustion, 600)
{
	struct nl_rx *rx = &self->st.rx;
	struct nl_region small = { .fd = -1 };
	uint64_t total = 64 * NT_MIB;
	int fd = bpf_program__fd(self->skel->progs.ut_net_drop);
	unsigned int q = NT_ZC_QUEUE + 1;
	char out[256];

	if (!variant->zc)
		SKIP(return, "no pool to exhaust");
	/* A pool of 64 on the next queue, for a port of its own. */
	if (!nt_region_create(&small, SQ, CQ, BUF, 128))
		return;
	ASSERT_EQ(0, nl_steer(&self->p, PORT + 1, q)) TH_LOG("%s", self->p.err);
	nt_bind(&small, self->p.rx_ifindex, q, 64);
	ASSERT_EQ(0, chain_ioctl(small.fd, UNIFIED_IO_ATTACH_BPF, fd));
	nt_stream_start_buf(&self->st, &self->p, &small, PORT + 1, 1, total, 0,
			    NT_RCVBUF(64));
	rx->recv_flags = UNIFIED_IO_RECV_F_BPF;
	rx->expect = NL_EXPECT_ZC;
	nt_stream_run(&self->st, 8 * NT_MIB, 10000);
	ASSERT_EQ(0, chain_ioctl(small.fd, UNIFIED_IO_DETACH_BPF, fd));
	rx->recv_flags = 0;

	ASSERT_EQ(0, nl_sh(-1, out, sizeof(out),
			   "ethtool --set-priv-flags %s fail-rx-alloc on && sleep 0.05 && "
			   "ethtool --set-priv-flags %s fail-rx-alloc off",
			   self->p.rx_if, self->p.rx_if)) TH_LOG("%s", out);
	nt_stream_run(&self->st, 0, 10000);
	nt_sender_done(&self->st, 30000);
	EXPECT_EQ(total, rx->bytes);
	nt_stream_stop(&self->st);
	nl_region_destroy(&small);
}

TEST_HARNESS_MAIN
