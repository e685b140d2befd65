// VTEP probes and per-VTEP counters of DatapathHandle; see binding_peers.h. datapath.c decides.
#include "binding/binding_peers.h"

#include "binding/binding_addr.h"
#include "binding/binding_util.h"

namespace overlayd {

Napi::Value ProbeSend(dp_datapath *dp, const Napi::CallbackInfo &info) {
  uint32_t vni = Uint32Arg(info, 0, "vni");
  dp_addr vtep = AddrArg(info, 1, "vtep");
  Napi::Buffer<uint8_t> frame = BufferArg(info, 2, "frame");
  return Napi::Number::New(info.Env(), datapath_probe_send(dp, vni, &vtep, frame.Data(), frame.Length()));
}

namespace {

void AddRow(const dp_addr *addr, const dp_peer_counts *sum, void *arg) {
  auto *p = static_cast<RowList *>(arg);
  Napi::Object o = Napi::Object::New(p->env);
  o.Set("vtep", AddrString(p->env, *addr));
  o.Set("txPackets", Napi::Number::New(p->env, static_cast<double>(sum->tx_packets)));
  o.Set("txBytes", Napi::Number::New(p->env, static_cast<double>(sum->tx_bytes)));
  o.Set("rxPackets", Napi::Number::New(p->env, static_cast<double>(sum->rx_packets)));
  o.Set("rxBytes", Napi::Number::New(p->env, static_cast<double>(sum->rx_bytes)));
  p->Push(o);
}

}  // namespace

Napi::Value PeerCounters(dp_datapath *dp, const Napi::CallbackInfo &info) {
  RowList rows(info.Env());
  datapath_peer_counters(dp, AddRow, &rows);
  return rows.rows;
}

}  // namespace overlayd
