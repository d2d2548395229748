/*
 * rinput.c - find the aggregate report payloads in report files and mail
 * (rinput.h says what is read and what is refused).
 *
 * The input is classified by its content, never by its name:
 *
 *	"From " at offset 0		an mbox (GMime's mbox parser)
 *	1f 8b				gzip (zlib, bounded while inflating)
 *	"PK\3\4", "PK\5\6"		zip (libzip, from memory)
 *	'<' after a BOM and space	XML, handed on as it is
 *	"Name:" on the first line	one RFC 5322 message (GMime)
 *
 * Inside a message every MIME part is visited (multipart of any kind,
 * message/rfc822 forwarded mail); each leaf is decoded from its transfer
 * encoding and handed to the same classification, so a zip in a forwarded
 * mail or a gzip in a zip is read like a file of its own, one container
 * level deeper.
 *
 * Memory: a report file or a message is read whole, at most
 * RINPUT_MAX_MESSAGE bytes; an mbox is parsed from the file itself (GMime
 * keeps only offsets for message bodies), so its size does not matter.
 * Whatever is decompressed stops at RXML_MAX_BYTES: the buffer never grows
 * beyond that, a bomb is cut off, not inflated.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <zip.h>
#include <zlib.h>

#include "rinput.h"
#include "rxml.h"
#include "util.h"

#define RINPUT_CHUNK		(64u * 1024)
#define RINPUT_MAX_ORIGIN	200		/* bytes of a name taken from the input */
#define RINPUT_MAX_MULTIPARTS	256		/* "multipart/" in one message, before parsing */

/* One run of rinput_path/rinput_buffer. */
struct rin {
	const struct rinput_cb *cb;
	long		 count;		/* payloads handed on */
	bool		 stop;		/* cb->report asked to stop */
	const char	*note;		/* appended to problems: "broken base64" */
	char		*err;
	size_t		 errlen;
};

/* A decompression target that never grows beyond its cap. */
struct obuf {
	char	*data;
	size_t	 len;
	size_t	 size;
};

/* What one message's walk has seen. */
struct walk {
	unsigned	 parts;		/* leaf parts visited */
	unsigned	 candidates;	/* leaves that were, or claimed to be, reports */
	bool		 capped;	/* RINPUT_MAX_PARTS reached and said */
};

/*
 * GMime is initialised once per process, on first use.  A plain flag, no
 * lock: dmarc-reports reads its input on one thread (rinput.h).
 */
static bool rinput_gmime_up;

static long	top(struct rin *, const char *, const char *, size_t);
static int	payload(struct rin *, const char *, const char *, size_t, int);

/* gmime_up - g_mime_init once */
static void
gmime_up(void)
{
	if (!rinput_gmime_up) {
		g_mime_init();
		rinput_gmime_up = true;
	}
}

/* rinput_shutdown - release GMime's global state */
void
rinput_shutdown(void)
{
	if (rinput_gmime_up) {
		g_mime_shutdown();
		rinput_gmime_up = false;
	}
}

/* problem - tell the caller about something that is not (or not quite) a report */
static void __attribute__((format(printf, 3, 4)))
problem(struct rin *r, const char *origin, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	size_t n;

	if (r->cb->problem == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->note != NULL && (n = strlen(msg)) < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, " (%s)", r->note);
	r->cb->problem(r->cb->arg, origin, msg);
}

/*
 * clean - a copy of a name that came from the input (a file name in a MIME
 * header or a zip directory, a Message-ID), safe to print in a log line:
 * control characters become '?', and it is cut at RINPUT_MAX_ORIGIN bytes.
 */
static char *
clean(const char *s)
{
	size_t n = strnlen(s, RINPUT_MAX_ORIGIN), i;
	char *c = xstrndup(s, n);

	for (i = 0; i < n; i++)
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
			c[i] = '?';
	return c;
}

