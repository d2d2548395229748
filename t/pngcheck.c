/*
 * pngcheck - answer questions about a PNG (a browser's screenshot) for
 * the shell tests, so they can tell a rendered chart from a blank page.
 *
 *	pngcheck FILE size
 *		prints "WIDTH HEIGHT"
 *	pngcheck FILE count RRGGBB TOL [X Y W H]
 *		prints how many pixels (inside the rectangle, default the
 *		whole image) have every channel within TOL of the colour
 *	pngcheck FILE hrun RRGGBB TOL MINLEN [FROM-Y]
 *		prints "Y X0 X1" for the topmost row (at or below FROM-Y)
 *		with a horizontal run of at least MINLEN such pixels, or
 *		"none": finds a wide bar of a chart without knowing the layout
 *
 * Exit status 0, or 2 on a usage or read error (with a message).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct image {
	unsigned	 w, h;
	unsigned char	*px;	/* RGB, rows top to bottom */
};

/* load - the image in 8-bit RGB, alpha composed on white by libpng */
static int
load(const char *path, struct image *im)
{
	png_image pi;
	png_color white = { 255, 255, 255 };

	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path)) {
		fprintf(stderr, "pngcheck: %s: %s\n", path, pi.message);
		return -1;
	}
	pi.format = PNG_FORMAT_RGB;
	im->w = pi.width;
	im->h = pi.height;
	if ((im->px = malloc(PNG_IMAGE_SIZE(pi))) == NULL) {
		fprintf(stderr, "pngcheck: %s: out of memory\n", path);
		png_image_free(&pi);
		return -1;
	}
	if (!png_image_finish_read(&pi, &white, im->px, 0, NULL)) {
		fprintf(stderr, "pngcheck: %s: %s\n", path, pi.message);
		free(im->px);
		return -1;
	}
	return 0;
}

/* parse_rgb - "RRGGBB" (a leading '#' is allowed) */
static int
parse_rgb(const char *s, int rgb[3])
{
	unsigned long v;
	char *end;

	if (*s == '#')
		s++;
	if (strlen(s) != 6)
		return -1;
	v = strtoul(s, &end, 16);
	if (*end != '\0')
		return -1;
	rgb[0] = (int)(v >> 16 & 0xff);
	rgb[1] = (int)(v >> 8 & 0xff);
	rgb[2] = (int)(v & 0xff);
	return 0;
}

/* near - every channel of pixel p within tol of rgb */
static int
near(const unsigned char *p, const int rgb[3], int tol)
{
	return abs(p[0] - rgb[0]) <= tol && abs(p[1] - rgb[1]) <= tol && abs(p[2] - rgb[2]) <= tol;
}

/* hrun - the topmost row from y0 down with a run of minlen matching pixels */
static int
hrun(const struct image *im, const int rgb[3], int tol, unsigned minlen, unsigned y0)
{
	unsigned x, y, run, start;

	for (y = y0; y < im->h; y++) {
		run = 0, start = 0;
		for (x = 0; x < im->w; x++) {
			if (!near(im->px + ((size_t)y * im->w + x) * 3, rgb, tol)) {
				run = 0;
				continue;
			}
			if (run++ == 0)
				start = x;
			if (run >= minlen) {
				while (x + 1 < im->w && near(im->px + ((size_t)y * im->w + x + 1) * 3, rgb, tol))
					x++;
				printf("%u %u %u\n", y, start, x);
				return 0;
			}
		}
	}
	printf("none\n");
	return 0;
}

/* usage - how to call it; the exit status of a bad call */
static int
usage(void)
{
	fprintf(stderr, "usage: pngcheck FILE size\n"
	    "       pngcheck FILE count RRGGBB TOL [X Y W H]\n"
	    "       pngcheck FILE hrun RRGGBB TOL MINLEN [FROM-Y]\n");
	return 2;
}

/* run - one question about the loaded image */
static int
run(const struct image *im, int argc, char **argv)
{
	unsigned x, y, x0 = 0, y0 = 0, x1, y1;
	unsigned long n = 0;
	int rgb[3], tol;

	if (strcmp(argv[2], "size") == 0 && argc == 3) {
		printf("%u %u\n", im->w, im->h);
		return 0;
	}
	if (argc < 5 || parse_rgb(argv[3], rgb) != 0)
		return usage();
	tol = atoi(argv[4]);
	x1 = im->w, y1 = im->h;
	if (strcmp(argv[2], "count") == 0 && (argc == 5 || argc == 9)) {
		if (argc == 9) {
			x0 = (unsigned)strtoul(argv[5], NULL, 10);
			y0 = (unsigned)strtoul(argv[6], NULL, 10);
			x1 = x0 + (unsigned)strtoul(argv[7], NULL, 10);
			y1 = y0 + (unsigned)strtoul(argv[8], NULL, 10);
			if (x1 > im->w)
				x1 = im->w;
			if (y1 > im->h)
				y1 = im->h;
		}
		for (y = y0; y < y1; y++)
			for (x = x0; x < x1; x++)
				n += near(im->px + ((size_t)y * im->w + x) * 3, rgb, tol);
		printf("%lu\n", n);
		return 0;
	}
	if (strcmp(argv[2], "hrun") == 0 && (argc == 6 || argc == 7))
		return hrun(im, rgb, tol, (unsigned)strtoul(argv[5], NULL, 10),
		    argc == 7 ? (unsigned)strtoul(argv[6], NULL, 10) : 0);
	return usage();
}

int
main(int argc, char **argv)
{
	struct image im;
	int rc;

	if (argc < 3)
		return usage();
	if (load(argv[1], &im) != 0)
		return 2;
	rc = run(&im, argc, argv);
	free(im.px);
	return rc;
}
