// VRRPv2 timer formulas (RFC 3768 §6.1), in milliseconds.

/** Skew_Time = (256 - Priority) / 256 seconds. */
export function skewTimeMs(priority: number): number {
  return ((256 - priority) * 1000) / 256;
}

/** Master_Down_Interval = downTimerAdverts (3) x Advertisement_Interval + Skew_Time. */
export function masterDownIntervalMs(advertIntMs: number, priority: number, downTimerAdverts = 3): number {
  return downTimerAdverts * advertIntMs + skewTimeMs(priority);
}

/** VRRPv2 carries whole seconds: keepalived rounds fractional advert_int and caps it at 255. */
export function v2AdvertIntSeconds(advertInt: number): number {
  return Math.min(255, Math.max(1, Math.round(advertInt)));
}
