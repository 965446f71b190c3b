import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/data-source';
import { definitionDigest } from '../../src/workflow/definition-digest';
import { freePort, startServerProcess, waitForHealth } from '../support/processes';
import { freshEnvironment, startTestServer } from '../support/harness';
import { partnersWsdl, PARTNERS_WSDL_NAME } from '../../scripts/demo/two-websites';
import { plan } from '../workflow/support';

const partnerDocuments = new Map([[PARTNERS_WSDL_NAME, partnersWsdl()]]);

/** Resolves with the exit code once `child` exits. */
function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('nodes started together on a fresh database', function () {
  this.timeout(120_000);

  it('all start, migrate the schema once and deploy each catalog plan once', async () => {
    // On SQLite the three processes share the one database file.
    const environment = await freshEnvironment({ PROVISOR_CATALOG_LOAD: 'true', LOG_LEVEL: 'warn' });
    const nodes: Array<{ child: ChildProcess; baseUrl: string; stderr: string[]; exited: Promise<number | null> }> = [];
    try {
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const child = startServerProcess({ ...environment.env, PORT: String(port), HOST: '127.0.0.1' });
        const stderr: string[] = [];
        child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
        nodes.push({ child, baseUrl: `http://127.0.0.1:${port}`, stderr, exited: exitOf(child) });
      }
      for (const [i, node] of nodes.entries()) {
        const early = await Promise.race([waitForHealth(node.baseUrl, 90_000).then(() => undefined), node.exited.then((code) => ({ code }))]);
        expect(early, `node ${i + 1} exited while starting: ${node.stderr.join('')}`).to.equal(undefined);
      }
      const config = loadConfig(environment.env);
      const dataSource = await openDatabase(config);
      try {
        const catalog = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'scripts', 'catalog', 'storage.json'), 'utf8')) as { types: unknown[] };
        const versions = (await dataSource.query('SELECT name, COUNT(*) AS n, MAX(version) AS v FROM process_definition GROUP BY name')) as Array<{ name: string; n: unknown; v: unknown }>;
        expect(versions.length, 'one process per catalog type').to.equal(catalog.types.length);
        for (const row of versions) expect([row.name, Number(row.n), Number(row.v)]).to.deep.equal([row.name, 1, 1]);
        const types = (await dataSource.query('SELECT COUNT(*) AS n FROM work_order_type WHERE active = 1')) as Array<{ n: unknown }>;
        expect(Number(types[0]?.n)).to.equal(catalog.types.length);
      } finally {
        await dataSource.destroy();
      }
      for (const [i, node] of nodes.entries()) {
        const errors = node.stderr.join('').split('\n').filter((line) => line.includes('"level":"error"') || line.startsWith('provisor:'));
        expect(errors, `node ${i + 1} logged errors`).to.deep.equal([]);
      }
    } finally {
      for (const node of nodes) if (node.child.exitCode === null) node.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      await environment.cleanup();
    }
  });
});

describe('deploying one process from many callers at once', function () {
  this.timeout(60_000);
  let server: Awaited<ReturnType<typeof startTestServer>>;
  before(async () => {
    server = await startTestServer({ PROVISOR_ENGINE: 'false', PROVISOR_WORKFLOW: 'false', PROVISOR_WORKORDER_AUTOMATION: 'false' });
  });
  after(() => server.close());

  it('gives each of ten concurrent deploys of new content its own version, none refused', async () => {
    const bpel = (i: number): string => plan('Concurrent', `<bpel:sequence><bpel:empty name="e${i}"/></bpel:sequence>`);
    const deployed = await Promise.all(Array.from({ length: 10 }, (_, i) => server.app.workflow.deploy({ bpel: bpel(i), documents: partnerDocuments, bindings: [], deployedBy: 'tester' })));
    expect(deployed.map((d) => d.version).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('stores content deployed by ten callers at once with reuseSameContent once, and gives all of them its version', async () => {
    const bpel = plan('SameContent', '<bpel:sequence><bpel:empty name="only"/></bpel:sequence>');
    const deployed = await Promise.all(Array.from({ length: 10 }, () => server.app.workflow.deploy({ bpel, documents: partnerDocuments, bindings: [], deployedBy: 'catalog', reuseSameContent: true })));
    expect(new Set(deployed.map((d) => d.version))).to.deep.equal(new Set([1]));
    const rows = (await server.dataSource.query("SELECT version, digest FROM process_definition WHERE name = 'SameContent'")) as Array<{ version: unknown; digest: string }>;
    expect(rows.map((r) => [Number(r.version), r.digest])).to.deep.equal([[1, definitionDigest(bpel, partnerDocuments)]]);
  });

  it('deploys a new version with reuseSameContent when the content differs from the latest', async () => {
    const first = await server.app.workflow.deploy({ bpel: plan('Changing', '<bpel:sequence><bpel:empty name="a"/></bpel:sequence>'), documents: partnerDocuments, bindings: [], deployedBy: 'catalog', reuseSameContent: true });
    const second = await server.app.workflow.deploy({ bpel: plan('Changing', '<bpel:sequence><bpel:empty name="b"/></bpel:sequence>'), documents: partnerDocuments, bindings: [], deployedBy: 'catalog', reuseSameContent: true });
    expect([first.version, second.version]).to.deep.equal([1, 2]);
  });

  it('still deploys identical content again as a new version when reuse is not asked for (DeployProcess)', async () => {
    const bpel = plan('Redeployed', '<bpel:sequence><bpel:empty name="a"/></bpel:sequence>');
    const first = await server.app.workflow.deploy({ bpel, documents: partnerDocuments, bindings: [], deployedBy: 'tester' });
    const second = await server.app.workflow.deploy({ bpel, documents: partnerDocuments, bindings: [], deployedBy: 'tester' });
    expect([first.version, second.version]).to.deep.equal([1, 2]);
  });
});
