// Address arguments and results of the DatapathHandle methods (binding_datapath.cc, binding_sa.cc).
#ifndef OVERLAYD_BINDING_ADDR_H
#define OVERLAYD_BINDING_ADDR_H

#include <napi.h>

#include <string>

#include "binding/binding_util.h"

extern "C" {
#include "base/addr.h"
}

namespace overlayd {

/** An IP address argument (IPv4-mapped IPv6 becomes IPv4); ERR_INVALID_ARG_VALUE when not one. */
inline dp_addr AddrArg(const Napi::CallbackInfo &info, size_t i, const char *name) {
  std::string text = StringArg(info, i, name);
  dp_addr a;
  if (addr_parse(text.c_str(), &a) < 0) throw ArgError(info.Env(), std::string(name) + ": not an IP address: " + text, false);
  return a;
}

/** A MAC address argument ("aa:bb:cc:dd:ee:ff"); ERR_INVALID_ARG_VALUE when not one. */
inline void MacArg(const Napi::CallbackInfo &info, size_t i, const char *name, uint8_t mac[6]) {
  std::string text = StringArg(info, i, name);
  if (mac_parse(text.c_str(), mac) < 0) throw ArgError(info.Env(), std::string(name) + ": not a MAC address: " + text, false);
}

/** The canonical text of an address. */
inline Napi::String AddrString(Napi::Env env, const dp_addr &a) {
  char buf[64];
  addr_format(&a, buf, sizeof buf);
  return Napi::String::New(env, buf);
}

}  // namespace overlayd

#endif
