// Development TLS material for the signer's mutual-TLS gRPC endpoint, made with the openssl CLI on first start
// (DESIGN.md "Storage defaults"): one CA, a server certificate for localhost / 127.0.0.1 and a client certificate
// for the coordinator. A bank runs the signer with certificates from its own PKI; nothing here is meant for that.
//
// Client identity: it is written twice into the client certificate, as the subject CN and as the only DNS
// subjectAltName (CN=tandem-coordinator, DNS:tandem-coordinator). DNS rather than URI because identities are
// hostname-like labels and Node prints DNS names plainly; the certificate's extendedKeyUsage is clientAuth only, so
// it cannot serve as a server certificate for that name. certIdentity() reads the identity back and fails closed.
//
// Keys never leave the directory they belong to: each run works in a mkdtemp directory (mode 0700) inside the
// output directory, so nothing lands in a shared /tmp, and the finished files are renamed into place.

import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface TlsPaths {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export const DEFAULT_CLIENT_IDENTITY = 'tandem-coordinator';

const CA_DAYS = 3650;
// 825 days is the longest leaf lifetime Apple platforms accept; we use it for client certificates too.
const LEAF_DAYS = 825;
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

const FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
  clientCert: 'client.pem',
  clientKey: 'client-key.pem',
} as const;

// Lower-case DNS names only: the identity goes into an openssl config file and a SAN, so this also keeps newlines,
// '/', '=' and ',' out of both, and one spelling per identity means a plain string comparison is the whole check.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const IDENTITY = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

function isIdentity(name: string): boolean {
  return name.length <= 253 && IDENTITY.test(name);
}

function assertIdentity(name: string): void {
  if (!isIdentity(name)) throw new Error(`client identity ${JSON.stringify(name)} is not a lower-case DNS name`);
}

export function ensureDevPki(dir: string, opts: { clientIdentity?: string } = {}): TlsPaths {
  const identity = opts.clientIdentity ?? DEFAULT_CLIENT_IDENTITY;
  assertIdentity(identity);
  const file = (name: string): string => path.join(dir, name);
  const paths = {
    caCert: file(FILES.caCert),
    serverCert: file(FILES.serverCert),
    serverKey: file(FILES.serverKey),
    clientCert: file(FILES.clientCert),
    clientKey: file(FILES.clientKey),
  };
  const caKey = file(FILES.caKey);

  const missing = Object.values(FILES).filter((name) => !fs.existsSync(file(name)));
  if (missing.length === 0) {
    checkExistingSet(paths, caKey, identity);
    return paths;
  }
  // A partial set means someone deleted files or a first start died midway: regenerating would silently replace
  // a CA the coordinator may already trust, so an operator decides.
  if (missing.length < Object.keys(FILES).length)
    throw new Error(
      `dev PKI in ${dir} is incomplete, missing ${missing.join(', ')}: remove the directory to regenerate`,
    );

  makeDir(dir);
  inWorkDir(dir, (work) => {
    const ca = makeCa(work, 'Tandem development CA');
    const server = issueLeaf(work, ca, 'server', 'localhost', 'DNS:localhost, IP:127.0.0.1', 'serverAuth');
    const client = issueLeaf(work, ca, 'client', identity, `DNS:${identity}`, 'clientAuth');
    publish([
      [ca.key, caKey],
      [server.key, paths.serverKey],
      [client.key, paths.clientKey],
      [server.cert, paths.serverCert],
      [client.cert, paths.clientCert],
      [ca.cert, paths.caCert],
    ]);
  });
  return paths;
}

export function issueClientCert(dir: string, outDir: string, identity: string): { cert: string; key: string } {
  assertIdentity(identity);
  const ca = { cert: path.join(dir, FILES.caCert), key: path.join(dir, FILES.caKey) };
  for (const f of [ca.cert, ca.key]) if (!fs.existsSync(f)) throw new Error(`no dev CA in ${dir}: ${f} is missing`);
  makeDir(outDir);
  const out = {
    cert: path.join(outDir, `client-${identity}.pem`),
    key: path.join(outDir, `client-${identity}-key.pem`),
  };
  inWorkDir(outDir, (work) => {
    const leaf = issueLeaf(work, ca, 'client', identity, `DNS:${identity}`, 'clientAuth');
    publish([
      [leaf.key, out.key],
      [leaf.cert, out.cert],
    ]);
  });
  return out;
}

// The foreign CA's key is thrown away with the work directory: tests only need a client that no one we trust signed.
export function makeForeignClient(outDir: string): { caCert: string; cert: string; key: string } {
  makeDir(outDir);
  const out = {
    caCert: path.join(outDir, 'foreign-ca.pem'),
    cert: path.join(outDir, 'foreign-client.pem'),
    key: path.join(outDir, 'foreign-client-key.pem'),
  };
  inWorkDir(outDir, (work) => {
    const ca = makeCa(work, 'Foreign CA (not Tandem)');
    const leaf = issueLeaf(work, ca, 'client', DEFAULT_CLIENT_IDENTITY, `DNS:${DEFAULT_CLIENT_IDENTITY}`, 'clientAuth');
    publish([
      [leaf.key, out.key],
      [leaf.cert, out.cert],
      [ca.cert, out.caCert],
    ]);
  });
  return out;
}

