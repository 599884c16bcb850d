// Decoding the records of the native process events connector (native/src/proc-events.c): 32
// bytes each, host byte order (little-endian on the platforms hakeep runs on):
// u32 what, u32 pid, u32 aux (fork: parent pid; exit: exit code), u32 0, char comm[16].
// The values of `what` are the kernel's (linux/cn_proc.h).

export const PROC_EVENT_NONE = 0;
export const PROC_EVENT_FORK = 0x1;
export const PROC_EVENT_EXEC = 0x2;
export const PROC_EVENT_COMM = 0x200;
export const PROC_EVENT_EXIT = 0x80000000;

export type ProcEvent =
  /** The kernel acknowledged the subscription: events will come. */
  | { type: 'ack' }
  | { type: 'fork'; pid: number; parent: number }
  | { type: 'exec'; pid: number }
  | { type: 'comm'; pid: number; comm: string }
  | { type: 'exit'; pid: number };

export const PROC_RECORD_SIZE = 32;

export function decodeProcEvents(buf: Buffer): ProcEvent[] {
  const out: ProcEvent[] = [];
  for (let o = 0; o + PROC_RECORD_SIZE <= buf.length; o += PROC_RECORD_SIZE) {
    const what = buf.readUInt32LE(o);
    const pid = buf.readUInt32LE(o + 4);
    const aux = buf.readUInt32LE(o + 8);
    switch (what) {
      case PROC_EVENT_NONE: out.push({ type: 'ack' }); break;
      case PROC_EVENT_FORK: out.push({ type: 'fork', pid, parent: aux }); break;
      case PROC_EVENT_EXEC: out.push({ type: 'exec', pid }); break;
      case PROC_EVENT_COMM: {
        const raw = buf.subarray(o + 16, o + 32);
        const end = raw.indexOf(0);
        out.push({ type: 'comm', pid, comm: (end < 0 ? raw : raw.subarray(0, end)).toString() });
        break;
      }
      case PROC_EVENT_EXIT: out.push({ type: 'exit', pid }); break;
      default:
    }
  }
  return out;
}