/* obuf_add - append n bytes; -1 (nothing appended) when that would pass cap */
static int
obuf_add(struct obuf *o, const void *p, size_t n, size_t cap)
{
	size_t nsize;

	if (n > cap - o->len)
		return -1;
	if (o->len + n > o->size) {
		nsize = o->size ? o->size : RINPUT_CHUNK;
		while (nsize < o->len + n)
			nsize = nsize > cap / 2 ? cap : nsize * 2;
		o->data = xrealloc(o->data, nsize);
		o->size = nsize;
	}
	if (n > 0)
		memcpy(o->data + o->len, p, n);
	o->len += n;
	return 0;
}

/* obuf_free - release the storage */
static void
obuf_free(struct obuf *o)
{
	free(o->data);
	o->data = NULL;
	o->len = o->size = 0;
}

enum kind { K_EMPTY, K_OTHER, K_GZIP, K_ZIP, K_XML, K_MBOX, K_MESSAGE };

/* xml_start - offset of the first '<' after a UTF-8 BOM and white space, or len */
static size_t
xml_start(const char *d, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
		i++;
	return i < len && d[i] == '<' ? i : len;
}

/*
 * looks_like_report - XML that begins as an aggregate report does: an XML
 * declaration or a feedback root element, with or without a prefix.
 */
static bool
looks_like_report(const char *d, size_t len)
{
	size_t i = xml_start(d, len), j;

	if (i == len)
		return false;
	d += i;
	len -= i;
	if (len >= 5 && memcmp(d, "<?xml", 5) == 0)
		return true;
	for (j = 1; j < len && j < 64 && d[j] != ':' && d[j] != '>' && d[j] != ' '; j++)
		;
	if (j < len && d[j] == ':')
		d += j, len -= j;
	return len >= 9 && memcmp(d + 1, "feedback", 8) == 0;
}

/* header_line - the data begins with an RFC 5322 header field ("Name:") */
static bool
header_line(const char *d, size_t len)
{
	size_t i;

	/* RFC 5322 §3.6.8: ftext is printable US-ASCII except ':' */
	for (i = 0; i < len && i < 998; i++)
		if (d[i] < 33 || d[i] > 126 || d[i] == ':')
			break;
	if (i == 0)
		return false;
	while (i < len && (d[i] == ' ' || d[i] == '\t'))	/* obs-optional */
		i++;
	return i < len && d[i] == ':';
}

/* sniff - what the bytes are; mail only when mail is allowed here */
static enum kind
sniff(const char *d, size_t len, bool mail)
{
	if (len == 0)
		return K_EMPTY;
	if (len >= 2 && (unsigned char)d[0] == 0x1f && (unsigned char)d[1] == 0x8b)
		return K_GZIP;
	if (len >= 4 && (memcmp(d, "PK\3\4", 4) == 0 || memcmp(d, "PK\5\6", 4) == 0))
		return K_ZIP;
	if (xml_start(d, len) < len)
		return K_XML;
	if (mail && len >= 5 && memcmp(d, "From ", 5) == 0)
		return K_MBOX;
	if (mail && header_line(d, len))
		return K_MESSAGE;
	return K_OTHER;
}

/* hand_on - one XML payload to the caller; -1 when it asks to stop */
static int
hand_on(struct rin *r, const char *origin, const char *xml, size_t len)
{
	if (len > RXML_MAX_BYTES) {
		problem(r, origin, "XML of %zu bytes, more than %u MiB: refused",
		    len, RXML_MAX_BYTES >> 20);
		return 0;
	}
	r->count++;
	if (r->cb->report(r->cb->arg, origin, xml, len) != 0) {
		r->stop = true;
		err_set(r->err, r->errlen, "%s: stopped by the report handler", origin);
		return -1;
	}
	return 1;
}

/* all_space - only white space and NULs: line-end mangling, not data */
static bool
all_space(const unsigned char *p, size_t n)
{
	while (n-- > 0) {
		if (*p != '\r' && *p != '\n' && *p != ' ' && *p != '\t' && *p != '\0')
			return false;
		p++;
	}
	return true;
}

/*
 * gunzip - inflate a gzip stream into out, at most RXML_MAX_BYTES.  Several
 * members are read one after the other (RFC 1952 §2.2, as gzip -d does).
 * Bytes after the last member are ignored: *trailing says how many that
 * were not white space.  Returns 0, or -1 with the reason in why.
 */
