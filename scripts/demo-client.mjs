// The client of the LVS demo (scripts/demo-lvs.sh): fetches URL over a new TCP connection every
// INTERVAL_MS, one request at a time, and appends one line per request to OUT_FILE:
//   <start, ms since the epoch> <result> <duration ms>
// where result is the real server's name for "200 OK" with the body "hello from NAME", HTTP<code>
// for any other answer, or the error (ECONNREFUSED, ECONNRESET, TIMEOUT after TIMEOUT_MS, …).
//   node scripts/demo-client.mjs URL INTERVAL_MS TIMEOUT_MS MAX_SECONDS OUT_FILE
// Stops on SIGTERM or after MAX_SECONDS.
import { appendFileSync } from 'node:fs';
import { get } from 'node:http';

const [url, intervalMs, timeoutMs, maxSeconds, out] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node demo-client.mjs URL INTERVAL_MS TIMEOUT_MS MAX_SECONDS OUT_FILE\n');
  process.exit(2);
}
const until = Date.now() + Number(maxSeconds) * 1000;
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { stopping = true; });

function fetchOnce() {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        const m = /^hello from (\S+)/.exec(body);
        finish(res.statusCode === 200 && m ? m[1] : `HTTP${res.statusCode}`);
      });
      res.on('error', (e) => finish(e.code ?? 'ERROR'));
    });
    req.on('error', (e) => finish(e.code ?? 'ERROR'));
    const timer = setTimeout(() => finish('TIMEOUT'), Number(timeoutMs));
  });
}

while (!stopping && Date.now() < until) {
  const t0 = Date.now();
  const r = await fetchOnce();
  const ms = Date.now() - t0;
  appendFileSync(out, `${t0} ${r} ${ms}\n`);
  const wait = Number(intervalMs) - ms;
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
process.exit(0);
