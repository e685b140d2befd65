/* Address conversions; see addr.h. */
#include "base/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void set_v6(dp_addr *out, const uint8_t b[16]) {
  memset(out, 0, sizeof *out);
  if (memcmp(b, V4_MAPPED, 12) == 0) {
    out->family = 4;
    memcpy(out->b, b + 12, 4);
  } else {
    out->family = 6;
    memcpy(out->b, b, 16);
  }
}

int addr_parse(const char *text, dp_addr *out) {
  uint8_t b[16];
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, text, b) == 1) {
    out->family = 4;
    memcpy(out->b, b, 4);
    return 0;
  }
  if (inet_pton(AF_INET6, text, b) == 1) {
    set_v6(out, b);
    return 0;
  }
  return -EINVAL;
}

void addr_format(const dp_addr *a, char *buf, size_t len) {
  if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len) == NULL && len > 0) buf[0] = 0;
}

void addr_from_sockaddr(const struct sockaddr *sa, dp_addr *out) {
  memset(out, 0, sizeof *out);
  if (sa->sa_family == AF_INET) {
    out->family = 4;
    memcpy(out->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  } else {
    set_v6(out, (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
  }
}

socklen_t addr_to_sockaddr(const dp_addr *a, uint16_t port, int v6_socket, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (a->family == 4 && !v6_socket) {
    struct sockaddr_in *s = (struct sockaddr_in *)out;
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    memcpy(&s->sin_addr, a->b, 4);
    return sizeof *s;
  }
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons(port);
  if (a->family == 4) {
    memcpy(&s6->sin6_addr, V4_MAPPED, 12);
    memcpy((uint8_t *)&s6->sin6_addr + 12, a->b, 4);
  } else {
    memcpy(&s6->sin6_addr, a->b, 16);
  }
  return sizeof *s6;
}

int mac_parse(const char *text, uint8_t mac[6]) {
  unsigned v[6];
  char sep[5], tail;
  if (sscanf(text, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &v[0], &sep[0], &v[1], &sep[1], &v[2], &sep[2], &v[3], &sep[3],
             &v[4], &sep[4], &v[5], &tail) != 11)
    return -EINVAL;
  if (strlen(text) != 17) return -EINVAL;
  for (int i = 0; i < 5; i++)
    if (sep[i] != ':' && sep[i] != '-') return -EINVAL;
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)v[i];
  return 0;
}
