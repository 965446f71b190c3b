import { expect } from 'chai';
import { highestSatisfying, parseVersionRange, satisfies, VersionRangeError } from '../src/packaging/versions';

describe('version ranges', () => {
  const cases: [string, string[], string[]][] = [
    ['*', ['0.0.1', '9.9.9'], ['1.0.0-rc.1']],
    ['', ['1.0.0'], []],
    ['1.2.3', ['1.2.3'], ['1.2.4', '1.2.30']],
    ['1.2', ['1.2.0', '1.2.9', '1.2.10'], ['1.3.0', '1.1.9', '1.2.0-rc.1']],
    ['1.2.x', ['1.2.7'], ['1.3.0']],
    ['1', ['1.0.0', '1.99.0'], ['2.0.0', '0.9.0']],
    ['>=1.2 <2', ['1.2.0', '1.9.9'], ['1.1.9', '2.0.0', '2.0.0-rc.1']],
    ['^1.2.3', ['1.2.3', '1.9.0'], ['1.2.2', '2.0.0']],
    ['^0.2.3', ['0.2.3', '0.2.9'], ['0.3.0']],
    ['~1.2.3', ['1.2.3', '1.2.9'], ['1.3.0']],
    ['<1.0.0 || >=3', ['0.5.0', '3.1.0'], ['1.0.0', '2.5.0']],
    ['>=2.0.0-rc.1', ['2.0.0-rc.2', '2.0.0', '2.1.0'], ['2.0.0-beta', '2.1.0-rc.1']],
    ['>1.0.0', ['1.0.1'], ['1.0.0']],
    ['<=1.0.0', ['1.0.0', '0.1.0'], ['1.0.1']],
  ];
  for (const [range, inside, outside] of cases) {
    it(`"${range}" holds ${inside.join(', ')} and not ${outside.join(', ') || 'nothing'}`, () => {
      for (const v of inside) expect(satisfies(v, range), `${v} in ${range}`).to.equal(true);
      for (const v of outside) expect(satisfies(v, range), `${v} in ${range}`).to.equal(false);
    });
  }

  it('picks the highest satisfying version, numerically', () => {
    expect(highestSatisfying(['1.9.0', '1.10.0', '2.0.0'], '^1.0')).to.equal('1.10.0');
    expect(highestSatisfying(['1.0.0'], '>=2')).to.equal(undefined);
  });

  it('refuses malformed ranges, naming the part', () => {
    for (const bad of ['>=', '1.0 ||', 'abc!', '>=1.x.2', '1.0 || || 2', 'x'.repeat(300)]) {
      expect(() => parseVersionRange(bad), bad).to.throw(VersionRangeError);
    }
    expect(() => parseVersionRange('>=1.0 and-so-on!')).to.throw(/"and-so-on!"/);
  });

  it('normalises the text', () => {
    expect(parseVersionRange(' >=1.0   <2 ||  3 ').text).to.equal('>=1.0 <2 || 3');
    expect(parseVersionRange('').text).to.equal('*');
  });
});
