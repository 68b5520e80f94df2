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
/// A pipe whose ends are close-on-exec from the start (no other spawn can inherit them).
int csystem_pipe_cloexec(int fds[2]);
/// Blocks SIGINT, SIGTERM and SIGHUP for the calling thread (and threads it
/// starts later) and returns a signalfd that reports them; -1 on error.
int csystem_termination_signalfd(void);
/// Reads one pending signal number from a signalfd; 0 if none.
int csystem_read_signal(int fd);
/// Datagram batches (recvmmsg/sendmmsg). `buffers` holds `count` slots of
/// `slot` bytes each; `addresses`/`address_lengths` the peers, one per slot.
/// Receive fills `lengths`; returns the datagrams received, 0 if none
/// waits, -1 on error. Send returns how many went out, -1 on error.
enum { CSYSTEM_BATCH_MAX = 64 };
int csystem_receive_batch(int fd, unsigned char *buffers, int slot, struct sockaddr_storage *addresses,
                          socklen_t *address_lengths, int *lengths, int count);
int csystem_send_batch(int fd, const unsigned char *buffers, int slot, const struct sockaddr_storage *addresses,
                       const socklen_t *address_lengths, const int *lengths, int count);
static inline unsigned int csystem_epollin(void) { return EPOLLIN; }
static inline unsigned int csystem_epollout(void) { return EPOLLOUT; }
static inline unsigned int csystem_epollerr(void) { return EPOLLERR | EPOLLHUP | EPOLLRDHUP; }
/// glibc's malloc_trim(0): frees the unused pages of every arena.
int csystem_malloc_trim(void);
#endif
