// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs for selftests/unified_io/send.c, run by the module over the
 * buffer of an UNIFIED_IO_OP_SEND with UNIFIED_IO_SEND_F_BPF before the
 * bytes go to the socket: one XORs every byte with SEND_XOR (the receiver
 * must see the transformed bytes), one drops buffers whose first byte is
 * 0xff and passes the others, one shortens the data by trim_by bytes with
 * bpf_xdp_adjust_tail. Each counts its runs and the bytes it saw.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define SEND_XOR	0x5a
#define SEND_XOR64	0x5a5a5a5a5a5a5a5aULL
#define SEND_MAX	16384	/* the buffer size of send.c's BPF tests */

__u64 xor_runs, xor_bytes;
__u64 drop_runs, drop_drops, drop_bytes;
__u64 trim_runs, trim_bytes;
int trim_by;		/* set by the test */
long trim_ret;

SEC("xdp")
int ut_send_xor(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u32 i, j, off;

	for (i = 0; i < SEND_MAX / 8; i++) {
		__u64 *w = (__u64 *)(data + i * 8);

		if ((void *)(w + 1) > (void *)end)
			break;
		*w ^= SEND_XOR64;
	}
	off = i * 8;
	for (j = 0; j < 8; j++) {
		__u8 *b = data + off + j;

		if (off + j >= SEND_MAX || (void *)(b + 1) > (void *)end)
			break;
		*b ^= SEND_XOR;
	}
	xor_runs++;
	xor_bytes += end - data;
	return XDP_PASS;
}

SEC("xdp")
int ut_send_drop_ff(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;

	drop_runs++;
	drop_bytes += end - data;
	if (data + 1 <= end && data[0] == 0xff) {
		drop_drops++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("xdp")
int ut_send_trim(struct xdp_md *ctx)
{
	trim_runs++;
	trim_bytes += ctx->data_end - ctx->data;
	trim_ret = bpf_xdp_adjust_tail(ctx, -trim_by);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
