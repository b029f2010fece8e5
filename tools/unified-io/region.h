/* SPDX-License-Identifier: GPL-2.0-only */
/* unified-io region: fdinfo parsing and the region subcommands. */
#ifndef UNIFIED_IO_REGION_H
#define UNIFIED_IO_REGION_H

struct fdinfo_kv {
	char *key;
	char *value;
};

/* The module's "key:\tvalue" lines of one fdinfo file, in file order. */
struct fdinfo {
	struct fdinfo_kv *kv;
	unsigned int nr;
};

int fdinfo_read(int pid, int fd, struct fdinfo *fi);
void fdinfo_free(struct fdinfo *fi);
const char *fdinfo_get(const struct fdinfo *fi, const char *key);
void fdinfo_print_json_fields(const struct fdinfo *fi);
void fdinfo_print_plain(const struct fdinfo *fi, const char *indent);

int do_region_show(int argc, char **argv);
int do_region_list(int argc, char **argv);
int do_region_demo(int argc, char **argv);

#endif /* UNIFIED_IO_REGION_H */
