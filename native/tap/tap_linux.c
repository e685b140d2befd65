/*
 * TAP devices on Linux: /dev/net/tun with IFF_TAP | IFF_NO_PI, optionally
 * IFF_VNET_HDR with the checksum/TSO/USO offloads (drivers/net/tun.c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap/tap.h"

int tap_supported(void) { return 1; }

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* Whether the last TAP given a vnet header took UDP segmentation offload (Linux 6.2+). */
static atomic_int uso_enabled;

int tap_uso_enabled(void) { return atomic_load_explicit(&uso_enabled, memory_order_relaxed); }

/*
 * Offloads asked for with a vnet header: TSO needs CSUM (tun.c set_offload).
 * USO too where the kernel has it (before 6.2: EINVAL, then without): the
 * kernel hands us a sender's UDP_SEGMENT train whole, and takes ours.
 */
static int tap_enable_offloads(int fd, int opts) {
  int hdr_len = TAP_VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) return -errno;
  unsigned long tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  int uso = !(opts & TAP_OPT_NO_USO) && ioctl(fd, TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0;
  if (!uso && ioctl(fd, TUNSETOFFLOAD, tso) < 0) return -errno;
  atomic_store_explicit(&uso_enabled, uso, memory_order_relaxed);
  return 0;
}

/* A persistent TAP keeps the offloads of its last opener: without a vnet
   header the kernel must not hand us 64 KB TSO frames, so clear them. */
static int tap_clear_offloads(int fd) { return ioctl(fd, TUNSETOFFLOAD, 0UL) < 0 ? -errno : 0; }

/* Attaches `fd` to the TAP `name`: single-queue, or one more queue of a multi-queue one. 0 or -errno. */
static int attach(int fd, const char *name, int opts, int multi_queue, struct ifreq *ifr) {
  memset(ifr, 0, sizeof *ifr);
  ifr->ifr_flags = IFF_TAP | IFF_NO_PI | ((opts & TAP_OPT_VNET_HDR) ? IFF_VNET_HDR : 0) |
                   (multi_queue ? IFF_MULTI_QUEUE : 0);
  strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
  return ioctl(fd, TUNSETIFF, ifr) < 0 ? -errno : 0;
}

/* Queues attached to the TAP now: its rx-N entries in sysfs (tun.c keeps them at the attached count, ≥ 1); -1 when unknown. */
static int attached_queues(const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/sys/class/net/%s/queues", name);
  DIR *d = opendir(path);
  if (d == NULL) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (strncmp(e->d_name, "rx-", 3) == 0) n++;
  closedir(d);
  return n;
}

/*
 * tap_open with the queue mode `mq`: 0 single, 1 multi-queue, -1 whichever
 * the existing device has. With `first`, a multi-queue device must have no
 * other queue attached: a single-queue TAP in use is EBUSY from the kernel,
 * and so is one whose queues another process holds (the kernel would add a
 * queue beside theirs and share the frames).
 */
static int open_queue(const char *name, int opts, int mq, int first) {
  struct ifreq ifr;
  if (name == NULL || strlen(name) == 0 || strlen(name) >= IFNAMSIZ) return -EINVAL;
  int flags = O_RDWR | O_CLOEXEC | ((opts & TAP_OPT_NONBLOCK) ? O_NONBLOCK : 0);
  int fd = open("/dev/net/tun", flags);
  if (fd < 0) return -errno;
  int err = attach(fd, name, opts, mq == 1, &ifr);
  /* tun.c refuses (EINVAL) a queue mode other than the persistent device's: take the device's. */
  if (err == -EINVAL && mq == -1) err = attach(fd, name, opts, 1, &ifr);
  if (err == 0 && first && (ifr.ifr_flags & IFF_MULTI_QUEUE) && attached_queues(name) > 1) err = -EBUSY;
  if (err == 0) err = (opts & TAP_OPT_VNET_HDR) != 0 ? tap_enable_offloads(fd, opts) : tap_clear_offloads(fd);
  if (err == 0 && (opts & TAP_OPT_PERSIST) != 0 && ioctl(fd, TUNSETPERSIST, 1) < 0) err = -errno;
  /* tun.c starts TAPs at 500 frames; a fast path reading in bursts wants the queue deeper. Best effort. */
  if (err == 0 && (opts & TAP_OPT_VNET_HDR) != 0) tap_set_txqueuelen(ifr.ifr_name, TAP_FAST_TXQUEUELEN);
  if (err != 0) {
    close(fd);
    return err;
  }
  return fd;
}

int tap_open(const char *name, int opts) { return open_queue(name, opts, -1, 1); }

int tap_open_queues(const char *name, int opts, int n, int *fds) {
  if (n < 1 || n > TAP_MAX_QUEUES) return -EINVAL;
  int fd = open_queue(name, opts, 1, 1);
  if (fd == -EINVAL) { /* a single-queue device: its one queue */
    fd = open_queue(name, opts, 0, 1);
    n = 1;
  }
  if (fd < 0) return fd;
  fds[0] = fd;
  for (int i = 1; i < n; i++) {
    fd = open_queue(name, opts, 1, 0);
    if (fd < 0) {
      while (i > 0) close(fds[--i]);
      return fd;
    }
    fds[i] = fd;
  }
  return n;
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
