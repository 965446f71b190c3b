import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.join(__dirname, '..', '..');

interface CatalogParameter {
  readonly name: string;
  readonly label?: string;
}
interface CatalogType {
  readonly name: string;
  readonly title: string;
  readonly minLevel: number;
  readonly parameters: readonly CatalogParameter[];
}

const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'catalog', 'storage.json'), 'utf8')) as { types: CatalogType[] };
const types = new Map(catalog.types.map((t) => [t.name, t]));
const doc = (name: string): string => fs.readFileSync(path.join(ROOT, 'docs', name), 'utf8');

/** The mails written out in a page: ```mail blocks and heredocs ending with MAIL. */
function mailsOf(text: string): string[] {
  return [...text.matchAll(/```mail\n([\s\S]*?)```/g), ...text.matchAll(/<<'MAIL'[^\n]*\n([\s\S]*?)\nMAIL\n/g)].map((m) => m[1] ?? '');
}

describe('the channel docs use the shipped catalog', () => {
  it('docs/email.md: every mail orders a catalog type with that type\'s parameters', () => {
    const mails = mailsOf(doc('email.md'));
    expect(mails).to.have.length.greaterThan(1);
    for (const mail of mails) {
      const [head = '', body = ''] = mail.split(/\n\n/, 2);
      const subject = /^Subject: (?:Work order: )?(\S+)$/im.exec(head)?.[1] ?? '';
      const type = types.get(subject);
      expect(type, `the subject "${subject}" is a type of scripts/catalog/storage.json`).to.not.equal(undefined);
      const names = [...(body.split(/\n-- ?\n/)[0] ?? '').matchAll(/^\s*(\w+)\s*:/gm)].map((m) => m[1]);
      expect(names).to.have.length.greaterThan(0);
      for (const name of names) expect(type?.parameters.map((p) => p.name), `parameter ${name} of ${subject}`).to.include(name);
    }
  });

  it('docs/email.md: the types named in replies, notifications and subjects are catalog types', () => {
    const text = doc('email.md');
    const named = [...text.matchAll(/Re: (\w+) —|Work order \d+ \((\w+)\)|`Work order: (\w+)`|\(`(\w+)`, `(\w+)`;/g)].flatMap((m) => m.slice(1).filter((x): x is string => x !== undefined));
    expect(named).to.have.length.greaterThan(2);
    for (const name of named) expect([...types.keys()], `type "${name}" in docs/email.md`).to.include(name);
  });

  it('docs/portal.md: the titles it quotes are the catalog\'s, at the levels it gives, and the field labels are labels of the catalog', () => {
    const text = doc('portal.md');
    // quoted titles and labels may be wrapped across lines
    const opening = text.slice(text.indexOf('## Opening it'), text.indexOf('| page | what it does |')).replace(/\s+/g, ' ');
    const quoted = [...opening.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '');
    const titles = new Map(catalog.types.map((t) => [t.title, t]));
    const labels = new Set(catalog.types.flatMap((t) => t.parameters.map((p) => p.label)));
    const quotedTitles = quoted.filter((q) => titles.has(q));
    expect(new Set(quotedTitles)).to.deep.equal(new Set(titles.keys()));
    const quotedLabels = quoted.filter((q) => !titles.has(q) && q !== 'A first work order');
    expect(quotedLabels).to.have.length.greaterThan(1);
    for (const label of quotedLabels) expect(labels, `label "${label}"`).to.include(label);
    // the levels said after each group of titles
    for (const [group, level] of [[/"Create a volume"[^(]*\(level 1\)/, 1], [/"Expand a volume"[^(]*\(level 2\)/, 2], [/"Delete a volume" and "Delete a snapshot" need level 3/, 3]] as const) {
      const match = group.exec(opening)?.[0] ?? '';
      expect(match, String(group)).to.not.equal('');
      for (const title of [...match.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '')) expect(titles.get(title)?.minLevel, title).to.equal(level);
    }
  });

  it('no page of docs/ names a type that only the tests\' catalog has', () => {
    const testTypes = (JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'catalog', 'test-catalog.json'), 'utf8')) as { types: CatalogType[] }).types.map((t) => t.name);
    for (const file of fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))) {
      for (const name of testTypes.filter((n) => !types.has(n))) expect(doc(file), `${file} names the test type ${name}`).to.not.match(new RegExp(`\`${name}\`|Subject: (Work order: )?${name}\\b|\\(${name}\\)`));
    }
  });
});
