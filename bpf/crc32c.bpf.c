// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * crc32c.bpf.c - stamp or verify a CRC32C trailer on a region buffer.
 *
 * Run by UNIFIED_IO_OP_BPF over one buffer in place (unified_io_progs.h has
 * the modes and flags).  Tunables, set by the loader before load:
 *
 *   crc_mode   UNIO_CRC_STAMP (default) or UNIO_CRC_VERIFY
 *   crc_flags  UNIO_CRC_F_APPEND (STAMP), UNIO_CRC_F_STRIP (VERIFY)
 *   crc_compute  0 (default): the above.  Non-zero: compute only, leaving
 *              the buffer intact: the CRC32C of the whole of
 *              [data, data_end) goes to crc_out[user_data % CRC_OUT_SLOTS]
 *              (@user_data of the descriptor, from the metadata; slot 0
 *              without metadata) and to last.crc; XDP_PASS.  crc_mode and
 *              crc_flags are then ignored.  The loader reads crc_out through
 *              the skeleton's mmapped .bss (tools/bench/unio-crc-bench.c).
 *
 * The CRC is computed 8 bytes at a time with slicing-by-8 tables
 * (crc32c_table.h), the last len % 8 bytes one at a time, all by direct
 * packet access: bytes [0, UNIO_PROG_DIRECT_MAX) from the start of the data,
 * the rest of a larger buffer in windows (unified_io_window.bpf.h), as is a
 * trailer beyond the first 64 KiB.  Loops are bpf_for() open-coded
 * iterators, so the verifier checks each body once whatever the length.
 *
 * bpf_xdp_adjust_tail() keeps at least 14 bytes (ETH_HLEN) of data, so
 * UNIO_CRC_F_APPEND needs at least 10 bytes and UNIO_CRC_F_STRIP 18
 * (XDP_ABORTED otherwise).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "unified_io_progs.h"
#include "unified_io_window.bpf.h"
#include "crc32c_table.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 crc_mode = UNIO_CRC_STAMP;
const volatile __u32 crc_flags;
const volatile __u32 crc_compute;

#define CRC_OUT_SLOTS	4096	/* a power of two */

struct unio_crc_last last;
__u32 crc_out[CRC_OUT_SLOTS];

static __always_inline __u32 crc_byte(__u32 crc, __u8 b)
{
	return crc32c_table[0][(crc ^ b) & 0xff] ^ (crc >> 8);
}

/* Eight bytes, read little-endian, at once. */
static __always_inline __u32 crc_u64(__u32 crc, __u64 v)
{
	v ^= crc;
	return crc32c_table[7][v & 0xff] ^
	       crc32c_table[6][(v >> 8) & 0xff] ^
	       crc32c_table[5][(v >> 16) & 0xff] ^
	       crc32c_table[4][(v >> 24) & 0xff] ^
	       crc32c_table[3][(v >> 32) & 0xff] ^
	       crc32c_table[2][(v >> 40) & 0xff] ^
	       crc32c_table[1][(v >> 48) & 0xff] ^
	       crc32c_table[0][v >> 56];
}

/*
 * CRC of [data, data + len), read directly; len <= @max, a constant that
 * keeps the offsets provable (with data's own offset, within 0xffff).
 * Loop variables go through barrier_var() before their check against
 * @max, so the compiler cannot fold that check into the loop condition,
 * whose register the verifier may know less about.
 */
static __always_inline __u32 crc_direct(void *data, void *data_end, __u32 len,
					__u32 crc, const __u32 max)
{
	__u32 nwords = len / 8;
	int i;

	bpf_for(i, 0, nwords) {
		__u64 o = (__u32)i;
		__u64 *p;

		barrier_var(o);
		if (o >= max / 8)
			break;
		p = data + o * 8;
		if ((void *)(p + 1) > data_end)
			break;
		crc = crc_u64(crc, *p);
	}
	bpf_for(i, nwords * 8, len) {
		__u64 o = (__u32)i;
		__u8 *p;

		barrier_var(o);
		if (o >= max)
			break;
		p = data + o;
		if ((void *)(p + 1) > data_end)
			break;
		crc = crc_byte(crc, *p);
	}
	return crc;
}

