// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * filter.bpf.c - drop region buffers whose header field does not match.
 *
 * Run by UNIFIED_IO_OP_BPF over one buffer in place.  Tunables, set by the
 * loader before load (unified_io_progs.h has the rule):
 *
 *   filter_off     offset of the field in the data (default 0)
 *   filter_len     its length, 1-8 bytes (default 1)
 *   filter_value   expected value, little-endian (default 0)
 *   filter_mask    bits compared (default all)
 *   filter_invert  non-zero: drop matching buffers, pass the others
 *
 * The field is read by direct packet access, as the 8 bytes that end with
 * it; beyond the first 64 KiB from a window (unified_io_window.bpf.h).
 * Data shorter than 8 bytes is read with bpf_xdp_load_bytes().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "unified_io_progs.h"
#include "unified_io_window.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 filter_off;
const volatile __u32 filter_len = 1;
const volatile __u64 filter_value;
const volatile __u64 filter_mask = ~0ULL;
const volatile __u32 filter_invert;

SEC("xdp")
int unio_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 tot = data_end - data, off = filter_off, n = filter_len, s, to = 0;
	struct unio_win w = {};
	__u64 v = 0, lmask;
	bool match;
	__u8 *p;
	int k;

	if (n < 1 || n > UNIO_FILTER_MAX_LEN)
		return XDP_ABORTED;
	if (off > tot || n > tot - off)
		return XDP_DROP;

	if (tot < UNIO_FILTER_MAX_LEN) {
		/* Tiny data: the helper takes any length. */
		__u8 b[UNIO_FILTER_MAX_LEN] = {};

		if (bpf_xdp_load_bytes(ctx, off, b, n))
			return XDP_DROP;
#pragma unroll
		for (k = 0; k < UNIO_FILTER_MAX_LEN; k++)
			v |= (__u64)b[k] << (8 * k);
		goto compare;
	}

	/*
	 * Read the 8 bytes that end with the field (or start the data), s
	 * their offset; directly, or from a window beyond the first 64 KiB.
	 */
	s = off + n >= UNIO_FILTER_MAX_LEN ? off + n - UNIO_FILTER_MAX_LEN : 0;
	if (s > UNIO_PROG_DIRECT_MAX - UNIO_FILTER_MAX_LEN) {
		to = unio_win_start(s, tot);
		if (unio_win_move(ctx, &w, to))
			goto abort;
	}
	s -= to;
	if (s > UNIO_PROG_DIRECT_MAX - UNIO_FILTER_MAX_LEN)
		goto abort;
	p = (void *)(long)ctx->data + s;
	if ((void *)(p + UNIO_FILTER_MAX_LEN) > (void *)(long)ctx->data_end)
		goto abort;
#pragma unroll
	for (k = 0; k < UNIO_FILTER_MAX_LEN; k++)
		v |= (__u64)p[k] << (8 * k);
	if (unio_win_close(ctx, &w))
		return XDP_ABORTED;
	v >>= 8 * (off - s - to);

compare:
	lmask = n == 8 ? ~0ULL : (1ULL << (8 * n)) - 1;
	match = !((v ^ filter_value) & filter_mask & lmask);
	if (filter_invert)
		match = !match;
	return match ? XDP_PASS : XDP_DROP;
abort:
	unio_win_close(ctx, &w);
	return XDP_ABORTED;
}