static int
gunzip(const char *in, size_t len, struct obuf *out, size_t *trailing,
    char *why, size_t whylen)
{
	unsigned char tmp[RINPUT_CHUNK];
	z_stream z;
	size_t left = len, produced, feed;
	int ret, rc = -1;

	*trailing = 0;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		err_set(why, whylen, "zlib cannot start");
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)in;
	for (;;) {
		/* avail_in is a uInt: feed a large input in slices */
		if (z.avail_in == 0 && left > 0) {
			feed = left > (1u << 30) ? (1u << 30) : left;
			z.avail_in = (uInt)feed;
			left -= feed;
		}
		z.next_out = tmp;
		z.avail_out = sizeof(tmp);
		ret = inflate(&z, Z_NO_FLUSH);
		produced = sizeof(tmp) - z.avail_out;
		if (obuf_add(out, tmp, produced, RXML_MAX_BYTES) == -1) {
			err_set(why, whylen, "gzip data that decompresses to more than %u MiB: refused"
			    " (a compression bomb?)", RXML_MAX_BYTES >> 20);
			break;
		}
		if (ret == Z_STREAM_END) {
			size_t rest = z.avail_in + left;

			if (rest >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
				inflateReset(&z);
				continue;
			}
			if (rest > 0 && !all_space(z.next_in, z.avail_in))
				*trailing = rest;
			rc = 0;
			break;
		}
		if (ret == Z_BUF_ERROR || (ret == Z_OK && z.avail_in == 0 && left == 0 && produced == 0)) {
			err_set(why, whylen, "truncated gzip data (%zu bytes read, the end of the stream is missing)", len);
			break;
		}
		if (ret != Z_OK) {
			err_set(why, whylen, "broken gzip data: %s", z.msg != NULL ? z.msg : "inflate failed");
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}

/* ends_with - ASCII case-insensitive suffix test */
static bool
ends_with(const char *s, const char *suffix)
{
	size_t ls, lx;

	if (s == NULL)
		return false;
	ls = strlen(s);
	lx = strlen(suffix);
	return ls >= lx && ascii_strcaseeq(s + ls - lx, suffix);
}

/*
 * zip_member - read one member of an archive, bounded, and classify it.
 * Returns the payloads found (0 or more), -1 to stop.
 */
static int
zip_member(struct rin *r, const char *origin, zip_t *za, zip_uint64_t i, int depth)
{
	char buf[RINPUT_CHUNK];
	struct obuf o = { NULL, 0, 0 };
	zip_stat_t st;
	zip_file_t *zf;
	zip_int64_t n;
	char *name, *morigin;
	int rc = 0;

	zip_stat_init(&st);
	if (zip_stat_index(za, i, 0, &st) != 0) {
		problem(r, origin, "zip member %llu: %s", (unsigned long long)i + 1, zip_strerror(za));
		return 0;
	}
	name = (st.valid & ZIP_STAT_NAME) && st.name != NULL && *st.name != '\0' ?
	    clean(st.name) : xasprintf("member %llu", (unsigned long long)i + 1);
	morigin = xasprintf("%s:%s", origin, name);
	if (ends_with(name, "/") && (!(st.valid & ZIP_STAT_SIZE) || st.size == 0))
		goto out;	/* a directory */
	if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
		problem(r, morigin, "encrypted zip member: refused (reports are never encrypted)");
		goto out;
	}
	if ((st.valid & ZIP_STAT_COMP_METHOD) &&
	    (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE &&
	    !zip_compression_method_supported(st.comp_method, 0))) {
		problem(r, morigin, "zip member compressed with method %u, which cannot be read: refused",
		    (unsigned)st.comp_method);
		goto out;
	}
	if ((st.valid & ZIP_STAT_SIZE) && st.size > RXML_MAX_BYTES) {
		problem(r, morigin, "zip member of %llu bytes, more than %u MiB: refused"
		    " (a compression bomb?)", (unsigned long long)st.size, RXML_MAX_BYTES >> 20);
		goto out;
	}
	if ((zf = zip_fopen_index(za, i, 0)) == NULL) {
		problem(r, morigin, "cannot open zip member: %s", zip_strerror(za));
		goto out;
	}
	/* The directory's size may lie: the cap holds while inflating too. */
	while ((n = zip_fread(zf, buf, sizeof(buf))) > 0) {
		if (obuf_add(&o, buf, (size_t)n, RXML_MAX_BYTES) == -1) {
			problem(r, morigin, "zip member that decompresses to more than %u MiB: refused"
			    " (a compression bomb?)", RXML_MAX_BYTES >> 20);
			n = 0;
			obuf_free(&o);
			break;
		}
	}
	if (n < 0)
		problem(r, morigin, "broken zip member: %s", zip_file_strerror(zf));
	zip_fclose(zf);
	if (n == 0 && o.data != NULL) {
		enum kind k = sniff(o.data, o.len, false);

		if (k == K_GZIP || k == K_ZIP || k == K_XML || ends_with(name, ".xml"))
			rc = payload(r, morigin, o.data, o.len, depth + 1);
	}
out:
	obuf_free(&o);
	free(morigin);
	free(name);
	return rc;
}

