/*
 * TAP devices on Linux: /dev/net/tun with IFF_TAP | IFF_NO_PI, optionally
 * IFF_VNET_HDR with the checksum/TSO offloads (drivers/net/tun.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap/tap.h"

int tap_supported(void) { return 1; }

/* Offloads asked for with a vnet header: TSO needs CSUM (tun.c set_offload). */
static int tap_enable_offloads(int fd) {
  int hdr_len = TAP_VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) return -errno;
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0) return -errno;
  return 0;
}

int tap_open(const char *name, int opts) {
  struct ifreq ifr;
  if (name == NULL || strlen(name) == 0 || strlen(name) >= IFNAMSIZ) return -EINVAL;
  int flags = O_RDWR | O_CLOEXEC | ((opts & TAP_OPT_NONBLOCK) ? O_NONBLOCK : 0);
  int fd = open("/dev/net/tun", flags);
  if (fd < 0) return -errno;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | ((opts & TAP_OPT_VNET_HDR) ? IFF_VNET_HDR : 0);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  int err = 0;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    err = -errno;
  } else if ((opts & TAP_OPT_VNET_HDR) != 0) {
    err = tap_enable_offloads(fd);
  } else if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
    /* A persistent TAP keeps the offloads of its last opener: without a vnet
       header the kernel must not hand us 64 KB TSO frames, so clear them. */
    err = -errno;
  }
  if (err == 0 && (opts & TAP_OPT_PERSIST) != 0 && ioctl(fd, TUNSETPERSIST, 1) < 0) err = -errno;
  /* tun.c starts TAPs at 500 frames; a fast path reading in bursts wants the queue deeper. Best effort. */
  if (err == 0 && (opts & TAP_OPT_VNET_HDR) != 0) tap_set_txqueuelen(ifr.ifr_name, TAP_FAST_TXQUEUELEN);
  if (err != 0) {
    close(fd);
    return err;
  }
  return fd;
}

int tap_set_txqueuelen(const char *name, int len) {
  struct ifreq ifr;
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -errno;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_qlen = len;
  int rc = ioctl(sock, SIOCSIFTXQLEN, &ifr) < 0 ? -errno : 0;
  close(sock);
  return rc;
}
