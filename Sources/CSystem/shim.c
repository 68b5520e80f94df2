#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include "CSystem.h"

int csystem_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
int csystem_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
int csystem_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
int csystem_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig); }