/* unzip - every member of a zip archive that holds a report */
static int
unzip(struct rin *r, const char *origin, const char *data, size_t len, int depth)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_int64_t n, i;
	int rc, found = 0;

	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(data, len, 0, &ze)) == NULL ||
	    (za = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL) {
		problem(r, origin, "not a readable zip archive: %s", zip_error_strerror(&ze));
		if (src != NULL)
			zip_source_free(src);
		zip_error_fini(&ze);
		return 0;
	}
	zip_error_fini(&ze);
	n = zip_get_num_entries(za, 0);
	if (n > RINPUT_MAX_MEMBERS) {
		problem(r, origin, "zip archive with %lld members, more than %d: refused",
		    (long long)n, RINPUT_MAX_MEMBERS);
		zip_discard(za);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if ((rc = zip_member(r, origin, za, (zip_uint64_t)i, depth)) < 0) {
			zip_discard(za);
			return -1;
		}
		found += rc;
	}
	zip_discard(za);
	if (found == 0 && n > 0)
		problem(r, origin, "no report in this zip archive");
	else if (n <= 0)
		problem(r, origin, "empty zip archive");
	return found;
}

/*
 * payload - data that should be a report: XML handed on, gzip and zip
 * opened one level deeper.  Returns the payloads found, -1 to stop.
 */
static int
payload(struct rin *r, const char *origin, const char *data, size_t len, int depth)
{
	char why[256];
	struct obuf o = { NULL, 0, 0 };
	size_t trailing;
	int rc = 0;

	switch (sniff(data, len, false)) {
	case K_XML:
		return hand_on(r, origin, data, len);
	case K_GZIP:
		if (depth >= RINPUT_MAX_NESTING) {
			problem(r, origin, "gzip nested more than %d containers deep: refused", RINPUT_MAX_NESTING);
			return 0;
		}
		if (gunzip(data, len, &o, &trailing, why, sizeof(why)) == -1) {
			problem(r, origin, "%s", why);
			obuf_free(&o);
			return 0;
		}
		if (trailing > 0)
			problem(r, origin, "%zu bytes of trailing garbage after the gzip data ignored", trailing);
		if (sniff(o.data, o.len, false) == K_EMPTY)
			problem(r, origin, "gzip data that decompresses to nothing");
		else
			rc = payload(r, origin, o.data, o.len, depth + 1);
		obuf_free(&o);
		return rc;
	case K_ZIP:
		if (depth >= RINPUT_MAX_NESTING) {
			problem(r, origin, "zip archive nested more than %d containers deep: refused", RINPUT_MAX_NESTING);
			return 0;
		}
		return unzip(r, origin, data, len, depth);
	case K_EMPTY:
		problem(r, origin, "empty: no report");
		return 0;
	default:
		problem(r, origin, "not an aggregate report: neither XML, gzip nor zip data");
		return 0;
	}
}

/*
 * base64_check - NULL when the encoded text is sound base64 (RFC 2045
 * §6.8: the alphabet, line breaks, '=' padding only at the end, whole
 * quanta), else what is wrong with it.  GMime's decoder skips what it does
 * not know; this is only to say why a part did not decode.
 */
