// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/* Names of ABI enumerations, for tools and logs. */
#include <libnvme.h>

#include "internal.h"

static const char *const unio_op_names[] = {
	[UNIFIED_IO_OP_NOP]	= "nop",
	[UNIFIED_IO_OP_ALLOC]	= "alloc",
	[UNIFIED_IO_OP_FREE]	= "free",
	[UNIFIED_IO_OP_BPF]	= "bpf",
	[UNIFIED_IO_OP_RECV]	= "recv",
	[UNIFIED_IO_OP_SEND]	= "send",
	[UNIFIED_IO_OP_CANCEL]	= "cancel",
};

static const char *const unio_buf_state_names[] = {
	[UNIFIED_IO_BUF_FREE]	= "free",
	[UNIFIED_IO_BUF_APP]	= "app",
	[UNIFIED_IO_BUF_KERNEL]	= "kernel",
	[UNIFIED_IO_BUF_SENDING] = "sending",
};

/* A new opcode in the uapi header needs its name here. */
_Static_assert(sizeof(unio_op_names) / sizeof(unio_op_names[0]) ==
	       UNIFIED_IO_OP_LAST, "unio_op_names: an opcode has no name");

UNIO_API const char *unio_op_name(unsigned int opcode)
{
	if (opcode == UNIFIED_IO_OP_NVME)
		return "nvme";
	if (opcode >= sizeof(unio_op_names) / sizeof(unio_op_names[0]) ||
	    !unio_op_names[opcode])
		return "unknown";
	return unio_op_names[opcode];
}

UNIO_API const char *unio_buf_state_name(unsigned int state)
{
	if (state >= sizeof(unio_buf_state_names) / sizeof(unio_buf_state_names[0]) ||
	    !unio_buf_state_names[state])
		return "unknown";
	return unio_buf_state_names[state];
}

static const char *const unio_net_state_names[] = {
	[UNIFIED_IO_NET_NONE]		= "none",
	[UNIFIED_IO_NET_BOUND]		= "bound",
	[UNIFIED_IO_NET_UNBOUND]	= "unbound",
	[UNIFIED_IO_NET_GONE]		= "gone",
};

UNIO_API const char *unio_net_state_name(unsigned int state)
{
	if (state >= sizeof(unio_net_state_names) / sizeof(unio_net_state_names[0]) ||
	    !unio_net_state_names[state])
		return "unknown";
	return unio_net_state_names[state];
}

/*
 * libnvme's text for the status field: the specification's name, ": ", a
 * description; "unrecognized" for a code it does not know.  More and Do Not
 * Retry are not part of the code.
 */
UNIO_API const char *unio_nvme_status_str(uint16_t status)
{
	return nvme_status_to_string(status & 0x7ff, false);
}
