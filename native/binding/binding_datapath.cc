/*
 * DatapathHandle: the JavaScript face of one native data path
 * (datapath/datapath.h) — its tables, counter block, I/O worker and punt
 * queue. src/dataplane/native.ts wraps it in the Datapath interface. This
 * file converts arguments and results and calls; datapath.c decides.
 *
 * Counter block: DATAPATH_COUNTER_ROWS × DP_COUNTER_SLOTS uint64, row 0 for
 * the synchronous processEgress/processIngress/processEsp, then one per I/O
 * direction. JS reads it through a BigUint64Array and sums the rows.
 */
#include <napi.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "binding/binding_addr.h"
#include "binding/binding_capture.h"
#include "binding/binding_drops.h"
#include "binding/binding_mcast.h"
#include "binding/binding_peers.h"
#include "binding/binding_sa.h"
#include "binding/binding_util.h"

extern "C" {
#include "base/addr.h"
#include "datapath/datapath.h"
#include "io/punt.h"
#include "tap/tap.h"
}

namespace overlayd {
namespace {

constexpr size_t kPuntCapacity = 1024;

/** A source address argument; one that does not parse is all zeros, never a VTEP or a peer. */
dp_addr SourceArg(const Napi::CallbackInfo &info, size_t i) {
  std::string text = StringArg(info, i, "srcAddress");
  dp_addr src;
  if (addr_parse(text.c_str(), &src) < 0) std::memset(&src, 0, sizeof src);
  return src;
}

/** { vni, frame, probe? } | { drop: reason index } */
Napi::Object DeliveryResult(Napi::Env env, int verdict, const datapath_delivery &d) {
  Napi::Object result = Napi::Object::New(env);
  if (verdict != DP_PASS) {
    result.Set("drop", Napi::Number::New(env, verdict));
  } else {
    result.Set("vni", Napi::Number::New(env, d.vni));
    result.Set("frame", Napi::Buffer<uint8_t>::Copy(env, d.frame, d.len));
    if (d.probe) result.Set("probe", Napi::Boolean::New(env, true));
  }
  return result;
}

/** A trace record as JavaScript sees it: { stage, verdict (−1 pass), vtep?, flowHash, pieces, payloadLen, replyLen, sa? }. */
Napi::Object TraceObject(Napi::Env env, const dp_trace &t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("stage", Napi::Number::New(env, t.stage));
  o.Set("verdict", Napi::Number::New(env, t.verdict));
  if (t.has_vtep) o.Set("vtep", AddrString(env, t.vtep));
  o.Set("flowHash", Napi::Number::New(env, t.flow_hash));
  o.Set("pieces", Napi::Number::New(env, t.pieces));
  o.Set("payloadLen", Napi::Number::New(env, static_cast<double>(t.payload_len)));
  o.Set("replyLen", Napi::Number::New(env, static_cast<double>(t.reply_len)));
  if (t.has_vteps) o.Set("vteps", TraceVteps(env, t));
  if (t.has_sa) {
    Napi::Object sa = Napi::Object::New(env);
    sa.Set("spi", Napi::Number::New(env, t.sa_spi));
    sa.Set("seq", Napi::Number::New(env, static_cast<double>(t.sa_seq)));
    o.Set("sa", sa);
  }
  return o;
}

/** A trace record that ends at `stage` with DP_PASS unless a stage decides otherwise. */
dp_trace NewTrace(int stage) {
  dp_trace t;
  std::memset(&t, 0, sizeof t);
  t.stage = stage;
  t.verdict = DP_PASS;
  return t;
}

/** Collects what dp_egress emits for the synchronous processEgress. */
struct EgressCollector {
  struct Out {
    dp_addr vtep;
    uint32_t hash;
    std::vector<uint8_t> payload;
    int carrier;  // -1: plain VXLAN
  };
  std::vector<std::vector<uint8_t>> buffers;  // packets built off the frame
  std::vector<Out> out;
  std::vector<std::vector<uint8_t>> replies;
  bool membership = false;

