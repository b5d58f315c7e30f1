// Dev PKI: the files and their modes, reuse across starts, and real mutual-TLS handshakes on 127.0.0.1 with node:tls
// configured the way the signer's gRPC server will be (requestCert + rejectUnauthorized, only our CA trusted).

import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';

import { type TlsPaths, certIdentity, ensureDevPki, issueClientCert, makeForeignClient } from '../src/devPki.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 86_400_000;

let root: string;
let pkiDir: string;
let pki: TlsPaths;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'devpki-test-'));
  pkiDir = path.join(root, 'data', 'tls');
  pki = ensureDevPki(pkiDir);
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

const read = (file: string): Buffer => fs.readFileSync(file);
const cert = (file: string): X509Certificate => new X509Certificate(read(file));
const mode = (file: string): number => fs.statSync(file).mode & 0o777;
const lifetimeDays = (c: X509Certificate): number =>
  Math.round((Date.parse(c.validTo) - Date.parse(c.validFrom)) / DAY_MS);

test('first start writes the CA, server and client material with private modes', () => {
  assert.equal(mode(pkiDir), 0o700);
  assert.deepEqual(fs.readdirSync(pkiDir).sort(), [
    'ca-key.pem',
    'ca.pem',
    'client-key.pem',
    'client.pem',
    'server-key.pem',
    'server.pem',
  ]);
  for (const key of ['ca-key.pem', 'server-key.pem', 'client-key.pem']) {
    const file = path.join(pkiDir, key);
    assert.equal(mode(file), 0o600, key);
    assert.equal(createPrivateKey(read(file)).asymmetricKeyDetails?.namedCurve, 'prime256v1', key);
  }
  for (const file of [pki.caCert, pki.serverCert, pki.clientCert]) assert.equal(mode(file), 0o644, file);
});

test('the certificates carry the profile the daemon relies on', () => {
  const ca = cert(pki.caCert);
  const server = cert(pki.serverCert);
  const client = cert(pki.clientCert);

  assert.equal(ca.ca, true);
  assert.equal(lifetimeDays(ca), 3650);

  assert.equal(server.ca, false);
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
  assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
  assert.equal(lifetimeDays(server), 825);

  assert.ok(client.checkIssued(ca) && client.verify(ca.publicKey));
  assert.equal(client.subject, 'CN=tandem-coordinator');
  assert.equal(client.subjectAltName, 'DNS:tandem-coordinator');
  assert.deepEqual(client.keyUsage, [CLIENT_AUTH]);
  assert.equal(lifetimeDays(client), 825);

  const serials = new Set([ca.serialNumber, server.serialNumber, client.serialNumber]);
  assert.equal(serials.size, 3);
});

test('a second start reuses the same material byte for byte', () => {
  const before = fs.readdirSync(pkiDir).map((name) => [name, read(path.join(pkiDir, name))] as const);
  assert.deepEqual(ensureDevPki(pkiDir), pki);
  for (const [name, bytes] of before) assert.deepEqual(read(path.join(pkiDir, name)), bytes, name);
  assert.equal(fs.readdirSync(pkiDir).length, 6, 'no work directory left behind');
});

test('a partial set is an error naming the missing files, and nothing is regenerated', () => {
  const dir = copyOfPki('partial');
  fs.rmSync(path.join(dir, 'server-key.pem'));
  fs.rmSync(path.join(dir, 'client.pem'));
  assert.throws(() => ensureDevPki(dir), /incomplete, missing server-key\.pem, client\.pem/);
  assert.equal(fs.readdirSync(dir).length, 4);
});

test('a reused set with a readable private key or another client identity is refused', () => {
  const loose = copyOfPki('loose');
  fs.chmodSync(path.join(loose, 'client-key.pem'), 0o644);
  assert.throws(() => ensureDevPki(loose), /client-key\.pem is readable by other users \(mode 644\)/);

  assert.throws(
    () => ensureDevPki(copyOfPki('renamed'), { clientIdentity: 'ops-coordinator' }),
    /client certificate is for tandem-coordinator, not ops-coordinator/,
  );
});

test('clientIdentity names the generated client certificate', () => {
  const paths = ensureDevPki(path.join(root, 'custom'), { clientIdentity: 'coordinator.bank.internal' });
  assert.equal(certIdentity(read(paths.clientCert)), 'coordinator.bank.internal');
});

