/*
 * MISC_CHECK program for the checker benchmark: exit 0 when a TCP connection to IP PORT
 * succeeds within 1 s, 1 otherwise. A tiny static-ish C program so that both daemons pay the
 * same, small price per run (a fork and an exec), and the real servers count the checks.
 * Build: cc -O2 -o connect-check connect-check.c
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	if (argc < 3 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return 1;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, 1000) != 1)
		return 1;
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err == 0 ? 0 : 1;
}
