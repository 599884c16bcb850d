// Parse Prometheus exposition text with a real parser: the Python client's
// text_string_to_metric_families (Debian's python3-prometheus-client, installed here with apt-get
// when missing). No parser, no test: it fails loudly rather than fall back to a regex.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string;
  samples: PromSample[];
}

/** Debian's python, not a pyenv or venv one that does not see the distribution's packages. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [
        {"name": s.name, "labels": dict(s.labels), "value": (s.value if math.isfinite(s.value) else str(s.value))} for s in f.samples]})
print(json.dumps(out))
`;

let checked = false;

/** Make sure the parser is importable; install it once if not; throw with the fix otherwise. */
export function requirePromParser(): void {
  if (checked) return;
  const probe = (): boolean => spawnSync(PYTHON, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' }).status === 0;
  if (!probe()) {
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-prometheus-client'], { stdio: 'ignore', timeout: 180_000 });
    if (!probe()) throw new Error(`the Prometheus text parser is missing: apt-get install -y python3-prometheus-client (${PYTHON} cannot import prometheus_client.parser)`);
  }
  checked = true;
}

/** Every family in `text`, as the Python client parses it (throws on text it rejects). */
export function parseProm(text: string): PromFamily[] {
  requirePromParser();
  const out = execFileSync(PYTHON, ['-c', SCRIPT], { input: text, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out) as PromFamily[];
}

/** The value of one sample (by sample name and a subset of labels); undefined when absent. */
export function sample(fams: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of fams) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
