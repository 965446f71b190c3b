import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ACTIVITY_KINDS } from '../../src/bpel/model';
import { parseProcess } from '../../src/bpel/parser';
import { validateProcess, type OperationInfo } from '../../src/bpel/validate';
import { allActivities } from '../../src/bpel/walk';
import { projectRoot } from '../../src/project-root';
import { checkPlan } from '../../scripts/cli/plan-files';
import { bpel, parseError } from './fixtures';

const doc = fs.readFileSync(path.join(projectRoot(), 'docs', 'bpel.md'), 'utf8');
const SW = 'urn:provisor:software:1';

describe('docs/bpel.md', () => {
  it('has an example that parses and validates', () => {
    const example = /## Example[\s\S]*?```xml\n([\s\S]*?)```/.exec(doc)?.[1];
    if (!example) expect.fail('no xml example under "## Example"');
    const process = parseProcess(example, 'example.bpel');
    const operations = new Map<string, OperationInfo>([
      ['Install', { input: { ns: SW, local: 'InstallRequest' }, output: { ns: SW, local: 'InstallResponse' }, faults: [] }],
    ]);
    const diagnostics = validateProcess(process, {
      portTypeOf: (link, role) =>
        link.partnerLinkType.local === 'softwareLT' && role === 'partner' ? { portType: { ns: SW, local: 'SoftwarePortType' }, operations } : undefined,
    });
    expect(diagnostics).to.deep.equal([]);
    const paths = allActivities(process).map((a) => a.path);
    for (const documented of doc.slice(doc.indexOf('Its activity paths')).match(/`(\/process[^`]*)`/g) ?? []) {
      expect(paths).to.include(documented.slice(1, -1));
    }
  });

  it('ships the example as docs/examples/install-web-server.bpel, the same text, valid with the partners.wsdl next to it', () => {
    const example = /## Example[\s\S]*?```xml\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const file = path.join(projectRoot(), 'docs', 'examples', 'install-web-server.bpel');
    expect(fs.readFileSync(file, 'utf8').replace(/^<\?xml[^>]*>\n/, '')).to.equal(example);
    const checked = checkPlan(file, new Map());
    expect(checked.diagnostics).to.deep.equal([]);
    expect([...checked.documents.keys()]).to.deep.equal(['partners.wsdl']);
    expect(checked.documents.get('partners.wsdl')).to.equal(fs.readFileSync(path.join(projectRoot(), 'docs', 'examples', 'partners.wsdl'), 'utf8'));
    expect(checked.catalog.partnerLinkTypes.has('{urn:example:partners}softwareLT')).to.equal(true);
  });

  it('documents every supported activity', () => {
    for (const kind of ACTIVITY_KINDS) expect(doc).to.include(`\`${kind}\``);
  });

  it('refuses every activity it lists as refused', () => {
    for (const kind of ['validate', 'extensionActivity']) {
      expect(doc).to.include(`\`${kind}\``);
      const error = parseError(bpel(`<${kind}/>`));
      expect(error.diagnostics[0]?.message).to.equal(`<${kind}> is not supported by Provisor (line 2); see docs/bpel.md`);
    }
  });
});
