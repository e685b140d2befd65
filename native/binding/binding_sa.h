// The encrypted-network methods of DatapathHandle (binding_sa.cc): the SA tables.
#ifndef OVERLAYD_BINDING_SA_H
#define OVERLAYD_BINDING_SA_H

#include <napi.h>

extern "C" {
#include "tables/tables.h"
}

namespace overlayd {

/** Reads an optional `{ carrier: 'ip' | 'udp' }` argument; false (plain network) when absent or undefined. */
bool EncryptionArg(const Napi::CallbackInfo &info, size_t i, dp_encryption *out);
/** saOutboundSet(vni, peer, spi, key, salt, esn, keyTag, lastUsed). */
Napi::Value SaOutboundSet(dp_tables *t, const Napi::CallbackInfo &info);
/** saOutboundDelete(vni, peer) → whether there was one. */
Napi::Value SaOutboundDelete(dp_tables *t, const Napi::CallbackInfo &info);
/** saInboundAdd(vni, peer, spi, key, salt, esn, keyTag, windowSize, windowTop). */
Napi::Value SaInboundAdd(dp_tables *t, const Napi::CallbackInfo &info);
/** saInboundDelete(vni, peer, spi, keyTag) → whether it was held. */
Napi::Value SaInboundDelete(dp_tables *t, const Napi::CallbackInfo &info);
/** saList(vni?) → [{ vni, peer, keyTag, spi, direction: 'out' | 'in', seq }]. */
Napi::Value SaList(dp_tables *t, const Napi::CallbackInfo &info);

}  // namespace overlayd

#endif
