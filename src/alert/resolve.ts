// `hakeep -t`: does the smtp_server name resolve? keepalived resolves it once while reading the
// config (global_parser.c:220-239 with domain_stosockaddr, lib/utils.c:497-533) and, when the name
// does not resolve, reports "Invalid smtp server NAME PORT" and sends no alert at all. hakeep
// resolves it each time it sends (a lookup cannot block the config reader, and a name that did not
// resolve at boot may resolve later), so a failure here is a warning with what will happen.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config, Diagnostic } from '../config/model.js';

export async function smtpServerDiagnostics(config: Config, timeoutMs = 3000): Promise<Diagnostic[]> {
  const s = config.globalDefs.smtpServer;
  if (!s || isIP(s.host) !== 0) return [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(s.host).then((a) => a.address),
      new Promise<never>((_, rej) => { timer = setTimeout(() => rej(Object.assign(new Error('lookup timed out'), { code: 'ETIMEOUT' })), timeoutMs); }),
    ]);
    return [{ severity: 'note', file: s.loc.file, line: s.loc.line, message: `smtp_server ${s.host} resolves to ${found} now; hakeep looks it up again for each alert (keepalived once, at start)` }];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return [{
      severity: 'warning', file: s.loc.file, line: s.loc.line,
      message: `smtp_server ${s.host} does not resolve (${code}): keepalived reports "Invalid smtp server ${s.host} ${s.port}" and sends no e-mail alert at all; hakeep starts, and tries the name again for each alert (failures are logged). Fix the name or write the server's address`,
    }];
  } finally {
    clearTimeout(timer);
  }
}
