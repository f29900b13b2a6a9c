/* SPDX-License-Identifier: MIT */
/*
 * core/qr.h - a QR code of a text (libqrencode), drawn for a terminal with
 * Unicode half blocks and as an SVG image for the page: no external service,
 * nothing the page's strict CSP would refuse (no script, no style, no link).
 */
#ifndef SK_QR_H
#define SK_QR_H

/* The quiet zone around the code, in modules, in both drawings. */
#define QR_QUIET 2

/* The code of text as lines of half blocks (two rows of modules per line,
 * "▀" "▄" "█" and spaces, the quiet zone included, so (width + 2 * QR_QUIET
 * + 1) / 2 lines), each line ending in "\n". color 1 wraps each line in ANSI
 * colors (black on bright white) so that it scans the same on dark and light
 * terminals; 0 draws dark modules as blocks with no escapes (for a file, or
 * a terminal with a light background). Returns a malloc'd string, NULL when
 * the text cannot be encoded (empty, too long) or on OOM. *width_out (may be
 * NULL) gets the code's width in modules, quiet zone excluded. */
char *qr_terminal(const char *text, int color, int *width_out);

/* The code of text as one SVG document: a white background <rect> and one
 * <path> of the dark modules (a horizontal run of n dark modules is one
 * "Mx yhnv1h-nz" piece), its viewBox in modules with the quiet zone. No
 * external reference, no script, no style attribute. Returns a malloc'd
 * string, NULL when the text cannot be encoded or on OOM. */
char *qr_svg(const char *text, int *width_out);

#endif