test('issueClientCert signs another identity with the same CA, read back by certIdentity', () => {
  const out = issueClientCert(pkiDir, path.join(root, 'extra'), 'rogue-service');
  assert.equal(mode(out.key), 0o600);
  assert.ok(cert(out.cert).verify(cert(pki.caCert).publicKey));
  assert.equal(certIdentity(read(out.cert)), 'rogue-service');
  assert.equal(certIdentity(fs.readFileSync(out.cert, 'utf8')), 'rogue-service', 'PEM string');
  assert.equal(certIdentity(cert(out.cert).raw), 'rogue-service', 'DER, as grpc-js hands it over');
});

test('identities that are not lower-case DNS names are refused before openssl runs', () => {
  const out = path.join(root, 'refused');
  for (const bad of ['', 'Tandem', 'a/CN=b', 'x\nCN = y', 'a,b', '-lead', 'a..b'])
    assert.throws(() => issueClientCert(pkiDir, out, bad), /is not a lower-case DNS name/, JSON.stringify(bad));
  assert.equal(fs.existsSync(out), false);
});

test('certIdentity gives no identity for server, CA, foreign-purpose or unparsable input', () => {
  assert.equal(certIdentity(read(pki.clientCert)), 'tandem-coordinator');
  assert.equal(certIdentity(read(pki.serverCert)), undefined, 'serverAuth only');
  assert.equal(certIdentity(read(pki.caCert)), undefined, 'a CA');
  assert.equal(certIdentity('not a certificate'), undefined);
  assert.equal(certIdentity(Buffer.alloc(0)), undefined);
});

test('mutual TLS: our client certificate is accepted and its identity reaches the server', async () => {
  const outcome = await handshake({ cert: pki.clientCert, key: pki.clientKey });
  assert.deepEqual(outcome, { received: 'hello tandem-coordinator', clientError: undefined, serverError: undefined });
});

test('mutual TLS: a client without a certificate is rejected by the server', async () => {
  const outcome = await handshake(undefined);
  assert.equal(outcome.received, '');
  assert.match(outcome.serverError ?? '', /peer did not return a certificate/);
});

test('mutual TLS: a client certificate from another CA is rejected by the server', async () => {
  const foreign = makeForeignClient(path.join(root, 'foreign'));
  assert.equal(certIdentity(read(foreign.cert)), 'tandem-coordinator', 'same name, wrong issuer');
  const outcome = await handshake({ cert: foreign.cert, key: foreign.key });
  assert.equal(outcome.received, '');
  assert.match(outcome.serverError ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
});

test('mutual TLS: the server certificate cannot be used as a client certificate', async () => {
  const outcome = await handshake({ cert: pki.serverCert, key: pki.serverKey });
  assert.equal(outcome.received, '');
  assert.match(outcome.serverError ?? '', /INVALID_PURPOSE/);
});

test('mutual TLS: another identity from our CA passes TLS, so the daemon must check the identity itself', async () => {
  const rogue = issueClientCert(pkiDir, path.join(root, 'rogue'), 'rogue-service');
  const outcome = await handshake({ cert: rogue.cert, key: rogue.key });
  assert.equal(outcome.received, 'hello rogue-service');
});

test('mutual TLS: the client refuses the server under a name it was not issued for', async () => {
  const outcome = await handshake({ cert: pki.clientCert, key: pki.clientKey }, 'signer.example');
  assert.equal(outcome.received, '');
  assert.match(outcome.clientError ?? '', /Hostname\/IP does not match certificate's altnames/);
});

function copyOfPki(name: string): string {
  const dir = path.join(root, name);
  fs.cpSync(pkiDir, dir, { recursive: true });
  return dir;
}

interface Outcome {
  received: string;
  clientError: string | undefined;
  serverError: string | undefined;
}

// One connection to a fresh server that greets the client by the identity in its certificate. The outcome is read
// once both sides are closed, so a rejection is seen whichever side notices it first.
async function handshake(
  client: { cert: string; key: string } | undefined,
  servername = 'localhost',
): Promise<Outcome> {
  let serverError: string | undefined;
  const server = tls.createServer(
    {
      key: read(pki.serverKey),
      cert: read(pki.serverCert),
      ca: read(pki.caCert),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => socket.end(`hello ${certIdentity(socket.getPeerCertificate().raw) ?? '?'}`),
  );
  // Node reports a failed verification as a hang-up; the reason is in authorizationError.
  server.on('tlsClientError', (err, socket) => (serverError = `${err.message} ${socket.authorizationError ?? ''}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let received = '';
  let clientError: string | undefined;
  await new Promise<void>((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      ca: read(pki.caCert),
      ...(client && { cert: read(client.cert), key: read(client.key) }),
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', (err) => (clientError = err.message));
    socket.on('close', () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { received, clientError, serverError };
}
