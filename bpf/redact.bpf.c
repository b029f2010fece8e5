// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * redact.bpf.c - overwrite a byte range of a region buffer in place.
 *
 * Run by UNIFIED_IO_OP_BPF over one buffer.  Tunables, set by the loader
 * before load:
 *
 *   redact_off   first byte of the range (default 0)
 *   redact_len   its length (default 0: nothing)
 *   redact_fill  the byte written (default 0)
 *
 * The range is clamped to [data, data_end); bytes outside it are never
 * touched.  XDP_PASS (XDP_ABORTED only if the data could not be slid back).
 * Bytes are written by direct packet access, beyond the first 64 KiB from
 * windows (unified_io_window.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "unified_io_progs.h"
#include "unified_io_window.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 redact_off;
const volatile __u32 redact_len;
const volatile __u8 redact_fill;

SEC("xdp")
int unio_redact(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = data_end - data, off = redact_off, end, dend;
	struct unio_win w = {};
	int i, c;

	if (off >= len || !redact_len)
		return XDP_PASS;
	end = redact_len > len - off ? len : off + redact_len;

	/* Direct part: [off, min(end, UNIO_PROG_DIRECT_MAX)). */
	dend = end < UNIO_PROG_DIRECT_MAX ? end : UNIO_PROG_DIRECT_MAX;
	barrier_var(dend);
	if (dend > UNIO_PROG_DIRECT_MAX)
		return XDP_ABORTED;
	bpf_for(i, off, dend) {
		__u64 o = (__u32)i;
		__u8 *p;

		/* Opaque to the compiler: the verifier needs this very check. */
		barrier_var(o);
		if (o >= UNIO_PROG_DIRECT_MAX)
			break;
		p = data + o;
		if ((void *)(p + 1) > data_end)
			break;
		*p = redact_fill;
	}
	if (end <= UNIO_PROG_DIRECT_MAX)
		return XDP_PASS;

	/* The rest in windows of UNIO_WIN_SIZE bytes. */
	if (off < UNIO_PROG_DIRECT_MAX)
		off = UNIO_PROG_DIRECT_MAX;
	bpf_for(c, 0, UNIO_WIN_MAX) {
		__u32 o = off + (__u32)c * UNIO_WIN_SIZE, to, rel, n;

		if (o >= end)
			break;
		to = unio_win_start(o, len);
		if (unio_win_move(ctx, &w, to))
			break;
		rel = (o - to) & 15;
		n = end - o;
		if (n > UNIO_WIN_SIZE)
			n = UNIO_WIN_SIZE;
		n = ((n - 1) & (UNIO_WIN_SIZE - 1)) + 1;
		data = (void *)(long)ctx->data + rel;
		data_end = (void *)(long)ctx->data_end;
		bpf_for(i, 0, n) {
			__u64 k = (__u32)i;
			__u8 *p;

			barrier_var(k);
			if (k >= UNIO_WIN_SIZE)
				break;
			p = data + k;
			if ((void *)(p + 1) > data_end)
				break;
			*p = redact_fill;
		}
	}
	return unio_win_close(ctx, &w) ? XDP_ABORTED : XDP_PASS;
}
