#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "CSystem.h"

int csystem_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
int csystem_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
int csystem_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
int csystem_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig); }

int csystem_termination_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int csystem_read_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : 0;
}

int csystem_receive_batch(int fd, unsigned char *buffers, int slot, struct sockaddr_storage *addresses,
                          socklen_t *address_lengths, int *lengths, int count) {
    struct mmsghdr messages[CSYSTEM_BATCH_MAX];
    struct iovec vectors[CSYSTEM_BATCH_MAX];
    if (count > CSYSTEM_BATCH_MAX) count = CSYSTEM_BATCH_MAX;
    memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = buffers + (size_t)i * (size_t)slot;
        vectors[i].iov_len = (size_t)slot;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    }
    int n = recvmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    for (int i = 0; i < n; i++) {
        /* A datagram longer than the slot was cut: report it as too long. */
        lengths[i] = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) ? slot + 1 : (int)messages[i].msg_len;
        address_lengths[i] = messages[i].msg_hdr.msg_namelen;
    }
    return n;
}

int csystem_send_batch(int fd, const unsigned char *buffers, int slot, const struct sockaddr_storage *addresses,
                       const socklen_t *address_lengths, const int *lengths, int count) {
    struct mmsghdr messages[CSYSTEM_BATCH_MAX];
    struct iovec vectors[CSYSTEM_BATCH_MAX];
    if (count > CSYSTEM_BATCH_MAX) count = CSYSTEM_BATCH_MAX;
    memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = (void *)(buffers + (size_t)i * (size_t)slot);
        vectors[i].iov_len = (size_t)lengths[i];
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = (void *)&addresses[i];
        messages[i].msg_hdr.msg_namelen = address_lengths[i];
    }
    int sent = 0;
    while (sent < count) {
        int n = sendmmsg(fd, messages + sent, (unsigned)(count - sent), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* A full socket buffer drops the rest, as a lost datagram would be. */
            if (errno == EAGAIN || errno == EWOULDBLOCK) return sent;
            /* One unsendable datagram (a bad peer address) must not stop the others. */
            sent += 1;
            continue;
        }
        sent += n;
    }
    return sent;
}

int csystem_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int csystem_malloc_trim(void) { return malloc_trim(0); }
