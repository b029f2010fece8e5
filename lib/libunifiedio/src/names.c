// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/* Names of ABI enumerations, for tools and logs. */
#include "internal.h"

static const char *const unio_op_names[] = {
	[UNIFIED_IO_OP_NOP]	= "nop",
	[UNIFIED_IO_OP_ALLOC]	= "alloc",
	[UNIFIED_IO_OP_FREE]	= "free",
};

static const char *const unio_buf_state_names[] = {
	[UNIFIED_IO_BUF_FREE]	= "free",
	[UNIFIED_IO_BUF_APP]	= "app",
	[UNIFIED_IO_BUF_KERNEL]	= "kernel",
};

UNIO_API const char *unio_op_name(unsigned int opcode)
{
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