static const char *
base64_check(const unsigned char *p, size_t n, char *why, size_t whylen)
{
	size_t i, sig = 0;
	bool pad = false;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			pad = true;
			sig++;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			err_set(why, whylen, "broken base64: byte 0x%02x at offset %zu", c, i);
			return why;
		}
		if (pad) {
			err_set(why, whylen, "broken base64: data after the '=' padding at offset %zu", i);
			return why;
		}
		sig++;
	}
	if (sig % 4 != 0) {
		err_set(why, whylen, "broken base64: %zu characters, not a whole number of quanta (truncated?)", sig);
		return why;
	}
	return NULL;
}

/* is_type - the content type is type/subtype (ASCII case-insensitively) */
static bool
is_type(GMimeContentType *ct, const char *type, const char *subtype)
{
	return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

/*
 * leaf - one MIME leaf part: decoded and looked at.  Returns the payloads
 * found, -1 to stop.
 */
static int
leaf(struct rin *r, struct walk *w, const char *origin, GMimePart *part, int depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	const char *fname = g_mime_part_get_filename(part);
	const char *sub = ct != NULL ? g_mime_content_type_get_media_subtype(ct) : NULL;
	GMimeStream *ms;
	GByteArray *ba;
	char why[128], *porigin, *cname;
	bool declared_xml, declared;
	enum kind k;
	int rc = 0;

	if (++w->parts > RINPUT_MAX_PARTS) {
		if (!w->capped)
			problem(r, origin, "more than %d MIME parts: the rest of the message is not looked at",
			    RINPUT_MAX_PARTS);
		w->capped = true;
		return 0;
	}
	declared_xml = is_type(ct, "text", "xml") || is_type(ct, "application", "xml") ||
	    ends_with(sub, "+xml") || ends_with(fname, ".xml");
	declared = declared_xml ||
	    is_type(ct, "application", "gzip") || is_type(ct, "application", "x-gzip") ||
	    is_type(ct, "application", "x-gunzip") || is_type(ct, "application", "gzip-compressed") ||
	    is_type(ct, "application", "zip") || is_type(ct, "application", "x-zip-compressed") ||
	    is_type(ct, "application", "x-zip") ||
	    ends_with(fname, ".gz") || ends_with(fname, ".gzip") || ends_with(fname, ".zip");
	cname = fname != NULL ? clean(fname) : xasprintf("part %u", w->parts);
	porigin = xasprintf("%s:%s", origin, cname);
	free(cname);

	ms = g_mime_stream_mem_new();
	if (dw != NULL && g_mime_data_wrapper_write_to_stream(dw, ms) == -1) {
		if (declared) {
			w->candidates++;
			problem(r, porigin, "cannot decode the attachment");
		}
		goto out;
	}
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	k = sniff((const char *)ba->data, ba->len, false);
	if (k == K_XML && !declared_xml && !looks_like_report((const char *)ba->data, ba->len))
		k = K_OTHER;	/* an HTML or text body, not a report */
	if (k != K_GZIP && k != K_ZIP && k != K_XML && !declared)
		goto out;
	w->candidates++;
	if (dw != NULL && g_mime_data_wrapper_get_encoding(dw) == GMIME_CONTENT_ENCODING_BASE64) {
		GMimeStream *raw = g_mime_data_wrapper_get_stream(dw);
		GMimeStream *rs = g_mime_stream_mem_new();
		GByteArray *rb;

		g_mime_stream_reset(raw);
		g_mime_stream_write_to_stream(raw, rs);
		rb = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(rs));
		r->note = base64_check(rb->data, rb->len, why, sizeof(why));
		g_object_unref(rs);
	}
	if (k == K_EMPTY)
		problem(r, porigin, "empty attachment");
	else if (k == K_OTHER)
		problem(r, porigin, "attachment declared %s/%s is not XML, gzip or zip data",
		    ct != NULL ? g_mime_content_type_get_media_type(ct) : "?", sub != NULL ? sub : "?");
	else
		rc = payload(r, porigin, (const char *)ba->data, ba->len, depth);
	r->note = NULL;
out:
	g_object_unref(ms);
	free(porigin);
	return rc;
}

