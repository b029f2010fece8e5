// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * BPF chains (since 1.2): attach an XDP program to the end of a region's
 * chain and detach it again, wrapping UNIFIED_IO_ATTACH_BPF and
 * UNIFIED_IO_DETACH_BPF.
 *
 * The library does not load programs and does not link libbpf: the caller
 * loads a program its own way (a libbpf skeleton, bpf(BPF_PROG_LOAD)) and
 * hands over its fd. The region holds its own reference to an attached
 * program, so the caller may close the fd; closing the region releases the
 * whole chain. Descriptors that run the chain are UNIFIED_IO_OP_BPF
 * (unio_prep_bpf()); the chain and its counters are in GET_INFO
 * (unio_region_get_info()).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

static int unio_bpf_ioctl(struct unio_region *r, unsigned long cmd,
			  struct unified_io_bpf *p)
{
	p->size = sizeof(*p);
	if (ioctl(r->fd, cmd, p) < 0)
		return -errno;
	return 0;
}

UNIO_API int unio_bpf_attach(struct unio_region *r, int prog_fd,
			     uint32_t *prog_id)
{
	struct unified_io_bpf p;
	int ret;

	if (!r || prog_fd < 0)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.prog_fd = prog_fd;
	ret = unio_bpf_ioctl(r, UNIFIED_IO_ATTACH_BPF, &p);
	if (ret)
		return ret;
	if (prog_id)
		*prog_id = p.prog_id;
	return 0;
}

UNIO_API int unio_bpf_detach(struct unio_region *r, uint32_t prog_id)
{
	struct unified_io_bpf p;

	if (!r || !prog_id)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.prog_fd = -1;
	p.prog_id = prog_id;
	return unio_bpf_ioctl(r, UNIFIED_IO_DETACH_BPF, &p);
}
