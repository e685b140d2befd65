{
  "targets": [
    {
      "target_name": "overlayd",
      "sources": [
        "native/addr.c",
        "native/binding.cc",
        "native/binding_cred.cc",
        "native/binding_datapath.cc",
        "native/binding_esp.cc",
        "native/binding_raw.cc",
        "native/binding_sa.cc",
        "native/csum.c",
        "native/dp_esp.c",
        "native/dp_oversize.c",
        "native/dp_process.c",
        "native/errno_name.c",
        "native/esp.c",
        "native/oa_table.c",
        "native/offload.c",
        "native/punt.c",
        "native/replay.c",
        "native/sa_table.c",
        "native/tables.c"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/tap_linux.c", "native/io_linux.c", "native/io_egress.c", "native/io_ingress.c", "native/udp_batch.c"],
          "libraries": ["-lpthread"]
        }, {
          "sources": ["native/tap_other.c", "native/io_other.c"]
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
