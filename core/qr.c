/* SPDX-License-Identifier: MIT */
/*
 * core/qr.c - QR codes with libqrencode (see qr.h): error correction level
 * M, 8-bit mode, the smallest version that holds the text.
 */
#include "qr.h"
#include "util.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

/* Encodes text; NULL when it cannot be (empty, too long, OOM). */
static QRcode *qr_encode(const char *text)
{
	if (!text || !*text)
		return NULL;
	return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

/* Whether module (x, y) of the code with its quiet zone is dark: outside the
 * code (the quiet zone) it is light. */
static int qr_dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

char *qr_terminal(const char *text, int color, int *width_out)
{
	QRcode *q = qr_encode(text);
	sbuf b = { 0 };
	int n, x, y;

	if (!q)
		return NULL;
	n = q->width + 2 * QR_QUIET;
	/* Two rows per line; an odd last row has a light row under it. */
	for (y = 0; y < n; y += 2) {
		if (color)
			sbuf_adds(&b, "\033[30;107m");
		for (x = 0; x < n; x++) {
			int top = qr_dark(q, x, y), bot = y + 1 < n && qr_dark(q, x, y + 1);

			sbuf_adds(&b, top && bot ? "\xe2\x96\x88" : top ? "\xe2\x96\x80" : bot ? "\xe2\x96\x84" : " ");
		}
		if (color)
			sbuf_adds(&b, "\033[0m");
		sbuf_adds(&b, "\n");
	}
	if (width_out)
		*width_out = q->width;
	QRcode_free(q);
	return sbuf_take(&b);
}

char *qr_svg(const char *text, int *width_out)
{
	QRcode *q = qr_encode(text);
	sbuf b = { 0 };
	int n, x, y;

	if (!q)
		return NULL;
	n = q->width + 2 * QR_QUIET;
	sbuf_addf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		  "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		  n, n, n * 8, n * 8, n, n);
	for (y = 0; y < n; y++)
		for (x = 0; x < n;) {
			int run = 0;

			while (x + run < n && qr_dark(q, x + run, y))
				run++;
			if (run) {
				sbuf_addf(&b, "M%d %dh%dv1h-%dz", x, y, run, run);
				x += run;
			} else {
				x++;
			}
		}
	sbuf_adds(&b, "\"/></svg>");
	if (width_out)
		*width_out = q->width;
	QRcode_free(q);
	return sbuf_take(&b);
}