/* walk - a MIME object and everything inside it */
static int
walk(struct rin *r, struct walk *w, const char *origin, GMimeObject *obj, int depth, int mdepth)
{
	int i, n, rc, found = 0;

	if (obj == NULL)
		return 0;
	if (GMIME_IS_MULTIPART(obj)) {
		if (mdepth >= RINPUT_MAX_MIME_DEPTH) {
			problem(r, origin, "multipart nested more than %d deep: not looked at", RINPUT_MAX_MIME_DEPTH);
			return 0;
		}
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n && !w->capped; i++) {
			rc = walk(r, w, origin, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth, mdepth + 1);
			if (rc < 0)
				return -1;
			found += rc;
		}
		return found;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		const char *id;
		char *cid, *iorigin;

		if (inner == NULL)
			return 0;
		if (depth >= RINPUT_MAX_NESTING) {
			problem(r, origin, "forwarded message nested more than %d containers deep: not looked at",
			    RINPUT_MAX_NESTING);
			return 0;
		}
		id = g_mime_message_get_message_id(inner);
		cid = clean(id != NULL ? id : "");
		iorigin = *cid != '\0' ? xasprintf("%s:forwarded <%s>", origin, cid) :
		    xasprintf("%s:forwarded", origin);
		rc = walk(r, w, iorigin, g_mime_message_get_mime_part(inner), depth + 1, mdepth + 1);
		free(iorigin);
		free(cid);
		return rc;
	}
	if (GMIME_IS_PART(obj))
		return leaf(r, w, origin, GMIME_PART(obj), depth);
	return 0;
}

/* message - the reports in one parsed message; "no report" said once */
static int
message(struct rin *r, const char *origin, GMimeMessage *msg)
{
	struct walk w = { 0, 0, false };
	const char *id = g_mime_message_get_message_id(msg);
	char *cid = clean(id != NULL ? id : ""), *morigin;
	int rc;

	morigin = *cid != '\0' ? xasprintf("%s <%s>", origin, cid) : xstrdup(origin);
	rc = walk(r, &w, morigin, g_mime_message_get_mime_part(msg), 0, 0);
	if (rc >= 0 && w.candidates == 0)
		problem(r, morigin, "no aggregate report in this message");
	free(morigin);
	free(cid);
	return rc;
}

/*
 * many_multiparts - more "multipart/" in the text than a report mail ever
 * has.  GMime's parser compares every line with every open boundary, so a
 * message of 20 MB nested 300000 deep costs it many seconds; such a
 * message is refused before it is parsed.
 */
static bool
many_multiparts(const char *d, size_t len)
{
	const char *p = d, *end = d + len;
	unsigned n = 0;

	while ((p = memchr(p, '/', (size_t)(end - p))) != NULL) {
		if (p - d >= 9 && ascii_strncaseeq(p - 9, "multipart", 9) && ++n > RINPUT_MAX_MULTIPARTS)
			return true;
		p++;
	}
	return false;
}

/* message_buf - one RFC 5322 message in memory */
static int
message_buf(struct rin *r, const char *origin, const char *data, size_t len)
{
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *msg;
	int rc = 0;

	if (many_multiparts(data, len)) {
		problem(r, origin, "more than %d multipart containers: not read", RINPUT_MAX_MULTIPARTS);
		return 0;
	}
	st = g_mime_stream_mem_new_with_buffer(data, len);
	p = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	if ((msg = g_mime_parser_construct_message(p, NULL)) == NULL)
		problem(r, origin, "not a readable mail message");
	else {
		rc = message(r, origin, msg);
		g_object_unref(msg);
	}
	g_object_unref(p);
	g_object_unref(st);
	return rc;
}

/*
 * mbox - every message of an mbox stream (GMime's parser keeps offsets, not
 * bodies, on a seekable stream).  A message larger than RINPUT_MAX_MESSAGE
 * is skipped with a problem; the next one is read.
 */
