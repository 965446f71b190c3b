import { expect } from 'chai';
import { BpelFault } from '../../src/bpel/values';
import { describeStoredFault, deserializeFault, faultPathOf, readStoredFault, serializeFault, withPath } from '../../src/workflow/fault-codec';

describe('the stored form of a BPEL fault', () => {
  const name = { ns: 'urn:provisor:examples', local: 'quotaExceeded' };

  it('reads back the name, message, activity path and fault data it wrote', () => {
    const fault = withPath(new BpelFault(name, 'volume v1: 500 GiB over quota', { kind: 'simple', value: 500 }), '/process/sequence/throw');
    const back = deserializeFault(serializeFault(fault));
    expect(back).to.be.instanceOf(BpelFault);
    expect(back.faultName).to.deep.equal(name);
    expect(back.message).to.equal('volume v1: 500 GiB over quota');
    expect(faultPathOf(back)).to.equal('/process/sequence/throw');
    expect(back.data).to.deep.equal({ kind: 'simple', value: 500 });
  });

  it('keeps a fault without path or data without them', () => {
    const back = deserializeFault(serializeFault(new BpelFault(name, 'plain')));
    expect(faultPathOf(back)).to.equal(undefined);
    expect(back.data).to.equal(undefined);
  });

  it('keeps the innermost activity path: a path recorded later does not replace the first', () => {
    const fault = withPath(withPath(new BpelFault(name, 'x'), '/process/scope/invoke'), '/process/scope');
    expect(faultPathOf(fault)).to.equal('/process/scope/invoke');
  });

  it('describes a stored fault as {ns}local: message, and shows text that is not one as it is', () => {
    const text = serializeFault(new BpelFault(name, 'over quota'));
    expect(readStoredFault(text)).to.include({ ns: name.ns, local: name.local, message: 'over quota' });
    expect(describeStoredFault(text)).to.equal('{urn:provisor:examples}quotaExceeded: over quota');
    expect(describeStoredFault('driver crashed')).to.equal('driver crashed');
  });
});
