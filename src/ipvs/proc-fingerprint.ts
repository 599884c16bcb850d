// A cheap answer to "did the kernel's IPVS table change?": /proc/net/ip_vs holds the same table
// as `ipvsadm -S -n`, readable without starting a process (which is what makes the periodic
// re-read dear: forking a large process costs tens to hundreds of ms on a VM). Its connection
// counters change all the time, so they are cut off; what remains changes only with the table.
import { readFile } from 'node:fs/promises';

/** Destination lines: arrow, address, forwarding and weight, then the counters (cut off). */
const DEST_COUNTERS = /^( {2}->\s+\S+\s+\S+\s+\S+).*$/gm;

/**
 * Normalize /proc/net/ip_vs text: destination lines keep address, forwarding and weight only. One
 * regular-expression pass (a split/map/join per line cost 20-47 ms at 10,000 destinations on the
 * build host, ten times that in a 1-CPU UML guest, every resync; this is ~5 ms). /proc's columns
 * are fixed-width, so equal tables still give equal fingerprints.
 */
export function fingerprintOf(text: string): string {
  return text.replace(DEST_COUNTERS, '$1');
}

/** The table's fingerprint, or null when /proc/net/ip_vs cannot be read. */
export async function procIpvsFingerprint(path = '/proc/net/ip_vs'): Promise<string | null> {
  try {
    return fingerprintOf(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}
