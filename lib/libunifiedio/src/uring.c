// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * io_uring glue: the data area as one fixed buffer, so io_uring requests
 * (READ_FIXED, WRITE_FIXED, NVMe passthrough with IORING_URING_CMD_FIXED)
 * address region buffers by data-area offset.
 */
#include <errno.h>
#include <sys/uio.h>
#include <liburing.h>

#include "internal.h"

UNIO_API int unio_register_io_uring(const struct unio_region *r,
				    struct io_uring *ring)
{
	struct iovec iov;

	if (!r || !ring || !r->map)
		return -EINVAL;
	iov.iov_base = r->q.data;
	iov.iov_len = r->q.data_size;
	return io_uring_register_buffers(ring, &iov, 1);
}