static int
mbox(struct rin *r, const char *origin, GMimeStream *st)
{
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg;
	gint64 begin, end;
	unsigned n = 0;
	char *morigin;
	int rc = 0;

	g_mime_parser_set_format(p, GMIME_FORMAT_MBOX);
	while (!g_mime_parser_eos(p)) {
		if ((msg = g_mime_parser_construct_message(p, NULL)) == NULL) {
			if (n == 0)
				problem(r, origin, "not a readable mbox");
			break;
		}
		n++;
		begin = g_mime_parser_get_mbox_marker_offset(p);
		end = g_mime_parser_tell(p);
		morigin = xasprintf("%s#%u", origin, n);
		if (begin >= 0 && end - begin > (gint64)RINPUT_MAX_MESSAGE)
			problem(r, morigin, "message of %lld bytes, more than %u MiB: not read",
			    (long long)(end - begin), RINPUT_MAX_MESSAGE >> 20);
		else if (message(r, morigin, msg) < 0)
			rc = -1;
		free(morigin);
		g_object_unref(msg);
		if (rc < 0)
			break;
	}
	g_object_unref(p);
	return rc;
}

/* top - whatever a file or a buffer holds */
static long
top(struct rin *r, const char *origin, const char *data, size_t len)
{
	GMimeStream *st;
	int rc;

	switch (sniff(data, len, true)) {
	case K_EMPTY:
		problem(r, origin, "empty: no report");
		return 0;
	case K_MBOX:
		st = g_mime_stream_mem_new_with_buffer(data, len);
		rc = mbox(r, origin, st);
		g_object_unref(st);
		return rc;
	case K_MESSAGE:
		return message_buf(r, origin, data, len);
	case K_OTHER:
		problem(r, origin, "neither an aggregate report (XML, gzip, zip) nor mail");
		return 0;
	default:
		return payload(r, origin, data, len, 0);
	}
}

