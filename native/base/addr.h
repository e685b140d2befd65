/* Text ↔ binary forms of addresses (IPv4/IPv6, MAC) and sockaddr conversion. */
#ifndef OVERLAYD_ADDR_H
#define OVERLAYD_ADDR_H

#include <stdint.h>
#include <sys/socket.h>


/** An underlay or overlay IP address: family 4 (bytes 0–3 used, rest zero) or 6. 17 bytes, usable as a key. */
typedef struct dp_addr {
  uint8_t family;
  uint8_t b[16];
} dp_addr;

#ifdef __cplusplus
extern "C" {
#endif

/** Parses IPv4 or IPv6 text; IPv4-mapped IPv6 becomes IPv4. 0 or -EINVAL. */
int addr_parse(const char *text, dp_addr *out);
/** Canonical text form into `buf` (≥ 46 bytes). */
void addr_format(const dp_addr *a, char *buf, size_t len);
/** dp_addr from a received sockaddr (IPv4-mapped IPv6 becomes IPv4). */
void addr_from_sockaddr(const struct sockaddr *sa, dp_addr *out);
/** sockaddr for `a`:port; returns its length. A v6 socket (`v6_socket`) gets IPv4 as mapped IPv6. */
socklen_t addr_to_sockaddr(const dp_addr *a, uint16_t port, int v6_socket, struct sockaddr_storage *out);
/** Parses "aa:bb:cc:dd:ee:ff" (or '-' separated). 0 or -EINVAL. */
int mac_parse(const char *text, uint8_t mac[6]);

#ifdef __cplusplus
}
#endif

#endif
