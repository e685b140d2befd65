{
  "targets": [
    {
      "target_name": "overlayd",
      "sources": [
        "native/base/addr.c",
        "native/base/csum.c",
        "native/base/errno_name.c",
        "native/binding/binding.cc",
        "native/binding/binding_capture.cc",
        "native/binding/binding_cred.cc",
        "native/binding/binding_datapath.cc",
        "native/binding/binding_drops.cc",
        "native/binding/binding_esp.cc",
        "native/binding/binding_mcast.cc",
        "native/binding/binding_peers.cc",
        "native/binding/binding_raw.cc",
        "native/binding/binding_sa.cc",
        "native/datapath/datapath.c",
        "native/esp/esp.c",
        "native/esp/replay.c",
        "native/esp/sa_table.c",
        "native/io/capture.c",
        "native/io/drop_events.c",
        "native/io/punt.c",
        "native/pipeline/admit.c",
        "native/pipeline/decapsulate.c",
        "native/pipeline/egress.c",
        "native/pipeline/encapsulate.c",
        "native/pipeline/ingress.c",
        "native/pipeline/lookup.c",
        "native/pipeline/open.c",
        "native/pipeline/parse.c",
        "native/pipeline/proxy.c",
        "native/pipeline/seal.c",
        "native/pipeline/size.c",
        "native/tables/groups.c",
        "native/tables/oa_table.c",
        "native/tables/peers.c",
        "native/tables/tables.c",
        "native/tap/offload.c"
      ],
      "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-O2", "-flto=auto", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-flto=auto"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/tap/tap_linux.c", "native/io/io_linux.c", "native/io/io_egress.c", "native/io/io_ingress.c", "native/udp/udp_batch.c"],
          "libraries": ["-lpthread"]
        }, {
          "sources": ["native/tap/tap_other.c", "native/io/io_other.c"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
          }
        }]
      ]
    }
  ]
}
