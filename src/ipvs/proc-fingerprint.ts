// A cheap answer to "did the kernel's IPVS table change?": /proc/net/ip_vs holds the same table
// as `ipvsadm -S -n`, readable without starting a process (which is what makes the periodic
// re-read dear: forking a large process costs tens to hundreds of ms on a VM). Its connection
// counters change all the time, so they are cut off; what remains changes only with the table.
import { readFile } from 'node:fs/promises';

/** Normalize /proc/net/ip_vs text: destination lines keep address, forwarding and weight only. */
export function fingerprintOf(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.startsWith('  ->') ? l.trim().split(/\s+/).slice(0, 4).join(' ') : l))
    .join('\n');
}

/** The table's fingerprint, or null when /proc/net/ip_vs cannot be read. */
export async function procIpvsFingerprint(path = '/proc/net/ip_vs'): Promise<string | null> {
  try {
    return fingerprintOf(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}