/* Standard CRC32C of the first @len of the @tot bytes of the data. */
static __always_inline bool crc32c(struct xdp_md *ctx, struct unio_win *w,
				   __u32 len, __u32 tot, __u32 *out)
{
	__u32 direct = len < UNIO_PROG_DIRECT_MAX ? len : UNIO_PROG_DIRECT_MAX;
	__u32 crc = ~0U;
	int c;

	barrier_var(direct);
	if (direct > UNIO_PROG_DIRECT_MAX)
		return false;
	crc = crc_direct((void *)(long)ctx->data, (void *)(long)ctx->data_end,
			 direct, crc, UNIO_PROG_DIRECT_MAX);

	/* The rest in windows of UNIO_WIN_SIZE bytes. */
	bpf_for(c, 0, UNIO_WIN_MAX) {
		__u32 o = UNIO_PROG_DIRECT_MAX + (__u32)c * UNIO_WIN_SIZE;
		__u32 to, rel, n;

		if (o >= len)
			break;
		to = unio_win_start(o, tot);
		if (unio_win_move(ctx, w, to))
			return false;
		/* rel < UNIO_WIN_MIN_DATA, n in [1, UNIO_WIN_SIZE]. */
		rel = (o - to) & 15;
		n = len - o;
		if (n > UNIO_WIN_SIZE)
			n = UNIO_WIN_SIZE;
		n = ((n - 1) & (UNIO_WIN_SIZE - 1)) + 1;
		crc = crc_direct((void *)(long)ctx->data + rel,
				 (void *)(long)ctx->data_end, n, crc, UNIO_WIN_SIZE);
	}
	*out = ~crc;
	return true;
}

/*
 * Read (@write false) or write the last 4 of the @tot bytes of the data,
 * little-endian. 0 or -1.
 */
static __always_inline int trailer(struct xdp_md *ctx, struct unio_win *w,
				   __u32 tot, __u32 *val, bool write)
{
	__u32 to = 0, rel;
	__u8 *p;

	if (tot > UNIO_PROG_DIRECT_MAX)
		to = tot - UNIO_WIN_MIN_DATA;
	if (unio_win_move(ctx, w, to))
		return -1;
	rel = tot - UNIO_CRC_TRAILER - to;
	if (rel > UNIO_PROG_DIRECT_MAX - UNIO_CRC_TRAILER)
		return -1;
	p = (void *)(long)ctx->data + rel;
	if ((void *)(p + UNIO_CRC_TRAILER) > (void *)(long)ctx->data_end)
		return -1;
	if (write) {
		p[0] = *val;
		p[1] = *val >> 8;
		p[2] = *val >> 16;
		p[3] = *val >> 24;
	} else {
		*val = p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
	}
	return 0;
}

static __always_inline int verdict(__u32 v)
{
	last.verdict = v;
	return v;
}

/* Slide the data back where it was, then return @v. */
static __always_inline int done(struct xdp_md *ctx, struct unio_win *w, __u32 v)
{
	if (unio_win_close(ctx, w))
		v = XDP_ABORTED;
	return verdict(v);
}

SEC("xdp")
int unio_crc32c(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	struct unio_win w = {};
	__u32 crc_len, crc;

	last.len = len;
	if (len > UNIO_PROG_MAX_LEN)
		return verdict(XDP_ABORTED);

	if (crc_compute) {
		struct unified_io_bpf_meta *meta = (void *)(long)ctx->data_meta;
		__u32 slot = 0;

		/* Before any window move, which hands the metadata back. */
		if ((void *)(meta + 1) <= (void *)(long)ctx->data)
			slot = meta->user_data & (CRC_OUT_SLOTS - 1);
		if (!crc32c(ctx, &w, len, len, &crc))
			return done(ctx, &w, XDP_ABORTED);
		last.crc = crc;
		crc_out[slot] = crc;
		return done(ctx, &w, XDP_PASS);
	}

	if (crc_mode == UNIO_CRC_STAMP) {
		bool append = crc_flags & UNIO_CRC_F_APPEND;

		if (!append && len < UNIO_CRC_TRAILER)
			return verdict(XDP_ABORTED);
		crc_len = append ? len : len - UNIO_CRC_TRAILER;
		if (!crc32c(ctx, &w, crc_len, len, &crc))
			return done(ctx, &w, XDP_ABORTED);
		last.crc = crc;
		if (append) {
			if (unio_win_close(ctx, &w) ||
			    bpf_xdp_adjust_tail(ctx, UNIO_CRC_TRAILER))
				return done(ctx, &w, XDP_ABORTED);
			len += UNIO_CRC_TRAILER;
		}
		if (trailer(ctx, &w, len, &crc, true))
			return done(ctx, &w, XDP_ABORTED);
		return done(ctx, &w, XDP_PASS);
	}

	if (crc_mode != UNIO_CRC_VERIFY)
		return verdict(XDP_ABORTED);
	if (len < UNIO_CRC_TRAILER)
		return verdict(XDP_DROP);
	crc_len = len - UNIO_CRC_TRAILER;
	if (!crc32c(ctx, &w, crc_len, len, &crc) ||
	    trailer(ctx, &w, len, &last.trailer, false))
		return done(ctx, &w, XDP_ABORTED);
	last.crc = crc;
	if (last.trailer != crc)
		return done(ctx, &w, XDP_DROP);
	/* The tail moves with the data where it was: 14 bytes must remain. */
	if (unio_win_close(ctx, &w))
		return verdict(XDP_ABORTED);
	if ((crc_flags & UNIO_CRC_F_STRIP) &&
	    bpf_xdp_adjust_tail(ctx, -UNIO_CRC_TRAILER))
		return verdict(XDP_ABORTED);
	return verdict(XDP_PASS);
}
