/*
 * historycheck.c - read a history file with the project's own reader and
 * print "records=N invalid=M", then for each record one line
 * "QID header_from dmarc disposition action" (for the integration tests).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

int
main(int argc, char **argv)
{
	struct history_record r;
	char *line = NULL, err[512];
	size_t cap = 0;
	ssize_t n;
	unsigned long ok = 0, bad = 0, lineno = 0;
	FILE *fp;

	if (argc != 2 || (fp = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "usage: historycheck FILE\n");
		return 2;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (history_parse(line, (size_t)n, &r, err, sizeof(err)) != 0) {
			fprintf(stderr, "line %lu: %s\n", lineno, err);
			bad++;
			continue;
		}
		ok++;
		printf("%s %s %s %s %s\n", r.queue_id ? r.queue_id : "-",
		    r.header_from ? r.header_from : "-",
		    r.v.n_dmarc ? auth_res_str(r.v.dmarc[r.v.deciding].result) : "none",
		    disposition_str(r.v.disposition), r.action ? r.action : "-");
		history_record_free(&r);
	}
	printf("records=%lu invalid=%lu\n", ok, bad);
	free(line);
	fclose(fp);
	return bad ? 1 : 0;
}
