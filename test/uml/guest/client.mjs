// A TCP client for UML guests, driven by stdin: "connect IP PORT COUNT" makes COUNT connections one
// after another and answers with one JSON line {answers: {NAME: n}, errors: {CODE: n}}.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

function once(ip, port) {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    let data = '';
    const timer = setTimeout(() => { s.destroy(); resolve({ error: 'TIMEOUT' }); }, 2000);
    s.on('data', (d) => { data += d; });
    s.on('end', () => { clearTimeout(timer); resolve({ name: data.trim() }); });
    s.on('error', (e) => { clearTimeout(timer); resolve({ error: e.code ?? e.message }); });
  });
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const [cmd, ip, port, count] = line.trim().split(/\s+/);
  if (cmd !== 'connect') { process.stdout.write(`${JSON.stringify({ error: `unknown command ${cmd}` })}\n`); continue; }
  const answers = {};
  const errors = {};
  for (let i = 0; i < Number(count); i++) {
    const r = await once(ip, Number(port));
    if (r.name !== undefined) answers[r.name] = (answers[r.name] ?? 0) + 1;
    else errors[r.error] = (errors[r.error] ?? 0) + 1;
  }
  process.stdout.write(`${JSON.stringify({ answers, errors })}\n`);
}
