// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs for selftests/unified_io/net.c, run by the module over the
 * chunks of RECV descriptors with UNIFIED_IO_RECV_F_BPF: one drops every
 * chunk, one XORs every byte of the chunk with NET_XOR (so a test sees that
 * the program ran over exactly the bytes the application gets, in place).
 * Each counts its runs and the bytes it saw, for the test to compare with
 * the completions.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define NET_XOR		0x5a
#define NET_XOR64	0x5a5a5a5a5a5a5a5aULL
#define NET_MAX		4096	/* the buffer size of a bound region */

__u64 drop_runs, drop_bytes;
__u64 xor_runs, xor_bytes;

SEC("xdp")
int ut_net_drop(struct xdp_md *ctx)
{
	drop_runs++;
	drop_bytes += ctx->data_end - ctx->data;
	return XDP_DROP;
}

SEC("xdp")
int ut_net_xor(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u32 i, j, off;

	for (i = 0; i < NET_MAX / 8; i++) {
		__u64 *w = (__u64 *)(data + i * 8);

		if ((void *)(w + 1) > (void *)end)
			break;
		*w ^= NET_XOR64;
	}
	off = i * 8;
	for (j = 0; j < 8; j++) {
		__u8 *b = data + off + j;

		if (off + j >= NET_MAX || (void *)(b + 1) > (void *)end)
			break;
		*b ^= NET_XOR;
	}
	xor_runs++;
	xor_bytes += end - data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