/* from_fd - a file's content: an mbox straight from the file, anything else read whole */
static int
from_fd(struct rin *r, const char *origin, int fd)
{
	char head[5];
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	char *data;
	int rc, dfd;

	if (fstat(fd, &sb) == -1) {
		problem(r, origin, "cannot stat: %s", strerror(errno));
		return 0;
	}
	if (!S_ISREG(sb.st_mode)) {
		problem(r, origin, "not a regular file");
		return 0;
	}
	n = pread(fd, head, sizeof(head), 0);
	if (n == (ssize_t)sizeof(head) && memcmp(head, "From ", 5) == 0 &&
	    (dfd = dup(fd)) != -1) {
		GMimeStream *st;

		/* the stream starts where the descriptor stands (a spooled stdin: at its end) */
		if (lseek(dfd, 0, SEEK_SET) == -1) {
			problem(r, origin, "cannot seek: %s", strerror(errno));
			close(dfd);
			return 0;
		}
		st = g_mime_stream_fs_new(dfd);

		rc = mbox(r, origin, st);
		g_object_unref(st);
		return rc;
	}
	if (sb.st_size > (off_t)RINPUT_MAX_MESSAGE) {
		problem(r, origin, "file of %lld bytes, more than %u MiB, and not an mbox: refused",
		    (long long)sb.st_size, RINPUT_MAX_MESSAGE >> 20);
		return 0;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size &&
	    (n = pread(fd, data + got, (size_t)sb.st_size - got, (off_t)got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			problem(r, origin, "cannot read: %s", strerror(errno));
			free(data);
			return 0;
		}
		got += (size_t)n;
	}
	rc = (int)top(r, origin, data, got);
	free(data);
	return rc;
}

struct mdent {
	char	*path;
	char	*base;	/* points into path */
};

static int
cmp_mdent(const void *a, const void *b)
{
	const struct mdent *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	return c != 0 ? c : strcmp(x->path, y->path);
}

/*
 * maildir - every message in cur/ and new/, in the order of their names
 * (Maildir names begin with the delivery time).  Read only: nothing is
 * moved to cur/, no flag is set, tmp/ is not looked at (messages being
 * delivered).  A file that vanished meanwhile (a mail client moved it)
 * is a problem, not an error.  plain: a directory that is not a Maildir
 * (the attachments an owner saved, say): every regular file directly in
 * it, in name order, not below.
 */
static int
maildir(struct rin *r, const char *path, bool plain)
{
	static const char *const md[] = { "cur", "new" }, *const flat[] = { "." };
	const char *const *sub = plain ? flat : md;
	size_t nsub = plain ? 1 : 2;
	struct mdent *ents = NULL;
	size_t nents = 0, sents = 0, i, k;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd, rc = 0;

	for (k = 0; k < nsub; k++) {
		char *dir = plain ? xstrdup(path) : xasprintf("%s/%s", path, sub[k]);

		if ((d = opendir(dir)) == NULL) {
			err_set(r->err, r->errlen, "%s: %s", dir, strerror(errno));
			free(dir);
			rc = -1;
			goto out;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (nents == sents) {
				sents = sents ? sents * 2 : 64;
				ents = xrealloc(ents, sents * sizeof(*ents));
			}
			ents[nents].path = xasprintf("%s/%s", dir, de->d_name);
			ents[nents].base = ents[nents].path + strlen(dir) + 1;
			nents++;
		}
		closedir(d);
		free(dir);
	}
	if (nents > 0)
		qsort(ents, nents, sizeof(*ents), cmp_mdent);
	for (i = 0; i < nents && rc >= 0; i++) {
		if ((fd = open(ents[i].path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1) {
			problem(r, ents[i].path, "cannot open: %s", strerror(errno));
			continue;
		}
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = from_fd(r, ents[i].path, fd);
		close(fd);
	}
out:
	for (i = 0; i < nents; i++)
		free(ents[i].path);
	free(ents);
	return rc;
}

/* is_dir - path/name is a directory */
static bool
is_dir(const char *path, const char *name)
{
	char *p = xasprintf("%s/%s", path, name);
	struct stat sb;
	bool ok = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);

	free(p);
	return ok;
}

/*
 * stdin_fd - standard input as a seekable descriptor: itself when it is a
 * regular file, else a copy in an unlinked temporary file (a Postfix pipe),
 * so that an mbox on standard input is parsed like one in a file.
 */
static int
stdin_fd(char *err, size_t errlen)
{
	char buf[RINPUT_CHUNK];
	struct stat sb;
	ssize_t n;
	FILE *tf;
	int fd;

	if (fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode))
		return dup(STDIN_FILENO);
	if ((tf = tmpfile()) == NULL) {
		err_set(err, errlen, "standard input: cannot create a temporary file: %s", strerror(errno));
		return -1;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || fwrite(buf, 1, (size_t)n, tf) != (size_t)n) {
			err_set(err, errlen, "standard input: %s", strerror(errno));
			fclose(tf);
			return -1;
		}
	}
	if (fflush(tf) != 0 || (fd = dup(fileno(tf))) == -1) {
		err_set(err, errlen, "standard input: %s", strerror(errno));
		fclose(tf);
		return -1;
	}
	fclose(tf);
	return fd;
}

/* rinput_path - everything in a file, a Maildir or standard input */
long
rinput_path(const char *path, const struct rinput_cb *cb, char *err, size_t errlen)
{
	struct rin r = { cb, 0, false, NULL, err, errlen };
	struct stat sb;
	int fd, rc;

	gmime_up();
	if (strcmp(path, "-") == 0) {
		if ((fd = stdin_fd(err, errlen)) == -1)
			return -1;
		rc = from_fd(&r, "-", fd);
		close(fd);
		return rc < 0 ? -1 : r.count;
	}
	if (stat(path, &sb) == -1) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode))
		return maildir(&r, path, !is_dir(path, "cur") || !is_dir(path, "new")) < 0 ? -1 : r.count;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = from_fd(&r, path, fd);
	close(fd);
	return rc < 0 ? -1 : r.count;
}

/* rinput_buffer - everything in len bytes in memory */
long
rinput_buffer(const char *name, const char *data, size_t len,
    const struct rinput_cb *cb, char *err, size_t errlen)
{
	struct rin r = { cb, 0, false, NULL, err, errlen };

	gmime_up();
	return top(&r, name, data, len) < 0 ? -1 : r.count;
}
