// A service (signer or coordinator) as its own Node process, started the way an operator starts
// it (`node --import tsx src/main.ts` with TANDEM_* variables): for crash tests, which kill it with
// SIGKILL, and for the benchmark, which measures the services as deployed, each on its own thread.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ServiceProcess {
  readonly proc: ChildProcess;
  /** Everything the process wrote so far (pino JSON lines on stdout). */
  readonly output: { stdout: string; stderr: string };
  /** The log line the service announced itself with (its fields: port, identity, …). */
  readonly ready: Record<string, unknown>;
  /** SIGTERM (graceful shutdown); resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
  /** SIGKILL to this child only; resolves once it is gone. */
  kill(): Promise<void>;
}

export interface ServiceOptions {
  /** The workspace directory whose src/main.ts is the service. */
  cwd: string;
  /** TANDEM_* settings; the caller's own TANDEM_* variables are not passed on. */
  env: Record<string, string>;
  /** Where stdout and stderr are also appended. */
  logFile: string;
  /** The `msg` of the log line that says the service is up. */
  readyMsg: string;
}

export async function spawnService(o: ServiceOptions): Promise<ServiceProcess> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('TANDEM_') && k !== 'NODE_TEST_CONTEXT') base[k] = v;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: o.cwd,
    env: { ...base, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  const file = createWriteStream(o.logFile, { flags: 'a' });
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    output.stdout += s;
    file.write(s);
  });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    output.stderr += s;
    file.write(s);
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    proc.once('close', (code, signal) => {
      file.end();
      ok({ code, signal });
    }),
  );
  const ready = await new Promise<Record<string, unknown>>((ok, fail) => {
    let seen = 0;
    const look = () => {
      for (let end = output.stdout.indexOf('\n', seen); end >= 0; end = output.stdout.indexOf('\n', seen)) {
        const line = output.stdout.slice(seen, end);
        seen = end + 1;
        if (!line.includes(`"${o.readyMsg}"`)) continue;
        proc.stdout!.off('data', look);
        ok(JSON.parse(line) as Record<string, unknown>);
        return;
      }
    };
    proc.stdout!.on('data', look);
    void closed.then(({ code, signal }) =>
      fail(new Error(`${o.cwd}: exited (code ${code}, signal ${signal}) before "${o.readyMsg}":\n${output.stderr}`)),
    );
  });
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  return {
    proc,
    output,
    ready,
    async stop() {
      if (!gone()) proc.kill('SIGTERM');
      return (await closed).code;
    },
    async kill() {
      if (!gone()) proc.kill('SIGKILL');
      await closed;
    },
  };
}
