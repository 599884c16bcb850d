// The record of the IPVS services hakeep manages, kept under /run so a restart knows them: a
// service in the record that is no longer in the config is removed at the next start, and a
// service never recorded (made by hand, or by another daemon) is never touched. Written before the
// batch that creates a service, so a crash right after the batch cannot leave one unrecorded.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IpvsServiceAddr } from './model.js';

export const DEFAULT_OWNED_PATH = '/run/hakeep/ipvs-owned.json';

export interface OwnedStore {
  /** The recorded services; null when there is no record yet. Throws when it cannot be read. */
  load(): Promise<IpvsServiceAddr[] | null>;
  save(services: readonly IpvsServiceAddr[]): Promise<void>;
  /** Where it lives, for log lines. */
  readonly where: string;
}

interface RecordFile {
  version: 1;
  /** What wrote it, for a person reading the file. */
  writer: 'hakeep';
  services: IpvsServiceAddr[];
}

function validAddr(a: unknown): a is IpvsServiceAddr {
  if (typeof a !== 'object' || a === null) return false;
  const o = a as Record<string, unknown>;
  if (o.family !== 4 && o.family !== 6) return false;
  if (o.kind === 'fwmark') return Number.isInteger(o.fwmark);
  return o.kind === 'ip' && (o.protocol === 'tcp' || o.protocol === 'udp' || o.protocol === 'sctp') &&
    typeof o.ip === 'string' && Number.isInteger(o.port);
}

/** The record as a JSON file, replaced atomically (write + rename). */
export function fileOwnedStore(path = DEFAULT_OWNED_PATH): OwnedStore {
  return {
    where: path,
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
      const parsed = JSON.parse(text) as Partial<RecordFile>;
      if (parsed.version !== 1 || !Array.isArray(parsed.services) || !parsed.services.every(validAddr)) {
        throw new Error(`${path} is not a hakeep IPVS record (version 1)`);
      }
      return parsed.services;
    },
    async save(services) {
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      const body: RecordFile = { version: 1, writer: 'hakeep', services: [...services] };
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o644 });
      await rename(tmp, path);
    },
  };
}

/** An in-memory record (tests, or a daemon told not to keep one). */
export function memoryOwnedStore(initial: IpvsServiceAddr[] | null = null): OwnedStore & { services: IpvsServiceAddr[] | null; saves: number } {
  const store = {
    where: '(memory)',
    services: initial,
    saves: 0,
    async load() { return store.services && [...store.services]; },
    async save(services: readonly IpvsServiceAddr[]) { store.saves++; store.services = [...services]; },
  };
  return store;
}
