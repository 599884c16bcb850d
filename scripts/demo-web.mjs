// A real server for the LVS demo (scripts/demo-lvs.sh): an HTTP server on 0.0.0.0:PORT answering
// every request with "200 OK" and the body "hello from NAME". Listening on all addresses, it answers
// on the VIP (bound to lo: LVS-DR traffic) and on the server's own address (hakeep's HTTP_GET).
//   node scripts/demo-web.mjs NAME PORT [MAX_SECONDS]
// Prints "listening" once it accepts connections; exits after MAX_SECONDS (default 600) at most,
// so a demo that dies half way cannot leave it running forever.
import { createServer } from 'node:http';

const [name, port, maxSeconds = '600'] = process.argv.slice(2);
if (!name || !port) {
  process.stderr.write('usage: node demo-web.mjs NAME PORT [MAX_SECONDS]\n');
  process.exit(2);
}
const server = createServer((req, res) => {
  const body = `hello from ${name}\n`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
});
server.on('error', (e) => {
  process.stderr.write(`demo-web ${name}: ${e.message}\n`);
  process.exit(1);
});
server.listen({ host: '0.0.0.0', port: Number(port) }, () => process.stdout.write('listening\n'));
setTimeout(() => process.exit(0), Number(maxSeconds) * 1000).unref();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
