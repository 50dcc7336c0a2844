// A loopback EC2 endpoint for the calls moto_server 5.2.5 lacks or only half implements:
// - serial console access (Get/Enable/DisableSerialConsoleAccess: not in moto),
// - ModifySnapshotAttribute with the CreateVolumePermission.{Add,Remove} structure (moto reads only the
//   OperationType + UserIds form; AWS accepts both, and the Stratus/Invictus operator used the structure).
// It checks what EC2 checks first (POST, Version=2016-11-15, and the SigV4 signature itself: recomputed with the
// caller's secret key, scoped to the ec2 service, its X-Amz-Date within EC2's documented 15 minutes of now, as
// test/standins/sigv4.ts checks it), keeps state, honours DryRun (DryRunOperation), answers EC2's XML, and records
// every request's query parameters for wire-level assertions.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkSigV4, type SigV4Refusal } from './sigv4';

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** The account the stand-in's credentials belong to (moto's default, as the revert tests use). */
const STANDIN_ACCOUNT = '123456789012';

export interface Ec2StandInOptions {
  /** The one access key the endpoint knows, and its secret. Default test / test (the revert tests' credentials). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Now (epoch ms), for the X-Amz-Date window. Default Date.now(). */
  now?: () => number;
}

/** EC2's error codes for SigV4 refusals (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). */
const AUTH_ERRORS: Record<SigV4Refusal, { code: string; status: number }> = {
  MissingAuthenticationToken: { code: 'MissingAuthenticationToken', status: 401 },
  IncompleteSignature: { code: 'IncompleteSignature', status: 400 },
  WrongService: { code: 'SignatureDoesNotMatch', status: 403 },
  UnknownAccessKey: { code: 'AuthFailure', status: 401 },
  SignatureExpired: { code: 'RequestExpired', status: 400 },
  SignatureDoesNotMatch: { code: 'AuthFailure', status: 401 },
};

export interface Ec2StandIn {
  endpoint: string;
  requests: URLSearchParams[];
  serialConsole: boolean;
  /** snapshot id → create-volume permissions ("user:<id>" / "group:all"). */
  snapshots: Map<string, Set<string>>;
  stop(): Promise<void>;
}

function xml(action: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}"><requestId>req-1</requestId>${body}</${action}Response>`;
}

function error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`;
}

/** `Prefix.N.Field` values, in order of N (a list member names one field, so N need not be contiguous per field). */
function indexed(q: URLSearchParams, prefix: string, field: string): string[] {
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.${field}$`);
  return [...q.entries()]
    .map(([k, v]) => [re.exec(k)?.[1], v] as const)
    .filter((e): e is readonly [string, string] => e[0] !== undefined)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([, v]) => v);
}

export async function startEc2StandIn(opts: Ec2StandInOptions = {}): Promise<Ec2StandIn> {
  const keyId = opts.accessKeyId ?? 'test';
  const secret = opts.secretAccessKey ?? 'test';
  const state: Ec2StandIn = {
    endpoint: '',
    requests: [],
    serialConsole: false,
    snapshots: new Map(),
    stop: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const q = new URLSearchParams(body);
      state.requests.push(q);
      const send = (status: number, text: string): void => {
        res.writeHead(status, { 'content-type': 'text/xml' });
        res.end(text);
      };
      const authHeader = String(req.headers.authorization ?? '');
      if (q.get('Action') === 'GetCallerIdentity' && /\/sts\/aws4_request/.test(authHeader)) {
        // STS on the same endpoint: vouch proves which account its credentials belong to before any EC2 call.
        return send(
          200,
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
            `<Arn>arn:aws:iam::${STANDIN_ACCOUNT}:user/test</Arn><UserId>AIDATEST</UserId><Account>${STANDIN_ACCOUNT}</Account>` +
            `</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
      }
      if (req.method !== 'POST' || q.get('Version') !== '2016-11-15') {
        return send(400, error('InvalidRequest', 'not an EC2 query request (POST, Version=2016-11-15)'));
      }
      const auth = checkSigV4(
        { method: req.method, url: req.url ?? '/', headers: req.headers, body },
        { service: 'ec2', secretOf: (k) => (k === keyId ? secret : undefined), now: (opts.now ?? Date.now)(), maxSkewMs: 15 * 60_000 },
      );
      if (!auth.ok) {
        const e = AUTH_ERRORS[auth.refusal];
        return send(e.status, error(e.code, auth.message));
      }
      const action = q.get('Action') ?? '';
      const dry = q.get('DryRun') === 'true';
      const dryRun = (): void => send(412, error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.'));
      switch (action) {
        case 'GetSerialConsoleAccessStatus':
          return send(200, xml(action, `<serialConsoleAccessEnabled>${String(state.serialConsole)}</serialConsoleAccessEnabled>`));
        case 'EnableSerialConsoleAccess':
        case 'DisableSerialConsoleAccess':
          if (dry) return dryRun();
          state.serialConsole = action === 'EnableSerialConsoleAccess';
          return send(200, xml(action, `<serialConsoleAccessEnabled>${String(state.serialConsole)}</serialConsoleAccessEnabled>`));
        case 'DescribeSnapshotAttribute': {
          const perms = state.snapshots.get(q.get('SnapshotId') ?? '');
          if (!perms) return send(400, error('InvalidSnapshot.NotFound', `The snapshot '${String(q.get('SnapshotId'))}' does not exist.`));
          if (q.get('Attribute') !== 'createVolumePermission') return send(400, error('InvalidParameterValue', 'bad Attribute'));
          const items = [...perms]
            .map((p) => (p.startsWith('user:') ? `<item><userId>${p.slice(5)}</userId></item>` : `<item><group>${p.slice(6)}</group></item>`))
            .join('');
          return send(200, xml(action, `<snapshotId>${String(q.get('SnapshotId'))}</snapshotId><createVolumePermission>${items}</createVolumePermission>`));
        }
        case 'ModifySnapshotAttribute': {
          const perms = state.snapshots.get(q.get('SnapshotId') ?? '');
          if (!perms) return send(400, error('InvalidSnapshot.NotFound', 'no such snapshot'));
          const attribute = q.get('Attribute');
          if (attribute !== null && attribute !== 'createVolumePermission') return send(400, error('InvalidParameterValue', 'bad Attribute'));
          const add = [
            ...indexed(q, 'CreateVolumePermission.Add', 'UserId').map((u) => `user:${u}`),
            ...indexed(q, 'CreateVolumePermission.Add', 'Group').map((g) => `group:${g}`),
          ];
          const remove = [
            ...indexed(q, 'CreateVolumePermission.Remove', 'UserId').map((u) => `user:${u}`),
            ...indexed(q, 'CreateVolumePermission.Remove', 'Group').map((g) => `group:${g}`),
          ];
          const op = q.get('OperationType');
          const listed = [
            ...[...q.entries()].filter(([k]) => /^UserId\.\d+$/.test(k)).map(([, v]) => `user:${v}`),
            ...[...q.entries()].filter(([k]) => /^UserGroup\.\d+$/.test(k)).map(([, v]) => `group:${v}`),
          ];
          if (op === 'add') add.push(...listed);
          if (op === 'remove') remove.push(...listed);
          if (!add.length && !remove.length) return send(400, error('MissingParameter', 'no permission to add or remove'));
          if (dry) return dryRun();
          for (const p of add) perms.add(p);
          for (const p of remove) perms.delete(p);
          return send(200, xml(action, '<return>true</return>'));
        }
        default:
          return send(400, error('InvalidAction', `${action} is not served by this stand-in`));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
