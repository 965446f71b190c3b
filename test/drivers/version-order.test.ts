import { expect } from 'chai';
import { compareVersions, sortVersionsDescending } from '../../src/packaging/versions';

describe('version order', () => {
  const ordered: [string, string][] = [
    ['1.9.0', '1.10.0'],
    ['1.0.0', '1.0.1'],
    ['1.0', '1.0.1'],
    ['1.0.0-rc.1', '1.0.0'],
    ['1.0.0-alpha', '1.0.0-beta'],
    ['1.0.0-rc.2', '1.0.0-rc.10'],
    ['2.0.0', '10.0.0'],
  ];
  for (const [lower, higher] of ordered) {
    it(`puts ${lower} before ${higher}`, () => {
      expect(compareVersions(lower, higher)).to.be.below(0);
      expect(compareVersions(higher, lower)).to.be.above(0);
    });
  }

  it('treats 1.0 and 1.0.0 (and build metadata) as equal', () => {
    expect(compareVersions('1.0', '1.0.0')).to.equal(0);
    expect(compareVersions('1.0.0+build.5', '1.0.0')).to.equal(0);
  });

  it('sorts highest first', () => {
    expect(sortVersionsDescending(['1.2.0', '1.10.0', '1.9.9', '1.10.0-rc.1'])).to.deep.equal(['1.10.0', '1.10.0-rc.1', '1.9.9', '1.2.0']);
  });
});
