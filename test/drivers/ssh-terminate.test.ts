/**
 * The ssh driver's stop script (TERMINATE in ssh-system.ts), run here with
 * the host's /bin/sh as the driver runs it on a host: a component whose
 * processes exited but were not reaped (their parent does not wait, as on a
 * host whose init does not) has stopped; it is not waited out and killed.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { TERMINATE } from '../../src/drivers/ssh/ssh-system';

function terminate(pid: number, tenths: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', TERMINATE, 'provisor', String(pid), String(tenths)], { encoding: 'utf8' }, (error, stdout) => (error === null ? resolve(stdout.trim()) : reject(error)));
  });
}

/** The process's state letter (Z for a zombie), or undefined when it is gone. */
function stateOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[0];
  } catch {
    return undefined;
  }
}

describe('the ssh driver stopping a component', function () {
  this.timeout(60_000);
  const parents: ChildProcess[] = [];
  after(() => {
    for (const parent of parents) parent.kill('SIGKILL');
  });

  /**
   * A component in a group of its own, whose parent never reaps it. `component`
   * prints `ready` once set up (a TERM before that would find it unprepared);
   * resolves with its pid then.
   */
  function unreaped(component: string): Promise<number> {
    const parent = spawn('/bin/sh', ['-c', `setsid /bin/sh -c '${component}' & echo "pid $!"; exec sleep 600`], { stdio: ['ignore', 'pipe', 'ignore'] });
    parents.push(parent);
    return new Promise((resolve) => {
      let seen = '';
      parent.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const pid = /^pid (\d+)$/m.exec(seen)?.[1];
        if (pid !== undefined && /^ready$/m.test(seen)) resolve(Number(pid));
      });
    });
  }

  it('takes a component that ended on TERM and is left a zombie as exited', async () => {
    const pid = await unreaped('echo ready; exec sleep 600');
    expect(stateOf(pid)).to.be.oneOf(['S', 'R']);
    // 600 tenths: were the zombie taken for running, this would end in "killed" after a minute.
    expect(await terminate(pid, 600)).to.equal('exited');
    expect(stateOf(pid)).to.be.oneOf(['Z', undefined]);
  });

  it('kills a component that ignores TERM once the timeout passes', async () => {
    const pid = await unreaped('trap "" TERM; echo ready; while :; do sleep 0.1; done');
    expect(await terminate(pid, 3)).to.equal('killed');
  });

  it('says exited for a component already gone', async () => {
    expect(await terminate(2 ** 22 + 12_345, 10)).to.equal('exited');
  });
});
