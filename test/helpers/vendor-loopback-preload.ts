// TESTS ONLY: loaded with `node --require` into the vouch processes the fault tests spawn (src/bin/vouch.js worker,
// handler, ingest, review), before vouch itself. `@duosecurity/duo_api` pins Duo's CA and always dials its host on
// port 443, so the one seam is https.globalAgent (src/demo/sandbox/duo-redirect.ts): this sends connections for the
// configured Duo host to the loopback Duo stand-in, trusting only its certificate. Everything else in the process is
// vouch as production runs it. (The PagerDuty stand-in's certificate comes in through NODE_EXTRA_CA_CERTS.)
//
//   VOUCH_TEST_DUO_REDIRECT  host=port, e.g. api-sandbox.duosecurity.test=43123
//   VOUCH_TEST_DUO_CA_FILE   the stand-in's PEM certificate
import fs from 'node:fs';
import { installDuoLoopbackRedirect } from '../../src/demo/sandbox/duo-redirect';

const spec = process.env.VOUCH_TEST_DUO_REDIRECT;
const caFile = process.env.VOUCH_TEST_DUO_CA_FILE;
if (spec && caFile) {
  const [host, port] = spec.split('=');
  if (!host || !port || !/^\d+$/.test(port)) throw new Error(`VOUCH_TEST_DUO_REDIRECT must be host=port, got ${spec}`);
  installDuoLoopbackRedirect({ host, port: Number(port), ca: fs.readFileSync(caFile, 'utf8') });
}
