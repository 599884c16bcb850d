/* Routes and policy rules over rtnetlink (virtual_routes, virtual_rules, static_routes,
 * static_rules). Registers its functions on `exports`. */
#include <node_api.h>
#include "hakeep-native.h"

int hk_route_register(napi_env env, napi_value exports) {
  (void)env; (void)exports;
  return 0;
}
