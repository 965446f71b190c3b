import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ProgressModel, TableView } from '../scripts/cli/progress';
import { type CliResult, runCliInProcess } from './support/cli';
import { freshEnvironment } from './support/harness';

const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'scripts', 'provisor.js');
const partnersWsdl = path.join(root, 'scripts', 'demo', 'partners.wsdl');

/** A plan that installs `app` on `system`, then waits `wait`. */
function installPlan(name: string, system: string, wait: string, extra = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<bpel:process name="${name}" targetNamespace="urn:test"
    xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:sw="urn:provisor:software:1" xmlns:pl="urn:provisor:examples:partners">
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:provisor:examples:partners" location="partners.wsdl"/>
  <bpel:partnerLinks>
    <bpel:partnerLink name="software" partnerLinkType="pl:Software" partnerRole="provider"/>
  </bpel:partnerLinks>
  <bpel:variables>
    <bpel:variable name="request" messageType="sw:InstallRequest"/>
    <bpel:variable name="response" messageType="sw:InstallResponse"/>
  </bpel:variables>
  <bpel:sequence name="main">
    <bpel:assign name="prepare">
      <bpel:copy>
        <bpel:from><bpel:literal><sw:Install><sw:system>${system}</sw:system><sw:component>app</sw:component></sw:Install></bpel:literal></bpel:from>
        <bpel:to variable="request" part="parameters"/>
      </bpel:copy>
    </bpel:assign>
    <bpel:invoke name="installServer" partnerLink="software" operation="Install" inputVariable="request" outputVariable="response"/>${extra}
    <bpel:wait name="settle"><bpel:for>'${wait}'</bpel:for></bpel:wait>
  </bpel:sequence>
</bpel:process>
`;
}

function lineOf(text: string, needle: string): number {
  const index = text.indexOf(needle);
  expect(index, needle).to.be.greaterThan(-1);
  return text.slice(0, index).split('\n').length;
}

interface Result {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

describe('provisor plan and provisor demo', function () {
  this.timeout(180_000);
  let environment: Awaited<ReturnType<typeof freshEnvironment>>;
  let dir: string;
  const children = new Set<ChildProcess>();
  let demoRan = false;

  /** Runs the CLI; `onOutput` sees standard output as it comes (and the child, to signal it). */
  function run(args: string[], onOutput?: (soFar: string, child: ChildProcess) => void, timeoutMs = 150_000): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...environment.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`provisor ${args.join(' ')} did not end within ${timeoutMs} ms; output so far:\n${out}\n${err}`));
      }, timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        onOutput?.(out, child);
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        children.delete(child);
        resolve({ code, out, err });
      });
    });
  }

  /** Runs a command that starts nothing in this process (runCli, as the real command does after its launcher). */
  const inProcess = (args: string[]): Promise<CliResult> => runCliInProcess(args, environment.env);

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  before(async () => {
    environment = await freshEnvironment();
    dir = path.join(environment.dataDir, 'plans');
    fs.mkdirSync(dir);
    const added = await inProcess(['system', 'add', 's1', '--driver', 'simulated']);
    expect(added.code, added.err).to.equal(0);
  });

  after(async () => {
    if (demoRan) await run(['demo', '--stop'], undefined, 60_000).catch(() => undefined);
    // Whatever is still up after a failed test: the demo servers (by their pid files), then our own children.
    for (const system of ['demo-web1', 'demo-web2']) {
      const pidFile = path.join(environment.dataDir, 'systems', system, 'var', 'run', 'demo-httpd.pid');
      const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]) : NaN;
      if (Number.isSafeInteger(pid) && pid > 1) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    for (const child of children) child.kill('SIGKILL');
    await environment.cleanup();
  });

  describe('plan validate', () => {
    it('summarises a valid plan and exits 0', async () => {
      const file = write('valid.bpel', installPlan('CliValid', 's1', 'PT0.1S'));
      const r = await inProcess(['plan', 'validate', file, '--document', partnersWsdl]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out.trim()).to.equal(`${file}: process CliValid is valid: 4 activities, 1 partner link (software)`);
    });

    it('names an unsupported element with its line, and exits 2', async () => {
      const text = installPlan('CliValidate', 's1', 'PT0.1S', '\n    <bpel:validate name="check" variables="x"/>');
      const file = write('validate.bpel', text);
      const r = await inProcess(['plan', 'validate', file, '--document', `partners.wsdl=${partnersWsdl}`]);
      expect(r.code).to.equal(2);
      expect(r.out).to.contain(`${file}:${lineOf(text, '<bpel:validate')}: <validate> is not supported by Provisor`);
    });

    it('names an unknown operation with the activity path and line, and exits 2', async () => {
      const text = installPlan('CliTypo', 's1', 'PT0.1S').replace('operation="Install"', 'operation="Instal"');
      const file = write('typo.bpel', text);
      const r = await inProcess(['plan', 'validate', file, '--document', partnersWsdl]);
      expect(r.code).to.equal(2);
      expect(r.out.trim().split('\n')).to.deep.equal([`${file}:${lineOf(text, 'operation="Instal"')}: activity /process/sequence/invoke "installServer": partner link "software" has no operation "Instal"`]);
      expect(r.err).to.contain('1 problem');
    });

    it('says which import is missing and how to give it', async () => {
      const text = installPlan('CliNoImport', 's1', 'PT0.1S');
      const file = write('no-import.bpel', text);
      const r = await inProcess(['plan', 'validate', file]);
      expect(r.code).to.equal(2);
      expect(r.out).to.contain(`${file}:${lineOf(text, 'location="partners.wsdl"')}: import partners.wsdl`);
      expect(r.out).to.contain('--document partners.wsdl=PATH');
    });

    it('resolves an import from the file next to the plan, without --document, and deploys it with the plan', async () => {
      const folder = path.join(dir, 'with-partners');
      fs.mkdirSync(folder);
      fs.copyFileSync(partnersWsdl, path.join(folder, 'partners.wsdl'));
      const file = path.join(folder, 'neighbour.bpel');
      fs.writeFileSync(file, installPlan('CliNeighbour', 's1', 'PT0.1S'));
      const r = await inProcess(['plan', 'validate', file]);
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out.trim()).to.equal(`${file}: process CliNeighbour is valid: 4 activities, 1 partner link (software)`);
      const deployed = await inProcess(['plan', 'deploy', file]);
      expect(deployed.code, deployed.out + deployed.err).to.equal(0);
      expect(deployed.out).to.include('deployed CliNeighbour version 1');
    });

    it('validates and deploys the example of docs/bpel.md as shipped in docs/examples', async () => {
      const file = path.join(root, 'docs', 'examples', 'install-web-server.bpel');
      const r = await inProcess(['plan', 'validate', file]);
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out).to.match(/process InstallWebServer is valid: \d+ activities, 1 partner link \(software\)/);
      const deployed = await inProcess(['plan', 'deploy', file]);
      expect(deployed.code, deployed.out + deployed.err).to.equal(0);
      expect(deployed.out).to.include('deployed InstallWebServer version 1');
    });

    it('refuses a file that does not exist', async () => {
      const r = await inProcess(['plan', 'validate', path.join(dir, 'nowhere.bpel')]);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/cannot read plan .*nowhere\.bpel: no such file/);
    });
  });

  describe('plan deploy and plan run on a simulated system', () => {
    const stamp = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
    let completedId = '';

    it('deploys a plan as the next version of its process', async () => {
      const file = write('simple.bpel', installPlan('CliSimple', 's1', 'PT0.3S'));
      const r = await inProcess(['plan', 'deploy', file, '--document', partnersWsdl]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out.trim()).to.equal('deployed CliSimple version 1');
    });

    it('runs it, printing one line per activity transition, and exits 0 when it completes', async () => {
      const r = await run(['plan', 'run', path.join(dir, 'simple.bpel'), '--document', partnersWsdl]);
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out).to.contain('deployed CliSimple version 2');
      const running = new RegExp(`^${stamp} RUNNING /process/sequence/invoke "installServer"$`, 'm').exec(r.out);
      const completed = new RegExp(`^${stamp} COMPLETED /process/sequence/invoke "installServer" \\d+\\.\\ds$`, 'm').exec(r.out);
      expect(running, r.out).to.not.equal(null);
      expect(completed, r.out).to.not.equal(null);
      expect(running?.index).to.be.lessThan(completed?.index ?? 0);
      const wait = new RegExp(`^${stamp} COMPLETED /process/sequence/wait "settle" (\\d+\\.\\d)s$`, 'm').exec(r.out);
      expect(Number(wait?.[1])).to.be.at.least(0.3);
      const end = /^instance (\S+) COMPLETED in \d+\.\ds \(CliSimple v2, 5 activities run\)$/m.exec(r.out);
      expect(end, r.out).to.not.equal(null);
      completedId = end?.[1] ?? '';
    });

    it('lists the instance and shows its activities', async () => {
      const list = await inProcess(['plan', 'list', '--process', 'CliSimple', '--status', 'COMPLETED']);
      expect(list.code, list.err).to.equal(0);
      expect(list.out).to.match(new RegExp(`^${completedId}\\s+CliSimple\\s+2\\s+COMPLETED\\s`, 'm'));
      const status = await inProcess(['plan', 'status', completedId]);
      expect(status.code, status.err).to.equal(0);
      expect(status.out).to.match(/^\s+COMPLETED\s+\d+\.\ds\s+\/process\/sequence\/wait "settle"$/m);
      const unknown = await inProcess(['plan', 'status', 'no-such-instance']);
      expect(unknown.code).to.equal(2);
      expect(unknown.err).to.contain('no process instance has id "no-such-instance"');
    });

    it('runs the deployed process by name', async () => {
      const r = await run(['plan', 'run', '--process', 'CliSimple']);
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out).to.match(/^instance \S+ COMPLETED in .*\(CliSimple v2,/m);
    });

    it('exits 1 when the plan faults, naming the activity where it did', async () => {
      const file = write('faulting.bpel', installPlan('CliFaulting', 'nowhere', 'PT0.1S'));
      const r = await run(['plan', 'run', file, '--document', partnersWsdl]);
      expect(r.code, r.out + r.err).to.equal(1);
      expect(r.out).to.match(new RegExp(`^${stamp} FAULTED /process/sequence/invoke "installServer" \\d+\\.\\ds: .*system "nowhere" is not registered`, 'm'));
      expect(r.out).to.match(/^instance \S+ FAULTED after /m);
      expect(r.out).to.contain('  at /process/sequence/invoke "installServer"');
      expect(r.err).to.match(/ended FAULTED at \/process\/sequence\/invoke: /);
    });

    it('cancels the instance on Ctrl-C and exits 130', async () => {
      const file = write('slow.bpel', installPlan('CliSlow', 's1', 'PT60S'));
      let interrupted = false;
      const r = await run(['plan', 'run', file, '--document', partnersWsdl], (soFar, child) => {
        if (!interrupted && soFar.includes('RUNNING /process/sequence/wait "settle"')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      expect(interrupted, r.out).to.equal(true);
      expect(r.code, r.out + r.err).to.equal(130);
      expect(r.out).to.match(new RegExp(`^${stamp} TERMINATED /process/sequence/wait "settle"`, 'm'));
      const id = /^instance (\S+) TERMINATED after/m.exec(r.out)?.[1];
      expect(id, r.out).to.not.equal(undefined);
      const list = await inProcess(['plan', 'list', '--status', 'TERMINATED']);
      expect(list.out).to.contain(id);
    });
  });

  describe('on a terminal', () => {
    it('redraws a table in place, indented by depth, folding iterations, at most ten times a second', async () => {
      const frames: string[] = [];
      let tick: (() => void) | undefined;
      const table = new TableView({ columns: 80, rows: 20, write: (text: string) => frames.push(text), hasColors: () => true }, 'CliLoop v1', 'instance-1', Date.now, (ms, fn) => {
        expect(ms).to.equal(100);
        tick = fn;
        return () => (tick = undefined);
      });
      const model = new ProgressModel(table);
      const at = new Date();
      const event = (key: string, kind: string, state: 'RUNNING' | 'COMPLETED' | 'FAULTED', name?: string, fault?: string): void =>
        model.event({ instanceId: 'instance-1', key, kind, name, state, at, fault });
      event('/process', 'scope', 'RUNNING', 'CliLoop');
      event('/process/while', 'while', 'RUNNING');
      for (let i = 1; i <= 25; i++) {
        event(`/process/while#${i}/invoke`, 'invoke', 'RUNNING', 'poll');
        event(`/process/while#${i}/invoke`, 'invoke', 'COMPLETED', 'poll');
      }
      event('/process/while', 'while', 'FAULTED', undefined, '{urn:test}broken: no');
      // 350 ms: three frames of the timer, then the close.
      for (let i = 0; i < 3; i++) tick?.();
      table.close();
      expect(tick, 'the timer is stopped on close').to.equal(undefined);
      const output = frames.join('');
      const redraws = output.split('\x1b[J').length - 1;
      // At most one frame per tick, and the last one on close; never one per event.
      expect(redraws).to.be.within(2, 6);
      expect(output).to.match(/\x1b\[\d+F/);
      const last = (output.split('\x1b[J').at(-2) ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      expect(last).to.match(/^CliLoop v1 · /m);
      expect(last).to.match(/^\S process "CliLoop" +RUNNING /m);
      expect(last).to.match(/^✖ {3}while +FAULTED /m);
      expect(last).to.match(/^✔ {5}invoke "poll" ×25 +COMPLETED /m);
      expect(output).to.contain('\x1b[31m✖');
      expect(output.endsWith('\x1b[?25h')).to.equal(true);
    });
  });

  describe('provisor demo', () => {
    async function sitesAnswer(out: string): Promise<string[]> {
      const urls = [...new Set([...out.matchAll(/http:\/\/127\.0\.0\.1:\d+\//g)].map((m) => m[0]))];
      expect(urls, out).to.have.length(2);
      for (const [i, url] of urls.entries()) {
        const page = await fetch(url);
        expect(page.status, url).to.equal(200);
        expect(await page.text(), url).to.contain(`Provisor demo site ${i + 1}`);
      }
      return urls;
    }

    let urls: string[] = [];

    it('registers what it needs, runs the two-website plan and prints two URLs that answer', async () => {
      demoRan = true;
      const r = await run(['demo']);
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out).to.contain('registered the demo package repository');
      expect(r.out).to.contain('registered the local system demo-web1');
      expect(r.out).to.match(/COMPLETED \/process\/sequence\/flow\/scope\[2\]\/sequence\/scope\[5\]\/sequence\/invoke "site2_startServer_invoke"/);
      expect(r.out).to.contain('provisor demo --stop');
      urls = await sitesAnswer(r.out);
    });

    it('runs again while the first run\'s servers are still up', async () => {
      const r = await run(['demo']);
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out).to.not.contain('registered the');
      expect(r.out).to.contain('stopping the demo-httpd of the previous demo run');
      expect(r.out).to.match(/^instance \S+ COMPLETED in .*\(ProvisorDemo v2,/m);
      urls = await sitesAnswer(r.out);
    });

    it('demo --stop stops both servers: their ports refuse connections afterwards', async () => {
      expect(urls).to.have.length(2);
      const r = await run(['demo', '--stop']);
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out).to.match(/^demo-web1: stopped demo-httpd/m);
      expect(r.out).to.match(/^demo-web2: stopped demo-httpd/m);
      for (const url of urls) {
        const refused = await fetch(url).then(
          () => undefined,
          (err: unknown) => (err as { cause?: { code?: string } }).cause?.code,
        );
        expect(refused, url).to.equal('ECONNREFUSED');
      }
    });
  });
});
