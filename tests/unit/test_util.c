/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_util.c - core/util.c helpers of the web page (issue 18):
 * util_utf8_copy cuts at a UTF-8 character, never inside one;
 * util_peer_loopback tells a loopback peer from any other (a peer on
 * this machine's own non-loopback address, a unix socket).
 */
#include "tap.h"
#include "util.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* util_utf8_copy of src into size bytes gives want. */
static void copies(const char *src, size_t size, const char *want, const char *what)
{
	char out[64];

	memset(out, 'x', sizeof out);
	is_int((int)util_utf8_copy(out, size, src), (int)strlen(want), "%s: the length", what);
	is_str(out, want, "%s", what);
}

static void test_utf8(void)
{
	copies("abc", 10, "abc", "short: all of it");
	copies("abcdef", 4, "abc", "ASCII: cut at size - 1");
	copies("a好b", 5, "a好", "the whole 3-byte character fits");
	copies("a好", 5, "a好", "exactly fits with the NUL");
	copies("a好b", 4, "a", "one byte short of 好: dropped whole");
	copies("a好b", 3, "a", "a cut inside 好 drops it whole");
	copies("a好b", 2, "a", "a cut at 好's first byte drops it");
	copies("好好", 6, "好", "two characters, room for one and two bytes");
	copies("😀x", 4, "", "a 4-byte character cut after 3 bytes drops it");
	copies("é", 2, "", "a 2-byte character cut after 1 byte drops it");
	copies("abc", 1, "", "size 1: empty");
}

/* A connected pair over TCP: *cli connects to addr (bound, port 0), *srv
 * the accepted end. 0 or -1. */
static int tcp_pair(int family, const void *addr, int *cli, int *srv)
{
	struct sockaddr_storage ss;
	socklen_t n;
	int l = socket(family, SOCK_STREAM, 0);

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, addr, 4);
		n = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, addr, 16);
		n = sizeof(struct sockaddr_in6);
	}
	if (l < 0 || bind(l, (struct sockaddr *)&ss, n) || listen(l, 1) || getsockname(l, (struct sockaddr *)&ss, &n))
		goto fail;
	if ((*cli = socket(family, SOCK_STREAM, 0)) < 0 || connect(*cli, (struct sockaddr *)&ss, n))
		goto fail;
	if ((*srv = accept(l, NULL, NULL)) < 0)
		goto fail;
	close(l);
	return 0;
fail:
	if (l >= 0)
		close(l);
	return -1;
}

static void test_peer(void)
{
	struct in_addr lo = { htonl(INADDR_LOOPBACK) }, lo2 = { htonl(0x7f000002) };
	struct ifaddrs *ifs = NULL, *i;
	int c, s, sp[2], found = 0;

	if (ok(tcp_pair(AF_INET, &lo, &c, &s) == 0, "a TCP connection over 127.0.0.1")) {
		ok(util_peer_loopback(s), "127.0.0.1: loopback");
		close(c);
		close(s);
	}
	if (ok(tcp_pair(AF_INET, &lo2, &c, &s) == 0, "a TCP connection over 127.0.0.2")) {
		ok(util_peer_loopback(s), "127.0.0.2: loopback (all of 127.0.0.0/8)");
		close(c);
		close(s);
	}
	if (tcp_pair(AF_INET6, &in6addr_loopback, &c, &s) == 0) {
		ok(util_peer_loopback(s), "::1: loopback");
		close(c);
		close(s);
	} else {
		skip("no ::1 here");
	}
	/* this machine's own address that is not loopback: its peer is not either */
	getifaddrs(&ifs);
	for (i = ifs; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    (ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) >> 24) != 127 &&
		    tcp_pair(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, &c, &s) == 0) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof a);
			ok(!util_peer_loopback(s), "a peer at %s (not loopback): refused", a);
			close(c);
			close(s);
			found = 1;
		}
	freeifaddrs(ifs);
	if (!found)
		skip("this machine has no IPv4 address but loopback");
	if (ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "a unix socket pair")) {
		ok(!util_peer_loopback(sp[0]), "a unix socket: not an IP loopback peer");
		close(sp[0]);
		close(sp[1]);
	}
	ok(!util_peer_loopback(-1), "a bad fd: no");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_utf8();
	test_peer();
	return tap_done();
}
