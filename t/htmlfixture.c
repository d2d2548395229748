/*
 * htmlfixture - write the HTML report of a hand-built analysis to a file,
 * for the browser test (t/reports_html.sh).
 *
 *	htmlfixture [-e | -m N] FILE
 *
 * Without an option: the realistic fixture of html_fixture.h; -e: the
 * empty one (no reports); -m N: N sending systems.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "html.h"
#include "html_fixture.h"

int
main(int argc, char **argv)
{
	struct fixture *f;
	struct buf out = BUF_INIT;
	char err[256];
	FILE *fp;
	int c, rc;

	f = NULL;
	while ((c = getopt(argc, argv, "em:")) != -1) {
		switch (c) {
		case 'e':
			f = fixture_empty();
			break;
		case 'm':
			f = fixture_many((size_t)strtoul(optarg, NULL, 10));
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if (f == NULL)
		f = fixture_realistic();
	rc = html_report(&f->a, f->a.total.total > 0 && f->r.reason != NULL ? &f->r : NULL, &out,
	    err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "htmlfixture: %s\n", err);
		return 1;
	}
	if ((fp = fopen(argv[optind], "w")) == NULL || fwrite(buf_str(&out), 1, out.len, fp) != out.len ||
	    fclose(fp) != 0) {
		perror(argv[optind]);
		return 1;
	}
	buf_free(&out);
	fixture_free(f);
	return 0;
usage:
	fprintf(stderr, "usage: htmlfixture [-e | -m N] FILE\n");
	return 2;
}