  static uint8_t *Buffer(void *ctx, size_t len) {
    auto *self = static_cast<EgressCollector *>(ctx);
    self->buffers.emplace_back(len);
    return self->buffers.back().data();
  }
  static void Send(void *ctx, const dp_addr *vtep, uint32_t hash, uint8_t *payload, size_t len) {
    auto *self = static_cast<EgressCollector *>(ctx);
    self->out.push_back(Out{*vtep, hash, std::vector<uint8_t>(payload, payload + len), -1});
  }
  static void EspSend(void *ctx, const dp_addr *vtep, uint32_t hash, int carrier, uint8_t *packet, size_t len) {
    auto *self = static_cast<EgressCollector *>(ctx);
    self->out.push_back(Out{*vtep, hash, std::vector<uint8_t>(packet, packet + len), carrier});
  }
  static void Reply(void *ctx, const uint8_t *frame, size_t len) {
    static_cast<EgressCollector *>(ctx)->replies.emplace_back(frame, frame + len);
  }
  static void Membership(void *ctx, const uint8_t *, size_t) { static_cast<EgressCollector *>(ctx)->membership = true; }
};

class DatapathHandle : public Napi::ObjectWrap<DatapathHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DatapathHandle",
                       {
                           InstanceMethod<&DatapathHandle::NetworkSet>("networkSet"),
                           InstanceMethod<&DatapathHandle::NetworkRemove>("networkRemove"),
                           InstanceMethod<&DatapathHandle::CaptureSet>("captureSet"),
                           InstanceMethod<&DatapathHandle::FdbSet>("fdbSet"),
                           InstanceMethod<&DatapathHandle::FdbDelete>("fdbDelete"),
                           InstanceMethod<&DatapathHandle::NeighSet>("neighSet"),
                           InstanceMethod<&DatapathHandle::NeighDelete>("neighDelete"),
                           InstanceMethod<&DatapathHandle::VtepRefs>("vtepRefs"),
                           InstanceMethod<&DatapathHandle::NetworkDropsOf>("networkDrops"),
                           InstanceMethod<&DatapathHandle::ProcessEgress>("processEgress"),
                           InstanceMethod<&DatapathHandle::ProcessIngress>("processIngress"),
                           InstanceMethod<&DatapathHandle::ProcessEsp>("processEsp"),
                           InstanceMethod<&DatapathHandle::TraceEsp>("traceEsp"),
                           InstanceMethod<&DatapathHandle::SaOutboundSet>("saOutboundSet"),
                           InstanceMethod<&DatapathHandle::SaOutboundDelete>("saOutboundDelete"),
                           InstanceMethod<&DatapathHandle::SaInboundAdd>("saInboundAdd"),
                           InstanceMethod<&DatapathHandle::SaInboundDelete>("saInboundDelete"),
                           InstanceMethod<&DatapathHandle::SaList>("saList"),
                           InstanceMethod<&DatapathHandle::EspPort>("espPort"),
                           InstanceMethod<&DatapathHandle::SourcePort>("sourcePort"),
                           InstanceMethod<&DatapathHandle::EspRaw>("espRaw"),
                           InstanceMethod<&DatapathHandle::Start>("start"),
                           InstanceMethod<&DatapathHandle::Stop>("stop"),
                           InstanceMethod<&DatapathHandle::OffloadStats>("offloadStats"),
                           InstanceMethod<&DatapathHandle::ProbeSend>("probeSend"),
                           InstanceMethod<&DatapathHandle::PeerCounters>("peerCounters"),
                           InstanceMethod<&DatapathHandle::GroupSet>("groupSet"),
                           InstanceMethod<&DatapathHandle::Groups>("groups"),
                           InstanceMethod<&DatapathHandle::Inject>("inject"),
                       });
  }

  /** new DatapathHandle(bindAddress, dataPort, sourcePorts, realtimeWorker, espPort = 4500, workers = 1, busyPollUs = 0) */
  explicit DatapathHandle(const Napi::CallbackInfo &info) : Napi::ObjectWrap<DatapathHandle>(info) {
    Napi::Env env = info.Env();
    io_config cfg{};
    cfg.bind = AddrArg(info, 0, "bindAddress");
    uint32_t port = Uint32Arg(info, 1, "dataPort");
    uint32_t pool = Uint32Arg(info, 2, "sourcePorts");
    if (port > 65535) throw ArgError(env, "dataPort must be 0–65535", false);
    if (pool < 1 || pool > 64) throw ArgError(env, "sourcePorts must be 1–64", false);
    cfg.port = static_cast<uint16_t>(port);
    cfg.source_ports = static_cast<int>(pool);
    cfg.realtime = info.Length() > 3 && info[3].ToBoolean().Value() ? 1 : 0;
    uint32_t esp_port = info.Length() > 4 && !info[4].IsUndefined() ? Uint32Arg(info, 4, "espPort") : 4500;
    if (esp_port > 65535) throw ArgError(env, "espPort must be 0–65535", false);
    cfg.esp_port = static_cast<uint16_t>(esp_port);
    uint32_t workers = info.Length() > 5 && !info[5].IsUndefined() ? Uint32Arg(info, 5, "workers") : 1;
    if (workers < 1 || workers > DP_MAX_WORKERS)
      throw ArgError(env, "workers must be 1–" + std::to_string(DP_MAX_WORKERS), false);
    cfg.workers = static_cast<int>(workers);
    uint32_t busy = info.Length() > 6 && !info[6].IsUndefined() ? Uint32Arg(info, 6, "busyPollUs") : 0;
    if (busy > 10000) throw ArgError(env, "busyPollUs must be 0–10000", false);
    cfg.busy_poll_us = static_cast<int>(busy);
    Napi::ArrayBuffer counters =
        Napi::ArrayBuffer::New(env, DATAPATH_COUNTER_ROWS * DP_COUNTER_SLOTS * sizeof(uint64_t));
    std::memset(counters.Data(), 0, counters.ByteLength());
    int rc = datapath_init(&dp_, &cfg, static_cast<uint64_t *>(counters.Data()), kPuntCapacity);
    if (rc < 0) throw ErrnoError(env, -rc, "datapath_init");
    counters_ref_ = Napi::Persistent(counters);
    info.This().As<Napi::Object>().Set("counters", counters);
    alive_ = true;
  }

  ~DatapathHandle() override {
    if (!alive_) return;
    StopIo();
    datapath_destroy(&dp_);
    alive_ = false;
  }

 private:
  void StopIo() {
    if (dp_.io == nullptr) return;
    datapath_stop(&dp_);
    tsfn_.Release();
  }

  /**
   * networkSet(vni, mtu, tapFds, encryption?, multicast?): tapFds the TAP's
   * queue descriptors (an array, or one number; −1 or [] for a network without
   * a TAP, in tests); encryption { carrier: 'ip' | 'udp' } makes it encrypted,
   * multicast { rate } a multicast network.
   */
  Napi::Value NetworkSet(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint32_t vni = Uint32Arg(info, 0, "vni");
    uint32_t mtu = Uint32Arg(info, 1, "mtu");
    if (vni > 0xffffff) throw ArgError(env, "vni must be 0–16777215", false);
    int fds[DP_MAX_WORKERS];
    int queues = 0;
    if (info.Length() > 2 && info[2].IsArray()) {
      Napi::Array a = info[2].As<Napi::Array>();
      if (a.Length() > DP_MAX_WORKERS) throw ArgError(env, "tapFds: at most " + std::to_string(DP_MAX_WORKERS), false);
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value v = a.Get(i);
        if (!v.IsNumber() || v.As<Napi::Number>().Int32Value() < 0) throw ArgError(env, "tapFds: descriptors", false);
        fds[queues++] = v.As<Napi::Number>().Int32Value();
      }
    } else if (info.Length() > 2 && info[2].IsNumber() && info[2].As<Napi::Number>().Int32Value() >= 0) {
      fds[queues++] = info[2].As<Napi::Number>().Int32Value();
    }
    dp_encryption enc{};
    bool encrypted = EncryptionArg(info, 3, &enc);
    dp_multicast mc{};
    bool multicast = MulticastArg(info, 4, &mc);
    int rc = datapath_network_set(&dp_, vni, mtu, fds, queues, encrypted ? &enc : nullptr, multicast ? &mc : nullptr);
    if (rc < 0) throw ErrnoError(env, -rc, "networkSet");
    return info.Env().Undefined();
  }

  /** networkRemove(vni) → whether it existed; closes its TAP descriptor. */
  Napi::Value NetworkRemove(const Napi::CallbackInfo &info) {
    uint32_t vni = Uint32Arg(info, 0, "vni");
    return Napi::Boolean::New(info.Env(), datapath_network_remove(&dp_, vni) == 0);
  }

  /** captureSet(vni, { inner?, outer?, host?, vtep? } | boolean) → whether the network exists. */
  Napi::Value CaptureSet(const Napi::CallbackInfo &info) {
    uint32_t vni = Uint32Arg(info, 0, "vni");
    dp_capture c = CaptureArg(info, 1);
    return Napi::Boolean::New(info.Env(), tables_capture_set(&dp_.tables, vni, &c) == 0);
  }

  Napi::Value FdbSet(const Napi::CallbackInfo &info) {
    uint32_t vni = Uint32Arg(info, 0, "vni");
    uint8_t mac[6];
    MacArg(info, 1, "mac", mac);
    dp_addr vtep = AddrArg(info, 2, "vtep");
    int rc = tables_fdb_set(&dp_.tables, vni, mac, &vtep);
    if (rc < 0) throw ErrnoError(info.Env(), -rc, "fdbSet");
    return info.Env().Undefined();
  }

  Napi::Value FdbDelete(const Napi::CallbackInfo &info) {
    uint32_t vni = Uint32Arg(info, 0, "vni");
    uint8_t mac[6];
    MacArg(info, 1, "mac", mac);
    return Napi::Boolean::New(info.Env(), tables_fdb_delete(&dp_.tables, vni, mac) == 0);
  }

  Napi::Value NeighSet(const Napi::CallbackInfo &info) {
    uint32_t vni = Uint32Arg(info, 0, "vni");
    dp_addr ip = AddrArg(info, 1, "ip");
    uint8_t mac[6];
    MacArg(info, 2, "mac", mac);
    int rc = tables_neigh_set(&dp_.tables, vni, &ip, mac);
    if (rc < 0) throw ErrnoError(info.Env(), -rc, "neighSet");
    return info.Env().Undefined();
  }

  Napi::Value NeighDelete(const Napi::CallbackInfo &info) {
    uint32_t vni = Uint32Arg(info, 0, "vni");
    dp_addr ip = AddrArg(info, 1, "ip");
    return Napi::Boolean::New(info.Env(), tables_neigh_delete(&dp_.tables, vni, &ip) == 0);
  }

  /** vtepRefs(vni, vtep) → FDB entries of the VNI pointing at `vtep`. */
  Napi::Value VtepRefs(const Napi::CallbackInfo &info) {
    uint32_t vni = Uint32Arg(info, 0, "vni");
    dp_addr vtep = AddrArg(info, 1, "vtep");
    return Napi::Number::New(info.Env(), datapath_vtep_refs(&dp_, vni, &vtep));
  }

  /**
   * processEgress(vni, frame, trace = false) → { out: [{vtep, flowHash, payload}], reply: Buffer[], drop?: reason
   * index, trace? }; a traced frame counts nowhere and is never sealed.
   */
  Napi::Value ProcessEgress(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint32_t vni = Uint32Arg(info, 0, "vni");
    Napi::Buffer<uint8_t> frame = BufferArg(info, 1, "frame");
    bool traced = info.Length() > 2 && info[2].ToBoolean().Value();
    dp_trace trace = NewTrace(DP_STAGE_ENCAPSULATE);
    std::vector<dp_addr> vteps(traced ? kTraceVteps : 0);
    trace.vteps = vteps.data();
    trace.vteps_cap = static_cast<uint32_t>(vteps.size());
    std::vector<uint8_t> work(DP_HEADROOM + frame.Length() + DP_TAILROOM);
    std::memcpy(work.data() + DP_HEADROOM, frame.Data(), frame.Length());
    EgressCollector c;
    dp_egress_sink sink{};
    sink.ctx = &c;
    sink.buffer = EgressCollector::Buffer;
    sink.send = EgressCollector::Send;
    sink.reply = EgressCollector::Reply;
    sink.esp_send = EgressCollector::EspSend;
    sink.membership = EgressCollector::Membership;
    sink.trace = traced ? &trace : nullptr;
    int verdict = datapath_egress(&dp_, vni, work.data() + DP_HEADROOM, frame.Length(), &sink);

    Napi::Object result = Napi::Object::New(env);
    Napi::Array out = Napi::Array::New(env, c.out.size());
    for (size_t i = 0; i < c.out.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("vtep", AddrString(env, c.out[i].vtep));
      o.Set("flowHash", Napi::Number::New(env, c.out[i].hash));
      o.Set("payload", Napi::Buffer<uint8_t>::Copy(env, c.out[i].payload.data(), c.out[i].payload.size()));
      if (c.out[i].carrier >= 0) o.Set("carrier", Napi::String::New(env, c.out[i].carrier == DP_CARRIER_UDP ? "udp" : "ip"));
      out.Set(i, o);
    }
    Napi::Array reply = Napi::Array::New(env, c.replies.size());
    for (size_t i = 0; i < c.replies.size(); i++)
      reply.Set(i, Napi::Buffer<uint8_t>::Copy(env, c.replies[i].data(), c.replies[i].size()));
    result.Set("out", out);
    result.Set("reply", reply);
    if (verdict != DP_PASS) result.Set("drop", Napi::Number::New(env, verdict));
    if (c.membership) result.Set("membership", Napi::Boolean::New(env, true));
    if (traced && !c.out.empty()) { /* a plain frame's payloads went to the collector */
      trace.has_vtep = 1;
      trace.vtep = c.out[0].vtep;
      trace.flow_hash = c.out[0].hash;
      trace.pieces = static_cast<uint32_t>(c.out.size());
      trace.payload_len = c.out[0].payload.size();
    }
    if (traced) result.Set("trace", TraceObject(env, trace));
    return result;
  }

  /** processIngress(src, payload, trace = false) → { vni, frame } | { drop: reason index }, with `trace` when traced */
  Napi::Value ProcessIngress(const Napi::CallbackInfo &info) {
    dp_addr src = SourceArg(info, 0);
    Napi::Buffer<uint8_t> payload = BufferArg(info, 1, "payload");
    bool traced = info.Length() > 2 && info[2].ToBoolean().Value();
    dp_trace trace = NewTrace(DP_STAGE_ADMIT);
    datapath_delivery d{};
    int verdict = datapath_ingress(&dp_, &src, payload.Data(), payload.Length(), &d, traced ? &trace : nullptr);
    Napi::Object result = DeliveryResult(info.Env(), verdict, d);
    if (traced) result.Set("trace", TraceObject(info.Env(), trace));
    return result;
  }

  /** traceEsp(src, spi, vxlanPayload) → as processIngress with a trace: the SA of (src, spi) looked up, nothing opened. */
  Napi::Value TraceEsp(const Napi::CallbackInfo &info) {
    dp_addr src = SourceArg(info, 0);
    uint32_t spi = Uint32Arg(info, 1, "spi");
    Napi::Buffer<uint8_t> payload = BufferArg(info, 2, "payload");
    std::vector<uint8_t> work(payload.Data(), payload.Data() + payload.Length());
    dp_trace trace = NewTrace(DP_STAGE_ADMIT);
    datapath_delivery d{};
    int verdict = datapath_esp_trace(&dp_, &src, spi, work.data(), work.size(), &d, &trace);
    Napi::Object result = DeliveryResult(info.Env(), verdict, d);
    result.Set("trace", TraceObject(info.Env(), trace));
    return result;
  }

  /** processEsp(src, packet) → { vni, frame } | { drop: reason index }; the packet is opened in a copy. */
  Napi::Value ProcessEsp(const Napi::CallbackInfo &info) {
    dp_addr src = SourceArg(info, 0);
    Napi::Buffer<uint8_t> packet = BufferArg(info, 1, "packet");
    std::vector<uint8_t> work(packet.Data(), packet.Data() + packet.Length());
    datapath_delivery d{};
    int verdict = datapath_esp_ingress(&dp_, &src, work.data(), work.size(), &d);
    return DeliveryResult(info.Env(), verdict, d);
  }
  /** saOutboundSet(vni, peer, spi, key, salt, esn, keyTag, lastUsed) */
  Napi::Value SaOutboundSet(const Napi::CallbackInfo &info) { return overlayd::SaOutboundSet(&dp_.tables, info); }
  /** saOutboundDelete(vni, peer) → whether there was one */
  Napi::Value SaOutboundDelete(const Napi::CallbackInfo &info) { return overlayd::SaOutboundDelete(&dp_.tables, info); }
  /** saInboundAdd(vni, peer, spi, key, salt, esn, keyTag, windowSize, windowTop) */
  Napi::Value SaInboundAdd(const Napi::CallbackInfo &info) { return overlayd::SaInboundAdd(&dp_.tables, info); }
  /** saInboundDelete(vni, peer, spi, keyTag) → whether it was held */
  Napi::Value SaInboundDelete(const Napi::CallbackInfo &info) { return overlayd::SaInboundDelete(&dp_.tables, info); }
  /** saList(vni?) → [{ vni, peer, keyTag, spi, direction, seq }] */
  Napi::Value SaList(const Napi::CallbackInfo &info) { return overlayd::SaList(&dp_.tables, info); }

  /** probeSend(vni, vtep, frame) → −1 when sent, else the drop reason index */
  Napi::Value ProbeSend(const Napi::CallbackInfo &info) { return overlayd::ProbeSend(&dp_, info); }
  /** peerCounters() → [{ vtep, txPackets, txBytes, rxPackets, rxBytes }] */
  Napi::Value PeerCounters(const Napi::CallbackInfo &info) { return overlayd::PeerCounters(&dp_, info); }
  /** groupSet(vni, mac, vteps) → false when the network is not attached; groups(vni) → [{ mac, vteps }] | null; inject(vni, frame) → bool (binding_mcast.cc) */
  Napi::Value GroupSet(const Napi::CallbackInfo &info) { return overlayd::GroupSet(&dp_, info); }
  Napi::Value Groups(const Napi::CallbackInfo &info) { return overlayd::Groups(&dp_, info); }
  Napi::Value Inject(const Napi::CallbackInfo &info) { return overlayd::Inject(&dp_, info); }

  static void NotifyPunt(void *arg) {
    auto *self = static_cast<DatapathHandle *>(arg);
    self->tsfn_.NonBlockingCall();
  }

  /** networkDrops(vni) → drops by reason index, or null (binding_drops.cc). */
  Napi::Value NetworkDropsOf(const Napi::CallbackInfo &info) { return NetworkDrops(&dp_, info); }

  /**
   * Runs on the JS thread: hands every queued capture and probe to the punt callback as
   * one array, then the drop events: callback([], events, lost).
   */
  static void DrainPunt(Napi::Env env, Napi::Function callback, DatapathHandle *self, void * /* data */) {
    if (env == nullptr || callback.IsEmpty() || !self->alive_) return;
    punt_item items[64];
    size_t n;
    while ((n = punt_pop(&self->dp_.punt, items, 64)) > 0) {
      Napi::Array batch = Napi::Array::New(env, n);
      for (size_t i = 0; i < n; i++) {
        batch.Set(i, PuntItemObject(env, items[i]));
        punt_item_free(&items[i]);
      }
      callback.Call({batch});
    }
    uint64_t lost = 0;
    Napi::Array drops = DrainDropEvents(env, self->dp_.drops, &lost);
    if (drops.Length() > 0) callback.Call({Napi::Array::New(env, 0), drops, Napi::Number::New(env, static_cast<double>(lost))});
  }

  using PuntTsfn = Napi::TypedThreadSafeFunction<DatapathHandle, void, DrainPunt>;

  /** start(onPunt) → the bound data port. Opens the sockets and starts the workers. */
  Napi::Value Start(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw ArgError(env, "start(onPunt): onPunt must be a function");
    if (dp_.io != nullptr) throw ErrnoError(env, EALREADY, "start");
    tsfn_ = PuntTsfn::New(env, info[0].As<Napi::Function>(), "overlayd-punt", 0, 1, this);
    tsfn_.Unref(env);
    int port = datapath_start(&dp_, NotifyPunt, this);
    if (port < 0) {
      tsfn_.Release();
      throw ErrnoError(env, -port, "start");
    }
    return Napi::Number::New(env, port);
  }

  /** offloadStats() → what TSO/USO/GSO/GRO did since start (zeros when stopped). */
  Napi::Value OffloadStats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    io_offload_stats s;
    std::memset(&s, 0, sizeof s);
    if (dp_.io != nullptr) io_get_offload_stats(dp_.io, &s);
    Napi::Object o = Napi::Object::New(env);
    const std::pair<const char *, uint64_t> counts[] = {
        {"tsoFrames", s.tso_frames},         {"tsoSegments", s.tso_segments},     {"usoFrames", s.uso_frames},
        {"usoSegments", s.uso_segments},     {"gsoSends", s.gso_sends},           {"gsoDatagrams", s.gso_datagrams},
        {"groFrames", s.gro_frames},         {"groSegments", s.gro_segments},     {"groUdpFrames", s.gro_udp_frames},
        {"groUdpSegments", s.gro_udp_segments}, {"udpGroBuffers", s.udp_gro_buffers}, {"tsoFramesIn", s.tso_frames_in},
        {"usoFramesIn", s.uso_frames_in}};
    for (const auto &[name, n] : counts) o.Set(name, Napi::Number::New(env, static_cast<double>(n)));
    o.Set("gsoEnabled", Napi::Boolean::New(env, s.gso_enabled != 0));
    o.Set("groEnabled", Napi::Boolean::New(env, s.gro_enabled != 0));
    o.Set("usoEnabled", Napi::Boolean::New(env, tap_uso_enabled() != 0));
    return o;
  }

  /** espPort() → the bound ESP-in-UDP port; 0 when stopped. */
  Napi::Value EspPort(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), dp_.io != nullptr ? io_esp_port(dp_.io) : 0);
  }

  /** sourcePort(flowHash) → the outer UDP source port of VXLAN with that flow hash; 0 when stopped. */
  Napi::Value SourcePort(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), datapath_source_port(&dp_, Uint32Arg(info, 0, "flowHash")));
  }

  /** espRaw() → whether the raw protocol 50 socket is open (carrier ip works); false when stopped. */
  Napi::Value EspRaw(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), dp_.io != nullptr && io_esp_raw(dp_.io) != 0);
  }

  Napi::Value Stop(const Napi::CallbackInfo &info) {
    StopIo();
    return info.Env().Undefined();
  }

  dp_datapath dp_{};
  Napi::Reference<Napi::ArrayBuffer> counters_ref_;
  PuntTsfn tsfn_;
  bool alive_ = false;
};

}  // namespace

void InitDatapath(Napi::Env env, Napi::Object exports) {
  exports.Set("DatapathHandle", DatapathHandle::Define(env));
}

}  // namespace overlayd
