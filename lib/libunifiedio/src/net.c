// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * Network receive (since 1.3): bind a region to a NIC receive queue as its
 * memory provider (UNIFIED_IO_NET_BIND/UNBIND), the network side of
 * GET_INFO, and the refill ring set up by unio_region_setup() (region.c).
 * Network send (since 1.6): the send side of GET_INFO; SEND descriptors
 * (unio_prep_send()) are inline, and the NVMe READs they forbid are
 * refused in unified.c.
 *
 * RECV descriptors (unio_prep_recv()) and the refill producer
 * (unio_refill_push(), unio_refill_flush()) are inline in unifiedio.h: the
 * hot path makes no call into the library. A binding belongs to the region:
 * it ends with UNBIND, with the region's release or when the interface goes
 * away; nothing here needs undoing.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

/* Copy the kernel's NUL-terminated reason out, truncated to @msg_size. */
static void unio_net_msg(const struct unified_io_net_bind *b, char *msg,
			 size_t msg_size)
{
	size_t n;

	if (!msg || !msg_size)
		return;
	n = strnlen(b->msg, sizeof(b->msg));
	if (n >= msg_size)
		n = msg_size - 1;
	memcpy(msg, b->msg, n);
	msg[n] = '\0';
}

static int unio_net_ioctl(struct unio_region *r, unsigned long cmd,
			  struct unified_io_net_bind *b, char *msg,
			  size_t msg_size)
{
	int ret = 0;

	b->size = sizeof(*b);
	if (ioctl(r->fd, cmd, b) < 0)
		ret = -errno;
	/* The kernel writes @msg back on failure too. */
	unio_net_msg(b, msg, msg_size);
	return ret;
}

UNIO_API int unio_net_bind(struct unio_region *r, uint32_t ifindex,
			   uint32_t rxq, uint32_t nr_bufs, char *msg,
			   size_t msg_size)
{
	struct unified_io_net_bind b;

	if (msg && msg_size)
		msg[0] = '\0';
	if (!r || !r->map)
		return -EINVAL;
	memset(&b, 0, sizeof(b));
	b.ifindex = ifindex;
	b.rxq = rxq;
	b.nr_bufs = nr_bufs;
	return unio_net_ioctl(r, UNIFIED_IO_NET_BIND, &b, msg, msg_size);
}

UNIO_API int unio_net_unbind(struct unio_region *r, char *msg, size_t msg_size)
{
	struct unified_io_net_bind b;

	if (msg && msg_size)
		msg[0] = '\0';
	if (!r || !r->map)
		return -EINVAL;
	memset(&b, 0, sizeof(b));
	return unio_net_ioctl(r, UNIFIED_IO_NET_UNBIND, &b, msg, msg_size);
}

UNIO_API int unio_net_get_info(const struct unio_region *r,
			       struct unified_io_net_info *net)
{
	struct unified_io_info info;
	int ret;

	if (!r || !net)
		return -EINVAL;
	ret = unio_region_get_info(r, &info);
	if (ret)
		return ret;
	/* An older kernel leaves the tail it does not know zero. */
	if (!(info.config.features & UNIFIED_IO_FEAT_NET_RECV))
		return -EOPNOTSUPP;
	*net = info.net;
	return 0;
}

UNIO_API int unio_send_get_info(const struct unio_region *r,
				struct unified_io_send_info *si)
{
	struct unified_io_info info;
	int ret;

	if (!r || !si)
		return -EINVAL;
	ret = unio_region_get_info(r, &info);
	if (ret)
		return ret;
	/* An older kernel leaves the tail it does not know zero. */
	if (!(info.config.features & UNIFIED_IO_FEAT_NET_SEND))
		return -EOPNOTSUPP;
	*si = info.send;
	return 0;
}

UNIO_API struct unio_refill *unio_region_refill(struct unio_region *r)
{
	return r && r->map && r->has_refill ? &r->refill : NULL;
}
