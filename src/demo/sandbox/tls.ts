// A throwaway self-signed certificate for loopback HTTPS stand-ins (Duo and PagerDuty clients only speak TLS).
import selfsigned from 'selfsigned';

export interface LoopbackCert {
  key: string;
  cert: string;
}

let cached: Promise<LoopbackCert> | undefined;

/** One certificate per process, valid for localhost, 127.0.0.1 and the names the vendor clients are pointed at. */
export function loopbackCert(): Promise<LoopbackCert> {
  cached ??= (async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      notBeforeDate: new Date(Date.now() - 60_000),
      notAfterDate: new Date(Date.now() + 2 * 24 * 3600_000),
      keyType: 'ec',
      curve: 'P-256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    return { key: pems.private, cert: pems.cert };
  })();
  return cached;
}
