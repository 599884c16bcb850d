// Loads the C addon (native/, built by `npm install`). The path is resolved from this file so it
// works both from dist/net/ (installed daemon) and from src/net/ (vitest): both sit two levels
// below the package root.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface IfaceInfo {
  index: number;
  /** lower-case aa:bb:cc:dd:ee:ff */
  mac: string;
  /** ARPHRD_* (1 = Ethernet, 772 = loopback). */
  hwType: number;
}

export interface NativeAddon {
  /** Send `count` (default 1) gratuitous ARP requests; throws an Error with `code` (errno name). */
  sendGarp(ifname: string, ipv4: string, count?: number): void;
  /** One datagram to `socketPath` or $NOTIFY_SOCKET; false when there is no socket to notify. */
  sdNotify(state: string, socketPath?: string): boolean;
  ifaceInfo(ifname: string): IfaceInfo;
}

export const NATIVE_ADDON_PATH = fileURLToPath(
  new URL('../../native/build/Release/hakeep_native.node', import.meta.url),
);

let addon: NativeAddon | null = null;

/** The addon, loaded on first use; throws a clear error when it has not been built. */
export function native(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'MODULE_NOT_FOUND' ? 'it has not been built' : err.message;
    throw new Error(
      `hakeep's native addon ${NATIVE_ADDON_PATH} cannot be loaded (${why}): ` +
        'run npm install in the hakeep directory (needs python3 make g++)',
      { cause: e },
    );
  }
  return addon;
}
