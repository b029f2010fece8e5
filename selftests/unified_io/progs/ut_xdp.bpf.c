// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs for selftests/unified_io/bpf.c: each does one small, checkable
 * thing to the buffer an UNIFIED_IO_OP_BPF descriptor runs it over. The test
 * loads the skeleton (ut_xdp.skel.h) and picks which programs to load.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* struct unified_io_bpf_meta of include/uapi/linux/unified_io.h. */
struct uniot_meta {
	__u64 user_data;
	__u64 offset;
	__u32 len;
	__u16 owner;
	__u8 opcode;
	__u8 prog_index;
};
_Static_assert(sizeof(struct uniot_meta) == 24, "struct unified_io_bpf_meta");

#define DATA(ctx)	((__u8 *)(long)(ctx)->data)
#define DATA_END(ctx)	((__u8 *)(long)(ctx)->data_end)
#define META(ctx)	((struct uniot_meta *)(long)(ctx)->data_meta)

/* Set by the test before a run of ut_ctl; counters read after. */
__u32 ctl_verdict;		/* returned by ut_ctl */
int ctl_tail;			/* bpf_xdp_adjust_tail(ctx, ctl_tail) if != 0 */
int ctl_head;			/* bpf_xdp_adjust_head(ctx, ctl_head) if != 0 */
long ctl_tail_ret;
long ctl_head_ret;
__u64 ctl_runs;			/* times ut_ctl ran */
__u32 ctl_last_len;		/* data_end - data when it started */

/*
 * The controllable program: counts itself, then does what the globals say,
 * then returns ctl_verdict. Touches no data byte unless told to.
 */
SEC("xdp")
int ut_ctl(struct xdp_md *ctx)
{
	ctl_runs++;
	ctl_last_len = bpf_xdp_get_buff_len(ctx);
	if (ctl_tail)
		ctl_tail_ret = bpf_xdp_adjust_tail(ctx, ctl_tail);
	if (ctl_head)
		ctl_head_ret = bpf_xdp_adjust_head(ctx, ctl_head);
	return ctl_verdict;
}

/* Fixed verdicts. */
SEC("xdp")
int ut_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int ut_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int ut_aborted(struct xdp_md *ctx)
{
	return XDP_ABORTED;
}

SEC("xdp")
int ut_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int ut_redirect(struct xdp_md *ctx)
{
	return XDP_REDIRECT;
}

SEC("xdp")
int ut_unknown(struct xdp_md *ctx)
{
	return 42;
}

/* Increments the first byte, so the test sees whether it ran. */
SEC("xdp")
int ut_inc(struct xdp_md *ctx)
{
	__u8 *data = DATA(ctx);

	if (data + 1 > DATA_END(ctx))
		return XDP_ABORTED;
	data[0]++;
	return XDP_PASS;
}

/*
 * Sets the last byte it can reach to the first byte plus one, through the
 * helpers: the last byte of the data, or byte 0xffff of a longer run (the
 * helpers' limit).
 */
SEC("xdp")
int ut_edges(struct xdp_md *ctx)
{
	__u64 len = bpf_xdp_get_buff_len(ctx);
	__u8 b;

	if (!len)
		return XDP_ABORTED;
	if (bpf_xdp_load_bytes(ctx, 0, &b, 1))
		return XDP_ABORTED;
	b++;
	if (bpf_xdp_store_bytes(ctx, len - 1 > 0xffff ? 0xffff : len - 1, &b, 1))
		return XDP_ABORTED;
	return XDP_PASS;
}

/*
 * Copies the metadata it sees to data + 24 * prog_index, so two copies in one
 * chain leave both views side by side.
 */
static __always_inline int meta_copy(struct xdp_md *ctx)
{
	struct uniot_meta *meta = META(ctx);
	__u8 *data = DATA(ctx), *dst;
	__u32 off;

	if ((void *)(meta + 1) > (void *)data)
		return XDP_ABORTED;
	off = (meta->prog_index & 7) * sizeof(*meta);
	dst = data + off;
	if (dst + sizeof(*meta) > DATA_END(ctx))
		return XDP_ABORTED;
	__builtin_memcpy(dst, meta, sizeof(*meta));
	return XDP_PASS;
}

SEC("xdp")
int ut_meta_copy_a(struct xdp_md *ctx)
{
	return meta_copy(ctx);
}

SEC("xdp")
int ut_meta_copy_b(struct xdp_md *ctx)
{
	return meta_copy(ctx);
}

/* Changes the metadata: what later programs of the chain see. */
SEC("xdp")
int ut_meta_scribble(struct xdp_md *ctx)
{
	struct uniot_meta *meta = META(ctx);

	if ((void *)(meta + 1) > (void *)DATA(ctx))
		return XDP_ABORTED;
	meta->user_data = ~meta->user_data;
	meta->len = 7;
	return XDP_PASS;
}

/*
 * Chain programs 0..7. Byte 0 counts the programs that ran; program ID
 * appends ID to bytes 1..8 and the prog_index it was given to bytes 9..16.
 */
static __always_inline int chain_step(struct xdp_md *ctx, __u8 id)
{
	struct uniot_meta *meta = META(ctx);
	__u8 *data = DATA(ctx), *slot;
	__u8 n;

	if (data + 32 > DATA_END(ctx) || (void *)(meta + 1) > (void *)data)
		return XDP_ABORTED;
	n = data[0];
	if (n >= 8)
		return XDP_ABORTED;
	/* A variable offset: checked again against the end. */
	slot = data + 1 + n;
	if (slot + 9 > DATA_END(ctx))
		return XDP_ABORTED;
	slot[0] = id;
	slot[8] = meta->prog_index;
	data[0] = n + 1;
	return XDP_PASS;
}

#define CHAIN_PROG(i)					\
SEC("xdp")						\
int ut_chain##i(struct xdp_md *ctx)			\
{							\
	return chain_step(ctx, i);			\
}

CHAIN_PROG(0)
CHAIN_PROG(1)
CHAIN_PROG(2)
CHAIN_PROG(3)
CHAIN_PROG(4)
CHAIN_PROG(5)
CHAIN_PROG(6)
CHAIN_PROG(7)

/* Refused at attach: frags (EOPNOTSUPP), device bound (ENODEV). */
SEC("xdp.frags")
int ut_frags(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int ut_devbound(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/*
 * Refused at attach (EINVAL): programs for devmap and cpumap entries.  The
 * verifier turns ctx->egress_ifindex into a load through xdp->txq->dev,
 * which a region's frame has none of.
 */
SEC("xdp/devmap")
int ut_devmap(struct xdp_md *ctx)
{
	return ctx->egress_ifindex ? XDP_PASS : XDP_DROP;
}

SEC("xdp/cpumap")
int ut_cpumap(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/*
 * Runs in the namespace of the region's creator: XDP_PASS if a TCP socket
 * listens on 127.0.0.1:lookup_port there, XDP_DROP if not.
 */
__u16 lookup_port;

SEC("xdp")
int ut_sk_lookup(struct xdp_md *ctx)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	t.ipv4.daddr = bpf_htonl(0x7f000001);
	t.ipv4.dport = bpf_htons(lookup_port);
	sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return XDP_DROP;
	bpf_sk_release(sk);
	return XDP_PASS;
}

/* Not XDP at all (EINVAL). */
SEC("socket")
int ut_socket(struct __sk_buff *skb)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int ut_tracepoint(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