// The client identity of a certificate, or undefined when it has none or an ambiguous one. It reads names only:
// call it on a peer certificate that TLS has already verified against our CA (grpc-js's getAuthContext() only
// returns a certificate for an authorized socket). Rules: not a CA; the extendedKeyUsage, if present, allows
// clientAuth; with a subjectAltName there must be exactly one DNS name, and a CN, if any, must equal it; without
// one, exactly one CN. Names that are not lower-case DNS names (including ones Node prints quoted) give undefined.
export function certIdentity(pemOrDer: string | Uint8Array): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pemOrDer);
  } catch {
    return undefined;
  }
  if (cert.ca) return undefined;
  const eku = cert.keyUsage as string[] | undefined;
  if (eku !== undefined && !eku.includes(CLIENT_AUTH_OID)) return undefined;

  const cns = cert.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
  if (cns.length > 1) return undefined;
  const cn = cns[0];

  let name: string | undefined;
  if (cert.subjectAltName !== undefined) {
    const dns = cert.subjectAltName
      .split(', ')
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4));
    if (dns.length !== 1) return undefined;
    name = dns[0];
    if (cn !== undefined && cn !== name) return undefined;
  } else {
    name = cn;
  }
  return name !== undefined && isIdentity(name) ? name : undefined;
}

interface KeyAndCert {
  key: string;
  cert: string;
}

function makeCa(work: string, commonName: string): KeyAndCert {
  const key = makeKey(work, 'ca');
  const config = writeConfig(
    work,
    'ca',
    `[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
CN = ${commonName}
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`,
  );
  const cert = path.join(work, 'ca.pem');
  openssl([
    'req',
    '-new',
    '-x509',
    '-config',
    config,
    '-key',
    key,
    '-sha256',
    '-days',
    `${CA_DAYS}`,
    '-set_serial',
    randomSerial(),
    '-out',
    cert,
  ]);
  return { key, cert };
}

function issueLeaf(
  work: string,
  ca: KeyAndCert,
  name: string,
  commonName: string,
  subjectAltName: string,
  extendedKeyUsage: 'serverAuth' | 'clientAuth',
): KeyAndCert {
  const key = makeKey(work, name);
  // One file serves as the CSR's config and as the extension file of the signing step; `x509 -req` does not copy
  // extensions from the CSR, so the CA decides every extension of the certificate.
  const config = writeConfig(
    work,
    name,
    `[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${commonName}
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = ${extendedKeyUsage}
subjectAltName = ${subjectAltName}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`,
  );
  const csr = path.join(work, `${name}.csr`);
  const cert = path.join(work, `${name}.pem`);
  openssl(['req', '-new', '-config', config, '-key', key, '-out', csr]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    randomSerial(),
    '-days',
    `${LEAF_DAYS}`,
    '-sha256',
    '-extfile',
    config,
    '-extensions',
    'leaf_ext',
    '-out',
    cert,
  ]);
  return { key, cert };
}

function makeKey(work: string, name: string): string {
  const key = path.join(work, `${name}-key.pem`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  fs.chmodSync(key, 0o600);
  return key;
}

function writeConfig(work: string, name: string, text: string): string {
  const file = path.join(work, `${name}.cnf`);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

// 128 random bits, top bit clear so the DER integer stays positive and the next bit set so it keeps its length.
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return `0x${bytes.toString('hex')}`;
}

// Arguments stay an array (execFileSync, no shell), so a path with spaces or quotes is just a path.
function openssl(args: string[]): void {
  try {
    // stdout is ignored: nothing a command prints, key material included, reaches our output.
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error('openssl was not found on PATH: it is needed to make dev TLS material', { cause: err });
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`, { cause: err });
  }
}

function makeDir(dir: string): void {
  // Only a directory we create is chmod-ed: tightening a directory someone passed in (say /tmp) is not ours to do.
  const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) fs.chmodSync(dir, 0o700);
}

function inWorkDir(parent: string, build: (work: string) => void): void {
  const work = fs.mkdtempSync(path.join(parent, '.devpki-'));
  try {
    build(work);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function publish(moves: readonly (readonly [from: string, to: string])[]): void {
  for (const [from, to] of moves) {
    if (!from.endsWith('-key.pem')) fs.chmodSync(from, 0o644);
    fs.renameSync(from, to);
  }
}

// Reusing a set checks it is still usable, so a broken one fails here with its name rather than later as an
// opaque TLS handshake error on the coordinator's side.
function checkExistingSet(paths: TlsPaths, caKey: string, identity: string): void {
  for (const key of [caKey, paths.serverKey, paths.clientKey]) {
    const mode = fs.statSync(key).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new Error(`private key ${key} is readable by other users (mode ${mode.toString(8)}): chmod 600 it`);
  }
  const ca = new X509Certificate(fs.readFileSync(paths.caCert));
  const pairs: [string, string, string][] = [
    [paths.caCert, caKey, 'CA'],
    [paths.serverCert, paths.serverKey, 'server'],
    [paths.clientCert, paths.clientKey, 'client'],
  ];
  for (const [certFile, keyFile, role] of pairs) {
    const cert = new X509Certificate(fs.readFileSync(certFile));
    if (!cert.checkPrivateKey(createPrivateKey(fs.readFileSync(keyFile))))
      throw new Error(`dev PKI: ${keyFile} is not the key of ${certFile}`);
    if (!cert.verify(ca.publicKey))
      throw new Error(`dev PKI: the ${role} certificate ${certFile} is not signed by the CA`);
    if (Date.parse(cert.validTo) <= Date.now())
      throw new Error(`dev PKI: the ${role} certificate ${certFile} expired on ${cert.validTo}: remove the directory`);
  }
  const found = certIdentity(fs.readFileSync(paths.clientCert));
  if (found !== identity)
    throw new Error(`dev PKI: the client certificate is for ${found ?? 'no valid identity'}, not ${identity}`);
}
