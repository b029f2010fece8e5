/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * unified_io_window.bpf.h - reach every byte of a region buffer from XDP.
 *
 * Region buffers are up to 2 MiB, but the verifier proves packet pointers
 * only within MAX_PACKET_OFF (0xffff) of the start of the data, and the
 * bpf_xdp_{load,store}_bytes() helpers refuse offsets above 0xffff too
 * (bpf_xdp_pointer()).  So, to reach byte o >= UNIO_PROG_DIRECT_MAX, a
 * program slides the start of the data forward with bpf_xdp_adjust_head()
 * (a "window" at @base) and uses direct packet access from there; before it
 * returns it slides the start back, since the module fails a run whose
 * program moved the start of the data (EPROTO).
 *
 * bpf_xdp_adjust_head() keeps at least ETH_HLEN (14) bytes of data and
 * moves the metadata along with memmove(), which would overwrite buffer
 * bytes; so the first move hands the metadata back (bpf_xdp_adjust_meta()
 * up to data) and unio_win_close() takes it again.  The metadata bytes stay
 * where they were, in the module's scratch page, so they come back intact.
 */
#ifndef UNIFIED_IO_WINDOW_BPF_H
#define UNIFIED_IO_WINDOW_BPF_H

#define UNIO_WIN_MIN_DATA	14	/* ETH_HLEN: data left after a move */
#define UNIO_WIN_SIZE		0x8000U	/* bytes handled per window */
#define UNIO_WIN_MAX		(UNIO_PROG_MAX_LEN / UNIO_WIN_SIZE + 2)

struct unio_win {
	__u32 base;	/* offset of the current start of the data */
	__u32 metalen;	/* metadata handed back, to take again */
	bool moved;
};

/*
 * Move the start of the data to offset @to of the original data (@tot
 * bytes long); @to must be at most @tot - UNIO_WIN_MIN_DATA.  0 or -errno.
 */
static __always_inline int unio_win_move(struct xdp_md *ctx, struct unio_win *w,
					__u32 to)
{
	int ret;

	if (to == w->base)
		return 0;
	if (!w->moved) {
		__u32 data = ctx->data, meta = ctx->data_meta;

		w->metalen = data > meta ? data - meta : 0;
		if (w->metalen) {
			ret = bpf_xdp_adjust_meta(ctx, w->metalen);
			if (ret)
				return ret;
		}
		w->moved = true;
	}
	ret = bpf_xdp_adjust_head(ctx, (int)(to - w->base));
	if (!ret)
		w->base = to;
	return ret;
}

/* The window start for bytes from @o on, in data of @tot bytes. */
static __always_inline __u32 unio_win_start(__u32 o, __u32 tot)
{
	return o <= tot - UNIO_WIN_MIN_DATA ? o : tot - UNIO_WIN_MIN_DATA;
}

/* Back to the original start of the data and metadata. 0 or -errno. */
static __always_inline int unio_win_close(struct xdp_md *ctx, struct unio_win *w)
{
	int ret;

	if (!w->moved)
		return 0;
	if (w->base) {
		ret = bpf_xdp_adjust_head(ctx, -(int)w->base);
		if (ret)
			return ret;
		w->base = 0;
	}
	if (w->metalen) {
		ret = bpf_xdp_adjust_meta(ctx, -(int)w->metalen);
		if (ret)
			return ret;
	}
	w->moved = false;
	return 0;
}

#endif /* UNIFIED_IO_WINDOW_BPF_H */
