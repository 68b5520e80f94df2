// Linux calls that Swift's Glibc module does not expose (epoll, eventfd,
// accept4, prctl). Same libc, no extra dependency. Wrappers that need
// _GNU_SOURCE live in shim.c so this header stays compatible with Glibc's
// module map.
#ifndef FEDAGENT_CSYSTEM_H
#define FEDAGENT_CSYSTEM_H
#include <sys/epoll.h>
#include <sys/socket.h>

int csystem_epoll_create(void);
int csystem_eventfd(void);
int csystem_accept4(int fd, struct sockaddr *addr, socklen_t *len);
int csystem_set_pdeathsig(int sig);
/// Blocks SIGINT, SIGTERM and SIGHUP for the calling thread (and threads it
/// starts later) and returns a signalfd that reports them; -1 on error.
int csystem_termination_signalfd(void);
/// Reads one pending signal number from a signalfd; 0 if none.
int csystem_read_signal(int fd);
static inline unsigned int csystem_epollin(void) { return EPOLLIN; }
static inline unsigned int csystem_epollout(void) { return EPOLLOUT; }
static inline unsigned int csystem_epollerr(void) { return EPOLLERR | EPOLLHUP | EPOLLRDHUP; }
#endif
