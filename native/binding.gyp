{
  "targets": [
    {
      "target_name": "hakeep_native",
      "sources": ["src/addon.c", "src/local-socket.c", "src/garp.c", "src/sd-notify.c", "src/netlink.c", "src/rtnl-monitor.c", "src/checker.c", "src/proc-events.c", "src/icmp.c", "src/route.c", "src/vmac.c", "src/advert-pacer.c"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
