/*
 * Many cheap TCP listeners for the checker benchmark: accept and close at once, nothing else, so
 * the guest's one CPU goes to the health checkers being measured rather than to the servers.
 * Speaks the same stdin protocol as test/uml/guest/servers.mjs (one answer line per command):
 *   range IP FIRST COUNT NAME   listen on COUNT consecutive ports
 *   open IP PORT NAME           listen on one port
 *   close IP PORT               stop listening (new connections are refused); the answer says
 *                               how long ago a checker last connected ("idle MS")
 *   count                       connections accepted so far
 *   mode http|close             http: read the request, answer a small 200 page, then close
 *                               (HTTP_GET benchmarks); close (default): close at once
 * Build: cc -O2 -o accept-server accept-server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 65536

struct listener {
	int fd;
	struct in_addr addr;
	int port;
	long long last_accept_ms; /* when a checker last connected (monotonic), 0 = never */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static struct listener listeners[MAX_LISTENERS];
/* mode http: answer each request with this page (keepalived and hakeep read the same bytes). */
static int http_mode;
static const char HTTP_PAGE[] = "HTTP/1.0 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhealthy page\n";
#define CONN_BIT 0x80000000u
static int nlisteners;
static unsigned long long accepted;
static int ep;

static int find(struct in_addr a, int port)
{
	for (int i = 0; i < nlisteners; i++)
		if (listeners[i].fd >= 0 && listeners[i].port == port && listeners[i].addr.s_addr == a.s_addr)
			return i;
	return -1;
}

static int open_one(const char *ip, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	if (find(sa.sin_addr, port) >= 0)
		return 0;
	if (nlisteners >= MAX_LISTENERS)
		return -ENOSPC;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	int slot = nlisteners++;
	listeners[slot] = (struct listener){ .fd = fd, .addr = sa.sin_addr, .port = port };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)slot };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static void command(char *line)
{
	char cmd[16], ip[64];
	int a = 0, b = 0;
	int n = sscanf(line, "%15s %63s %d %d", cmd, ip, &a, &b);
	if (n >= 2 && strcmp(cmd, "mode") == 0) {
		http_mode = strcmp(ip, "http") == 0;
		printf("ok mode %s\n", http_mode ? "http" : "close");
	} else if (n >= 1 && strcmp(cmd, "count") == 0) {
		printf("ok %llu\n", accepted);
	} else if (n >= 3 && strcmp(cmd, "open") == 0) {
		int r = open_one(ip, a);
		if (r < 0)
			printf("error %s:%d %s\n", ip, a, strerror(-r));
		else
			printf("ok %s:%d open\n", ip, a);
	} else if (n >= 4 && strcmp(cmd, "range") == 0) {
		int bad = 0, first = 0;
		for (int p = a; p < a + b; p++) {
			int r = open_one(ip, p);
			if (r < 0 && !bad++)
				first = -r;
		}
		if (bad)
			printf("error %d failed, first: %s\n", bad, strerror(first));
		else
			printf("ok %d ports\n", b);
	} else if (n >= 3 && strcmp(cmd, "close") == 0) {
		struct in_addr addr;
		int i = inet_pton(AF_INET, ip, &addr) == 1 ? find(addr, a) : -1;
		long long idle = -1;
		if (i >= 0) {
			epoll_ctl(ep, EPOLL_CTL_DEL, listeners[i].fd, NULL);
			close(listeners[i].fd);
			listeners[i].fd = -1;
			if (listeners[i].last_accept_ms)
				idle = now_ms() - listeners[i].last_accept_ms;
		}
		/* idle: ms since the last check connected, so the driver can tell detection from phase */
		printf("ok %s:%d closed idle %lld\n", ip, a, idle);
	} else {
		printf("error unknown command\n");
	}
	fflush(stdout);
}

int main(void)
{
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event in = { .events = EPOLLIN, .data.u32 = 0xffffffffu };
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in);
	char buf[4096];
	size_t used = 0;
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			unsigned slot = evs[i].data.u32;
			if (slot == 0xffffffffu) {
				ssize_t r = read(0, buf + used, sizeof(buf) - 1 - used);
				if (r <= 0)
					return 0;
				used += (size_t)r;
				buf[used] = 0;
				char *start = buf, *nl;
				while ((nl = strchr(start, '\n'))) {
					*nl = 0;
					command(start);
					start = nl + 1;
				}
				used = strlen(start);
				memmove(buf, start, used);
				continue;
			}
			if (slot & CONN_BIT) {
				/* An HTTP connection: read the request (it fits one read), answer, close. */
				int c = (int)(slot & ~CONN_BIT);
				char req[2048];
				if (read(c, req, sizeof req) > 0) {
					ssize_t w = write(c, HTTP_PAGE, sizeof HTTP_PAGE - 1);
					(void)w;
				}
				close(c);
				continue;
			}
			if (slot >= (unsigned)nlisteners || listeners[slot].fd < 0)
				continue;
			for (;;) {
				int c = accept4(listeners[slot].fd, NULL, NULL, SOCK_CLOEXEC | (http_mode ? SOCK_NONBLOCK : 0));
				if (c < 0)
					break;
				accepted++;
				listeners[slot].last_accept_ms = now_ms();
				if (http_mode) {
					struct epoll_event cev = { .events = EPOLLIN, .data.u32 = CONN_BIT | (unsigned)c };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) == 0)
						continue;
				}
				close(c);
			}
		}
	}
}
